"""Authorization-code install: /auth/install and /auth/callback."""
import json
import time
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from sqlalchemy import select

from app.models import Member, Shop
from tests.support import API_KEY, SECRET, SHOP, payload, send_webhook, signed_oauth_query

TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"


def start_install(client) -> str:
    response = client.get(f"/auth/install?shop={SHOP}")
    assert response.status_code == 302
    return parse_qs(urlparse(response.headers["Location"]).query)["state"][0]


def callback_query(state: str, **overrides) -> str:
    params = {"code": "0907a61c0c8d55e99db179b68161bc00", "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvbWFwbGU",
              "shop": SHOP, "state": state, "timestamp": str(int(time.time()))}
    params.update(overrides)
    return signed_oauth_query(params)


def stored_shop(t) -> Shop | None:
    with t.db.scope(read_only=True) as session:
        return session.scalar(select(Shop).where(Shop.domain == SHOP))


def test_install_redirects_to_shopify_authorize_with_state(client, t):
    response = client.get(f"/auth/install?shop={SHOP}")
    assert response.status_code == 302
    location = urlparse(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", SHOP, "/admin/oauth/authorize")
    query = parse_qs(location.query)
    assert query["client_id"] == [API_KEY]
    assert query["redirect_uri"] == ["https://tessera.example.com/auth/callback"]
    assert "write_discounts" in query["scope"][0] and "read_orders" in query["scope"][0]
    assert len(query["state"][0]) >= 24
    assert "grant_options[]" not in query  # offline token, not per-user
    assert "tessera_oauth_state" in response.headers["Set-Cookie"]


def test_install_refuses_a_domain_that_is_not_myshopify(client):
    response = client.get("/auth/install?shop=evil.example.com")
    assert response.status_code == 400
    assert ".myshopify.com" in response.json["error"]["message"]


def test_install_refuses_a_forged_hmac(client):
    query = signed_oauth_query({"shop": SHOP, "timestamp": str(int(time.time()))}, secret="not-the-secret")
    response = client.get(f"/auth/install?{query}")
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_hmac"


@responses.activate
def test_callback_stores_the_expiring_token_encrypted_and_enters_the_admin(client, t):
    responses.post(TOKEN_URL, json={"access_token": "shpat_live_123", "scope": "read_orders,write_discounts",
                                    "expires_in": 3600, "refresh_token": "shprt_abc",
                                    "refresh_token_expires_in": 7776000})
    state = start_install(client)
    response = client.get(f"/auth/callback?{callback_query(state)}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"https://{SHOP}/admin/apps/{API_KEY}"
    sent = json.loads(responses.calls[0].request.body)
    assert (sent["client_id"], sent["client_secret"], sent["code"], sent["expiring"]) == (
        API_KEY, SECRET, "0907a61c0c8d55e99db179b68161bc00", "1")
    shop = stored_shop(t)
    assert shop.is_installed and shop.token_source == "oauth"
    assert "shpat_live_123" not in shop.access_token_ciphertext and "shprt_abc" not in shop.refresh_token_ciphertext
    assert t.cipher.decrypt(shop.access_token_ciphertext) == "shpat_live_123"
    assert t.cipher.decrypt(shop.refresh_token_ciphertext) == "shprt_abc"
    assert (shop.access_token_expires_at - t.clock()).total_seconds() == 3600
    assert t.queue.pending() == 1  # finish_install: shop details + webhook subscriptions


@pytest.mark.parametrize("tamper, status, code", [
    (lambda q: q.replace("code=0907", "code=0908"), 401, "invalid_hmac"),
    (lambda q: q + "x", 401, "invalid_hmac"),
])
def test_callback_with_a_bad_hmac_is_refused(client, t, tamper, status, code):
    state = start_install(client)
    response = client.get(f"/auth/callback?{tamper(callback_query(state))}")
    assert (response.status_code, response.json["error"]["code"]) == (status, code)
    assert stored_shop(t) is None


def test_callback_with_someone_elses_state_is_refused(client, t):
    start_install(client)
    response = client.get(f"/auth/callback?{callback_query('forged-state-value-1234567890')}")
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_state"
    assert "start the install again" in response.json["error"]["message"]
    assert stored_shop(t) is None


def test_callback_without_the_state_cookie_is_refused(app, t):
    response = app.test_client().get(f"/auth/callback?{callback_query('any-state')}")
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_state"


def test_callback_with_a_stale_timestamp_is_refused(client, t):
    state = start_install(client)
    response = client.get(f"/auth/callback?{callback_query(state, timestamp=str(int(time.time()) - 3600))}")
    assert response.status_code == 400 and response.json["error"]["code"] == "stale_request"


def test_callback_for_a_non_myshopify_domain_is_refused(client, t):
    state = start_install(client)
    response = client.get(f"/auth/callback?{callback_query(state, shop='maple.example.com')}")
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_shop_domain"


@responses.activate
def test_refused_code_exchange_is_explained(client, t):
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_request", "error_description": "code used"})
    state = start_install(client)
    response = client.get(f"/auth/callback?{callback_query(state)}")
    assert response.status_code == 400 and "code used" in response.json["error"]["message"]
    assert stored_shop(t) is None


@responses.activate
def test_uninstall_drops_the_token_and_reinstall_restores_program_and_members(client, t, shop):
    send_webhook(client, "customers/create", payload("customers/create"))
    send_webhook(client, "app/uninstalled", payload("app/uninstalled"))
    t.queue.drain(t)
    gone = stored_shop(t)
    assert not gone.is_installed and gone.access_token_ciphertext is None
    responses.post(TOKEN_URL, json={"access_token": "shpat_again", "scope": "read_orders"})
    state = start_install(client)
    assert client.get(f"/auth/callback?{callback_query(state)}").status_code == 302
    back = stored_shop(t)
    assert back.is_installed and back.id == shop.id
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(Member).where(Member.shop_id == shop.id)) is not None
