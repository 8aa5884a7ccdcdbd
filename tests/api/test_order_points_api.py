"""The admin order block's data: the points an order earned and the points its refunds took back."""
import pytest

from tests.admin.helpers import bearer
from tests.support import CUSTOMER_ID, ORDER_ID, OTHER_SHOP, payload, session_token
from tests.support.ledger import deliver

pytestmark = pytest.mark.both_backends


def test_an_order_shows_the_points_it_earned(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    body = client.get(f"/api/v1/orders/{ORDER_ID}/points", headers=bearer()).json
    assert (body["earned"], body["taken_back"], body["net"], body["customer_id"]) == (110, 0, 110, CUSTOMER_ID)
    assert body["entries"][0]["reason"].startswith("Order #1042:")


def test_a_refund_shows_as_points_taken_back(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    deliver(client, t, "refunds/create", payload("refunds/create"))
    body = client.get(f"/api/v1/orders/{ORDER_ID}/points", headers=bearer()).json
    assert body["earned"] == 110 and body["taken_back"] > 0 and body["net"] == 110 - body["taken_back"]
    assert [e["kind"] for e in body["entries"]] == ["earn", "clawback"]


def test_an_order_tessera_has_not_received_is_404_with_what_to_expect(client, shop):
    response = client.get("/api/v1/orders/123/points", headers=bearer())
    assert response.status_code == 404 and "has not received this order" in response.json["error"]["message"]


def test_without_a_session_token_it_is_401(client, shop):
    assert client.get(f"/api/v1/orders/{ORDER_ID}/points").status_code == 401


def test_another_shops_staff_cannot_read_this_shops_order(client, t, shop, other_shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    other = {"Authorization": f"Bearer {session_token(shop=OTHER_SHOP)}"}
    assert client.get(f"/api/v1/orders/{ORDER_ID}/points", headers=other).status_code == 404


def test_admin_extensions_cross_origin_calls_pass_the_browsers_preflight(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    preflight = client.options(f"/api/v1/orders/{ORDER_ID}/points", headers={
        "Origin": "https://extensions.shopifycdn.com", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 204 and "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    answer = client.get(f"/api/v1/orders/{ORDER_ID}/points", headers=bearer())
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get(f"/api/v1/orders/{ORDER_ID}/points").status_code == 401  # CORS grants nothing by itself
