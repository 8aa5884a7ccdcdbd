"""POST /proxy/estimate: what the current cart would earn, for guests too, by the order rules."""
import pytest

from tests.support import signed_proxy_query
from tests.support.ledger import set_program

pytestmark = pytest.mark.both_backends


def estimate(client, body, customer_id=None, **query):
    return client.post(f"/proxy/estimate?{signed_proxy_query(customer_id=customer_id, **query)}", json=body)


def test_a_guest_sees_what_the_cart_would_earn(client, t, shop):
    response = estimate(client, {"currency": "USD", "subtotal": "54.00", "lines": []})
    assert response.status_code == 200
    assert (response.json["points"], response.json["signed_in"]) == (54, False)
    assert response.headers["Cache-Control"] == "private, no-store"


def test_the_estimate_follows_the_shops_earning_rule(client, t, shop):
    set_program(t, shop, {"earning": {"points_per_unit": "2"}})
    assert estimate(client, {"currency": "USD", "subtotal": "54.00"}).json["points"] == 108


def test_a_cart_in_another_currency_gets_no_number(client, t, shop):
    body = estimate(client, {"currency": "EUR", "subtotal": "54.00"}).json
    assert (body["points"], body["unavailable"]) == (None, "currency")


@pytest.mark.parametrize("cart", [{"currency": "USD", "subtotal": "lots"}, {"currency": "USD", "subtotal": "-5"},
                                  {"currency": "USD", "lines": "all of them"}])
def test_bad_carts_are_422_saying_which_field(client, t, shop, cart):
    response = estimate(client, cart)
    assert response.status_code == 422


def test_an_unsigned_request_is_refused(client, t, shop):
    response = client.post("/proxy/estimate?shop=maple-pine-goods.myshopify.com", json={"currency": "USD"})
    assert response.status_code == 401
