"""Session tokens authenticate the embedded admin; a new shop is installed by token exchange."""
import json
import time

import pytest
import responses
from sqlalchemy import select

from app.models import Shop
from tests.support import SHOP, session_token

ADMIN_QUERY = f"shop={SHOP}&host=YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvbWFwbGU&embedded=1"


def test_valid_session_token_opens_the_admin_home_framed_only_by_the_shop(client, shop):
    response = client.get(f"/?{ADMIN_QUERY}&id_token={session_token()}")
    assert response.status_code == 200
    assert SHOP in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"] == (
        f"frame-ancestors https://{SHOP} https://admin.shopify.com;")


@pytest.mark.parametrize("token", [
    pytest.param(lambda: session_token(now=time.time() - 3600), id="expired"),
    pytest.param(lambda: session_token(api_key="someone-elses-app"), id="wrong-audience"),
    pytest.param(lambda: session_token(secret="shpss_wrong_secret_0123456789abcdefgh"), id="wrong-signature"),
    pytest.param(lambda: session_token(dest="https://other-shop.myshopify.com"), id="iss-dest-mismatch"),
    pytest.param(lambda: session_token(iss="https://evil.example.com/admin", dest="https://evil.example.com"),
                 id="not-myshopify"),
    pytest.param(lambda: session_token(nbf=int(time.time()) + 600), id="not-yet-valid"),
    pytest.param(lambda: "not-a-jwt", id="garbage"),
])
def test_bad_session_tokens_get_401_and_no_shop_data(client, shop, token):
    response = client.get(f"/?{ADMIN_QUERY}&id_token={token()}")
    assert response.status_code == 401
    assert SHOP not in response.get_data(as_text=True)


def test_no_token_at_all_is_401(client, shop):
    assert client.get(f"/?{ADMIN_QUERY}").status_code == 401


def test_small_clock_skew_is_tolerated(client, shop):
    assert client.get(f"/?{ADMIN_QUERY}&id_token={session_token(nbf=int(time.time()) + 5)}").status_code == 200


@responses.activate
def test_first_embedded_load_exchanges_the_session_token_for_an_expiring_offline_token(client, t):
    responses.post(f"https://{SHOP}/admin/oauth/access_token",
                   json={"access_token": "shpat_exchanged", "scope": "read_orders", "expires_in": 3600,
                         "refresh_token": "shprt_1", "refresh_token_expires_in": 7776000})
    token = session_token()
    response = client.get(f"/?{ADMIN_QUERY}&id_token={token}")
    assert response.status_code == 200
    sent = json.loads(responses.calls[0].request.body)
    assert sent["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
    assert sent["subject_token"] == token and sent["expiring"] == "1"
    assert sent["requested_token_type"] == "urn:shopify:params:oauth:token-type:offline-access-token"
    with t.db.scope(read_only=True) as session:
        shop = session.scalar(select(Shop).where(Shop.domain == SHOP))
    assert shop.token_source == "token_exchange" and t.cipher.decrypt(shop.access_token_ciphertext) == "shpat_exchanged"


@responses.activate
def test_refused_token_exchange_is_401(client, t):
    responses.post(f"https://{SHOP}/admin/oauth/access_token", status=400, json={"error": "invalid_subject_token"})
    response = client.get(f"/?{ADMIN_QUERY}&id_token={session_token()}")
    assert response.status_code == 401 and "invalid_subject_token" in response.json["error"]["message"]
