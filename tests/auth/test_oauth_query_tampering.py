"""OAuth install links whose query could mean two things are refused before anything runs."""
import time

import pytest
import responses

from tests.auth.test_oauth import TOKEN_URL, callback_query, start_install, stored_shop
from tests.support import OTHER_SHOP, SHOP, signed_oauth_query


@responses.activate
def test_a_second_shop_in_front_of_a_signed_callback_cannot_install_the_other_shop(client, t):
    responses.post(f"https://{OTHER_SHOP}/admin/oauth/access_token", json={"access_token": "shpat_x", "scope": ""})
    responses.post(TOKEN_URL, json={"access_token": "shpat_y", "scope": ""})
    state = start_install(client)
    response = client.get(f"/auth/callback?shop={OTHER_SHOP}&{callback_query(state)}")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "repeated_parameter"
    assert response.json["error"]["fields"] == [{"field": "shop", "problem": "sent more than once"}]
    assert len(responses.calls) == 0 and stored_shop(t) is None


@pytest.mark.parametrize("extra", ["code=0000", "timestamp=1", "state=other", "hmac=00"])
def test_any_repeated_callback_key_is_a_bad_request(client, t, extra):
    state = start_install(client)
    response = client.get(f"/auth/callback?{callback_query(state)}&{extra}")
    assert response.status_code == 400 and response.json["error"]["code"] == "repeated_parameter"
    assert stored_shop(t) is None


def test_a_repeated_shop_on_the_install_link_is_a_bad_request(client):
    query = signed_oauth_query({"shop": SHOP, "timestamp": str(int(time.time()))})
    response = client.get(f"/auth/install?shop={OTHER_SHOP}&{query}")
    assert response.status_code == 400 and response.json["error"]["code"] == "repeated_parameter"


def test_the_hmac_check_itself_refuses_repeated_keys():
    from app.shopify.signatures import oauth_query_hmac_valid
    from tests.support import SECRET
    query = signed_oauth_query({"shop": SHOP, "timestamp": "1"})
    assert oauth_query_hmac_valid(query, [SECRET])
    assert not oauth_query_hmac_valid(f"shop={OTHER_SHOP}&{query}", [SECRET])


@pytest.mark.parametrize("hmac_value", ["é" * 64, "%E2%98%83", "\u0661" * 64],
                         ids=["latin", "snowman", "arabic-digits"])
def test_a_non_ascii_hmac_on_the_callback_is_401_not_500(client, t, hmac_value):
    state = start_install(client)
    query = callback_query(state).rsplit("&hmac=", 1)[0]
    response = client.get(f"/auth/callback?{query}&hmac={hmac_value}")
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_hmac"


def test_a_non_ascii_state_is_a_mismatch_not_500(client, t):
    start_install(client)
    response = client.get(f"/auth/callback?{callback_query('é-state-ü')}")
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_state"


def test_a_signed_but_odd_timestamp_is_a_stale_request_not_500(client, t):
    state = start_install(client)
    response = client.get(f"/auth/callback?{callback_query(state, timestamp='²')}")
    assert response.status_code == 400 and response.json["error"]["code"] == "stale_request"
