"""Every App Proxy endpoint the widget calls checks Shopify's signature first: the shopper is
only ever the signed `logged_in_customer_id`. (GET /proxy/member has its own cases in
test_proxy_member.py.)"""
import time

import pytest

from tests.support import CUSTOMER_ID, SHOP, signed_proxy_query
from tests.support.ledger import adjust, member_of

ENDPOINTS = [
    ("get", "/proxy/program", None),
    ("post", "/proxy/redeem", {"reward_id": 1, "idempotency_key": "click-0001"}),
    ("post", "/proxy/referral", {"code": "ABCD2345", "email": "friend@example.com"}),
    ("post", "/proxy/claim", {"action": "birthday", "birthday": "1990-12-31"}),
]
BAD_QUERIES = [
    pytest.param(lambda: f"shop={SHOP}&logged_in_customer_id={CUSTOMER_ID}&path_prefix=/apps/tessera"
                         f"&timestamp={int(time.time())}", id="missing-signature"),
    pytest.param(lambda: signed_proxy_query(secret="shpss_not_ours"), id="wrong-secret"),
    pytest.param(lambda: signed_proxy_query(timestamp=int(time.time()) - 600), id="expired"),
    pytest.param(lambda: signed_proxy_query(timestamp=int(time.time()) + 600), id="from-the-future"),
    pytest.param(lambda: signed_proxy_query() + "&signature=" + "0" * 64, id="two-signatures"),
    pytest.param(lambda: signed_proxy_query(customer_id=None) + f"&logged_in_customer_id={CUSTOMER_ID}",
                 id="guest-adds-a-customer"),
]


def call(client, method, path, body, query):
    return getattr(client, method)(f"{path}?{query}", json=body)


@pytest.mark.parametrize("method,path,body", ENDPOINTS)
@pytest.mark.parametrize("query", BAD_QUERIES)
def test_requests_without_a_valid_fresh_signature_are_401_and_change_nothing(client, t, shop, method, path, body,
                                                                              query):
    adjust(t, shop, 600)
    response = call(client, method, path, body, query())
    assert response.status_code == 401
    assert response.json["error"]["code"] in ("invalid_signature", "expired_signature")
    assert member_of(t, shop).birthday is None


@pytest.mark.parametrize("method,path,body", ENDPOINTS)
def test_a_shop_that_does_not_run_tessera_is_404(client, t, shop, method, path, body):
    response = call(client, method, path, body, signed_proxy_query(shop="nobody.myshopify.com"))
    assert response.status_code == 404 and response.json["error"]["code"] == "unknown_shop"


@pytest.mark.parametrize("method,path,body", [e for e in ENDPOINTS if e[0] == "post" and e[1] != "/proxy/referral"])
def test_a_customer_id_in_the_body_is_never_used(client, t, shop, method, path, body):
    adjust(t, shop, 600)
    response = call(client, method, path, {**body, "customer_id": CUSTOMER_ID, "logged_in_customer_id": CUSTOMER_ID},
                    signed_proxy_query(customer_id=None))
    assert response.status_code == 401 and response.json["error"]["code"] == "login_required"
    assert member_of(t, shop).birthday is None


def test_the_program_is_the_same_for_everyone_and_cacheable(client, t, shop):
    guest = client.get(f"/proxy/program?{signed_proxy_query(customer_id=None)}")
    member = client.get(f"/proxy/program?{signed_proxy_query()}")
    assert guest.status_code == member.status_code == 200 and guest.json == member.json
    assert guest.headers["Cache-Control"] == "public, max-age=60"
