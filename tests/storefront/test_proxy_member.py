"""GET /proxy/member: the signed customer's state; the shopper is only the signed id."""
import time

import pytest

from tests.support import CUSTOMER_ID, OTHER_SHOP, payload, signed_proxy_query
from tests.support.ledger import deliver

pytestmark = pytest.mark.both_backends


def test_signed_customer_gets_balance_pending_lifetime_and_tier(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    response = client.get(f"/proxy/member?{signed_proxy_query()}")
    assert response.status_code == 200
    body = response.json
    # A signed-in customer has an account: the first load adds the signup points (100).
    assert (body["balance"], body["pending"], body["lifetime_earned"], body["tier"]) == (210, 0, 210, None)
    assert body["recent_activity"][-1]["reason"].startswith("Order #1042: 1 point per $1")
    assert response.headers["Cache-Control"] == "private, no-store"


def test_a_customer_not_seen_yet_gets_zeros_not_an_error(client, t, shop):
    body = client.get(f"/proxy/member?{signed_proxy_query(customer_id=999)}").json
    assert (body["balance"], body["pending"], body["lifetime_earned"], body["tier"]) == (0, 0, 0, None)


def test_guest_is_a_guest(client, t, shop):
    body = client.get(f"/proxy/member?{signed_proxy_query(customer_id=None)}").json
    assert body["guest"] is True and body["balance"] == 0


@pytest.mark.parametrize("query", [
    pytest.param(lambda: "shop=maple-pine-goods.myshopify.com&logged_in_customer_id=7412583020571", id="unsigned"),
    pytest.param(lambda: signed_proxy_query(secret="shpss_not_ours"), id="wrong-secret"),
    pytest.param(lambda: signed_proxy_query(timestamp=int(time.time()) - 600), id="expired"),
    pytest.param(lambda: signed_proxy_query() + "&logged_in_customer_id=1", id="extra-customer-param"),
    pytest.param(lambda: signed_proxy_query().replace("7412583020571", "7412583020572"), id="tampered-customer"),
])
def test_bad_signatures_are_401(client, t, shop, query):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    response = client.get(f"/proxy/member?{query()}")
    assert response.status_code == 401
    assert "balance" not in response.json


def test_customer_id_outside_the_signature_is_never_used(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    body = client.get(f"/proxy/member?{signed_proxy_query(customer_id=999)}&customer_id={CUSTOMER_ID}")
    assert body.status_code == 401  # unsigned extra params break the signature


def test_unknown_shop_is_404(client, t, shop):
    response = client.get(f"/proxy/member?{signed_proxy_query(shop='nobody.myshopify.com')}")
    assert response.status_code == 404


def test_same_customer_id_in_another_shop_sees_only_that_shops_points(client, t, shop, other_shop, stub):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    mine = client.get(f"/proxy/member?{signed_proxy_query()}").json
    theirs = client.get(f"/proxy/member?{signed_proxy_query(shop=OTHER_SHOP)}").json  # its Shopify unreachable
    assert mine["balance"] == 110 + 100 and theirs["balance"] == 0


def test_members_seen_before_tiers_were_switched_on_show_the_tier_they_qualify_for(client, t, shop):
    from tests.support.ledger import set_program
    deliver(client, t, "orders/paid", payload("orders/paid"))
    set_program(t, shop, {"tiers": {"enabled": True}})
    body = client.get(f"/proxy/member?{signed_proxy_query()}").json
    assert body["tier"] == "Bronze" and body["tier_progress"]["tier"] == "Silver"
    assert body["tier_progress"]["missing"] == "290"  # 110 order points + 100 signup points of 500
