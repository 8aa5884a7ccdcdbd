"""shopify.app.toml is a real Shopify CLI config and agrees with what the code handles."""
import tomllib

from config import DEFAULT_API_VERSION, DEFAULT_SCOPES
from tests.support import PROJECT_ROOT
from webhooks.topics import COMPLIANCE_TOPICS, HANDLERS

TOML = tomllib.loads((PROJECT_ROOT / "shopify.app.toml").read_text())


def test_toml_subscribes_exactly_the_topics_the_code_handles():
    subscribed, compliance = set(), set()
    for subscription in TOML["webhooks"]["subscriptions"]:
        assert subscription["uri"] == "/webhooks"
        subscribed |= set(subscription.get("topics", []))
        compliance |= set(subscription.get("compliance_topics", []))
    assert subscribed == set(HANDLERS) - COMPLIANCE_TOPICS
    assert compliance == set(COMPLIANCE_TOPICS) == {"customers/data_request", "customers/redact", "shop/redact"}
    # One version everywhere: the CLI subscribes webhooks in the version the app calls the API with.
    assert TOML["webhooks"]["api_version"] == DEFAULT_API_VERSION


def test_toml_declares_the_app_proxy_and_extension_folder():
    assert TOML["app_proxy"]["prefix"] == "apps" and TOML["app_proxy"]["subpath"] == "tessera"
    assert TOML["app_proxy"]["url"].endswith("/proxy")
    # The theme app extension, and the UI and Flow extensions under extensions/ (one folder each).
    assert TOML["extension_directories"] == ["theme_extension", "extensions/*"]
    assert TOML["embedded"] is True and len(TOML["name"]) <= 30


def test_toml_scopes_match_what_the_app_requests():
    scopes = set(TOML["access_scopes"]["scopes"].split(","))
    assert scopes == set(DEFAULT_SCOPES.split(","))
    assert {"read_orders", "read_customers", "write_discounts", "write_app_proxy"} <= scopes
    assert TOML["auth"]["redirect_urls"][0].endswith("/auth/callback")


def test_billing_is_off_unless_asked_for_and_charges_are_test_charges_by_default():
    import pytest

    from config import settings_from_env
    assert settings_from_env({})["BILLING"] is False
    on = settings_from_env({"BILLING": "on"})
    assert on["BILLING"] is True and on["BILLING_TEST"] is True
    assert settings_from_env({"BILLING": "on", "BILLING_TEST": "0"})["BILLING_TEST"] is False
    with pytest.raises(ValueError, match="BILLING must be 'on' or 'off'"):
        settings_from_env({"BILLING": "maybe"})
