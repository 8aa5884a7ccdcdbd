"""Self-hosting for one store since 2026: a Dev Dashboard app installed on the developer's own
store gets its tokens by the client credentials grant (about 24 h, no refresh token);
`shops add STORE` without --token obtains them and Tessera renews them before they expire."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.devstore import DEMO_SHOP
from app.devstore.oauth import token_scopes
from app.services import shops
from app.shopify import admin_access
from app.shopify.documents import SHOP_INFO


def shops_add(app, *args):
    return app.test_cli_runner().invoke(args=["shops", "add", DEMO_SHOP, *args])


def stored_shop(t):
    with t.db.scope(read_only=True) as session:
        return shops.find_shop(session, DEMO_SHOP)


def shop_name_from_admin_api(t) -> str:
    with t.db.scope() as session:
        return admin_access.call_admin(t.shopify, session, shops.find_shop(session, DEMO_SHOP), SHOP_INFO)["shop"]["name"]


def test_shops_add_without_a_token_obtains_one_by_client_credentials(app, demo, t):
    demo.install_dev_dashboard_app()
    result = shops_add(app)
    assert result.exit_code == 0, result.output
    shop = stored_shop(t)
    assert (shop.token_source, shop.name) == ("client_credentials", "Demo Store")
    assert shop.access_token_expires_at == t.clock() + timedelta(seconds=86399)
    assert shop.refresh_token_ciphertext is None
    # Not deployed with the Shopify CLI: no shopify.app.toml subscriptions, so Tessera subscribes.
    assert {s["topic"] for s in demo.snapshot()["subscriptions"]} >= {"ORDERS_PAID", "APP_UNINSTALLED"}


def test_the_token_is_renewed_before_it_expires_and_the_old_one_dies(app, demo, t, clock):
    demo.install_dev_dashboard_app()
    shops_add(app, "--no-sync")
    first = t.cipher.decrypt(stored_shop(t).access_token_ciphertext)
    clock.advance(hours=23, minutes=57)
    assert shop_name_from_admin_api(t) == "Demo Store"
    renewed = stored_shop(t)
    assert t.cipher.decrypt(renewed.access_token_ciphertext) != first
    assert renewed.access_token_expires_at == clock.now + timedelta(seconds=86399)
    clock.advance(minutes=5)
    assert token_scopes(demo.snapshot(), first, clock.now) is None  # Shopify refuses the expired token


def test_an_app_that_is_not_a_dev_dashboard_app_of_the_store_is_refused_and_nothing_saved(app, demo, t):
    result = shops_add(app)
    assert result.exit_code != 0
    assert "client credentials grant is only available" in result.output and "Nothing was saved" in result.output
    assert stored_shop(t) is None


def test_a_rate_limited_grant_is_retried(app, demo, t):
    demo.install_dev_dashboard_app()
    demo.limit_token_requests(2)
    result = shops_add(app, "--no-sync")
    assert result.exit_code == 0, result.output
    assert stored_shop(t).token_source == "client_credentials"


def test_legacy_custom_app_tokens_still_work_with_token(app, demo, t):
    result = shops_add(app, "--token", "shpat_legacy", "--no-sync")
    assert result.exit_code == 0, result.output
    assert stored_shop(t).token_source == "custom_app"


def test_a_refused_renewal_flags_the_shop_and_a_later_grant_brings_it_back(app, demo, t, clock):
    demo.install_dev_dashboard_app()
    shops_add(app, "--no-sync")
    with demo.stand_in.state.shop(DEMO_SHOP) as state:
        state["client_credentials_app"] = False  # e.g. the app was moved to another organization
    clock.advance(hours=23, minutes=57)
    with pytest.raises(admin_access.ShopNeedsReauth) as raised:
        shop_name_from_admin_api(t)
    assert f"shops add {DEMO_SHOP}" in str(raised.value)  # the advice fits how this shop gets tokens
    flagged = stored_shop(t)
    assert flagged.reauth_required_at is not None and "only available" in flagged.reauth_reason
    demo.install_dev_dashboard_app()
    assert shops_add(app, "--no-sync").exit_code == 0
    assert stored_shop(t).reauth_required_at is None
    demo.run_jobs()  # resume_after_reconnect, then finish_install
    assert shop_name_from_admin_api(t) == "Demo Store"
