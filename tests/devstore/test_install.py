"""Tessera installs on the demo shop through its real install path (OAuth redirect, signed
callback, code exchange) against the stand-in, and keeps its token fresh there."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from app import create_app
from app.devstore import DEMO_SHOP
from app.devstore.guard import DEMO_API_SECRET
from app.services.shops import find_shop
from app.shopify.admin_access import call_admin
from app.shopify.documents import SHOP_INFO
from app.shopify.oauth import OAuthError
from app.shopify.session_tokens import decode_session_token
from app.shopify.signatures import oauth_query_hmac_valid
from tests.conftest import TEST_KEY
from tests.support import API_KEY, SECRET

OPEN_APP = f"/devstore/shopify/{DEMO_SHOP}/admin/apps/{API_KEY}"


def test_install_goes_through_oauth_and_relies_on_the_toml_subscriptions(demo, t):
    landing = demo.install()
    with t.db.scope(read_only=True) as session:
        shop = find_shop(session, DEMO_SHOP)
    subscriptions = demo.snapshot()["subscriptions"]
    assert landing == f"{t.app_url}{OPEN_APP}"
    assert (shop.token_source, shop.name, shop.currency, shop.iana_timezone) == (
        "oauth", "Demo Store", "USD", "America/New_York")
    assert shop.access_token_expires_at == t.clock() + timedelta(hours=1) and shop.refresh_token_ciphertext
    # A CLI-deployed app gets shopify.app.toml's subscriptions; subscribing again by API would
    # double every delivery (WEBHOOK_REGISTRATION=auto subscribes only custom apps).
    assert subscriptions == []


def test_opening_the_app_installs_it_first_then_lands_in_the_admin_with_a_session_token(client, demo, t):
    before = client.get(OPEN_APP)
    demo.install()
    after = urlsplit(client.get(OPEN_APP).headers["Location"])
    claims = decode_session_token(dict(parse_qsl(after.query))["id_token"], api_key=API_KEY, secrets=[DEMO_API_SECRET])
    assert before.headers["Location"].startswith(f"{t.app_url}/auth/install?")
    assert oauth_query_hmac_valid(urlsplit(before.headers["Location"]).query, [DEMO_API_SECRET])
    assert (after.path, oauth_query_hmac_valid(after.query, [DEMO_API_SECRET])) == ("/", True)
    assert claims.shop_domain == DEMO_SHOP
    assert urlsplit(client.get(f"{OPEN_APP}/members/42").headers["Location"]).path == "/members/42"  # deep link


def test_the_session_token_endpoint_mints_tokens_tessera_accepts(client):
    response = client.get(f"/devstore/session-token?shop={DEMO_SHOP}")
    claims = decode_session_token(response.get_json()["token"], api_key=API_KEY, secrets=[DEMO_API_SECRET])
    assert (claims.shop_domain, response.headers["Cache-Control"]) == (DEMO_SHOP, "no-store")


def test_an_expiring_token_is_refreshed_and_the_old_refresh_token_dies(demo, t, installed, clock):
    old_refresh = t.cipher.decrypt(installed.refresh_token_ciphertext)
    clock.advance(minutes=57)
    with t.db.scope() as session:
        shop = find_shop(session, DEMO_SHOP)
        assert call_admin(t.shopify, session, shop, SHOP_INFO)["shop"]["name"] == "Demo Store"
        assert shop.access_token_expires_at == clock() + timedelta(hours=1)
    with pytest.raises(OAuthError) as refused:
        t.oauth_client().refresh(DEMO_SHOP, old_refresh, now=clock())
    assert refused.value.permanent


def test_a_session_token_is_exchanged_for_an_offline_token(client, t, demo):
    token = client.get(f"/devstore/session-token?shop={DEMO_SHOP}").get_json()["token"]
    grant = t.oauth_client().exchange_session_token(DEMO_SHOP, token, expiring=False, now=t.clock())
    assert grant.access_token.startswith("shpat_") and grant.expires_at is None
    with pytest.raises(OAuthError):
        t.oauth_client().exchange_session_token(DEMO_SHOP, token + "x", expiring=False, now=t.clock())


def test_the_demo_store_registers_nothing_without_devstore(app_settings):
    plain = create_app({**app_settings, "DEVSTORE": False, "SHOPIFY_API_SECRET": SECRET, "TOKEN_ENCRYPTION_KEY": TEST_KEY})
    assert plain.test_client().get("/devstore/session-token").status_code == 404
    assert "devstore" not in plain.cli.list_commands(None) and "devstore" not in plain.extensions
    plain.extensions["tessera"].db.engine.dispose()


def test_the_install_works_over_http_like_a_browser_would_do_it(served_demo):
    app, url = served_demo
    t = app.extensions["tessera"]
    browser = requests.Session()
    landing = browser.get(f"{url}/auth/install?shop={DEMO_SHOP}", timeout=10)
    t.queue.drain(t)  # finish_install, calling the stand-in over HTTP
    hops = [urlsplit(r.url).path for r in landing.history]
    with t.db.scope(read_only=True) as session:
        shop = find_shop(session, DEMO_SHOP)
    assert hops == ["/auth/install", f"/devstore/shopify/{DEMO_SHOP}/admin/oauth/authorize", "/auth/callback",
                    OPEN_APP]
    assert landing.status_code == 200 and "id_token=" in landing.url
    assert (shop.is_installed, shop.name) == (True, "Demo Store")
