"""Session tokens must carry every time and identity claim Shopify documents: a token without
`exp` would otherwise open the admin forever."""
import time

import jwt
import pytest

from app.shopify.session_tokens import InvalidSessionToken, decode_session_token
from tests.support import API_KEY, SECRET, SHOP, session_token

ADMIN_QUERY = f"shop={SHOP}&embedded=1"


def token_without(*claims: str, **overrides) -> str:
    payload = jwt.decode(session_token(**overrides), options={"verify_signature": False})
    for claim in claims:
        payload.pop(claim)
    return jwt.encode(payload, SECRET, algorithm="HS256")


@pytest.mark.parametrize("missing", ["exp", "nbf", "aud", "iss", "dest", "sub", "sid"])
def test_a_token_missing_a_required_claim_never_opens_the_admin(client, shop, missing):
    response = client.get(f"/?{ADMIN_QUERY}&id_token={token_without(missing)}")
    assert response.status_code == 401
    assert SHOP not in response.get_data(as_text=True)


def test_a_token_without_exp_minted_a_year_ago_is_refused_by_the_api(client, shop):
    old = token_without("exp", now=time.time() - 365 * 86400)
    response = client.get("/api/v1/program", headers={"Authorization": f"Bearer {old}"})
    assert response.status_code == 401


@pytest.mark.parametrize("overrides", [
    pytest.param({"iss": f"https://{SHOP}/"}, id="iss-is-not-the-admin-url"),
    pytest.param({"iss": f"https://{SHOP}/admin/extra"}, id="iss-has-another-path"),
    pytest.param({"iss": f"http://{SHOP}/admin", "dest": f"http://{SHOP}"}, id="not-https"),
    pytest.param({"dest": f"https://{SHOP}/somewhere"}, id="dest-has-a-path"),
    pytest.param({"aud": ["someone-else", API_KEY + "x"]}, id="aud-is-another-app"),
    pytest.param({"exp": int(time.time()) - 11}, id="expired-beyond-leeway"),
])
def test_tokens_with_claims_shopify_never_issues_are_refused(overrides):
    with pytest.raises(InvalidSessionToken):
        decode_session_token(session_token(**overrides), api_key=API_KEY, secrets=[SECRET])


def test_a_token_within_the_ten_second_leeway_is_accepted():
    claims = decode_session_token(session_token(exp=int(time.time()) - 5), api_key=API_KEY, secrets=[SECRET])
    assert claims.shop_domain == SHOP


def test_a_token_signed_with_the_previous_secret_is_accepted_during_rotation():
    token = session_token(secret="shpss_previous_secret_0123456789ab")
    claims = decode_session_token(token, api_key=API_KEY, secrets=[SECRET, "shpss_previous_secret_0123456789ab"])
    assert claims.shop_domain == SHOP
