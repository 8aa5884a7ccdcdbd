"""The checkout extension's endpoints: the cart's points, and redeeming a reward into a code
the extension applies in place, within the reward's minimum and combination rules."""
import uuid

import pytest
from sqlalchemy import select

from app.models import Redemption, Reward, Shop
from app.services.rewards import create_reward
from tests.support.extension_tokens import GUEST, bearer, extension_token
from tests.support.ledger import adjust, balance, set_program

pytestmark = pytest.mark.both_backends
PRODUCT = "gid://shopify/Product/8123456789012"
CART = {"currency": "USD", "subtotal": "135.00", "shipping": "10.00", "tax": "12.15",
        "lines": [{"product_id": PRODUCT, "amount": "120.00"},
                  {"product_id": "gid://shopify/Product/2", "amount": "15.00"}]}


def post(client, path, body, **token):
    return client.post(f"/extensions/checkout{path}", json=body, headers=bearer(extension_token(**token)))


def reward(t, shop, **fields):
    data = {"kind": "amount_off", "name": "USD 10 off", "points_cost": 200, "value": "10"} | fields
    with t.db.scope() as session:
        return create_reward(session, session.get(Shop, shop.id), data).id


def redeem(client, reward_id, *, subtotal="135.00", applied_codes=(), **token):
    return post(client, "/redeem", {"reward_id": reward_id, "idempotency_key": uuid.uuid4().hex, "currency": "USD",
                                     "subtotal": subtotal, "applied_codes": list(applied_codes)}, **token)


def redemptions(t):
    with t.db.scope(read_only=True) as session:
        return session.scalars(select(Redemption)).all()


def test_a_guest_sees_the_points_this_cart_earns_under_the_earning_rule(client, shop):
    response = post(client, "/estimate", CART, customer_id=GUEST)
    assert response.status_code == 200, response.json
    assert (response.json["points"], response.json["signed_in"]) == (135, False)


def test_the_estimate_follows_the_owners_base_and_product_campaigns(client, t, shop):
    set_program(t, shop, {"earning": {"base": "subtotal_with_shipping", "points_per_unit": "2"}, "campaigns": [
        {"key": "boots", "name": "Boots week", "starts_at": "2025-02-01T00:00:00Z", "ends_at": "2025-03-01T00:00:00Z",
         "multiplier": "2", "product_ids": [8123456789012]}]})
    body = post(client, "/estimate", CART).json
    # 2 points per dollar on 145 (subtotal and shipping), plus the boots' 120 counted twice.
    assert body["points"] == 2 * 145 + 2 * 120 and "Boots week x2" in body["reason"]


def test_a_checkout_in_another_currency_gets_no_estimate(client, shop):
    body = post(client, "/estimate", CART | {"currency": "EUR"}).json
    assert (body["points"], body["unavailable"]) == (None, "currency")


def test_a_malformed_cart_is_422_with_the_field(client, shop):
    response = post(client, "/estimate", CART | {"subtotal": "lots"})
    assert response.status_code == 422 and response.json["error"]["fields"][0]["field"] == "subtotal"


def test_the_member_sees_only_rewards_that_become_a_code(client, t, shop):
    reward(t, shop, kind="store_credit", name="USD 10 credit")
    adjust(t, shop, 300)
    body = client.get("/extensions/checkout/member", headers=bearer(extension_token())).json
    assert body["balance"] == 300 and [r["name"] for r in body["rewards"]] == ["USD 5 off"]


def test_redeeming_at_checkout_returns_the_code_to_apply(client, t, shop, stub):
    adjust(t, shop, 300)
    response = redeem(client, reward(t, shop))
    assert response.status_code == 200, response.json
    assert response.json["code"] and response.json["balance"] == 100
    assert len(stub.mutations) == 1


def test_a_guest_cannot_redeem(client, t, shop):
    assert redeem(client, reward(t, shop), customer_id=GUEST).status_code == 401


def test_a_reward_above_the_cart_subtotal_minimum_is_refused_before_points_are_held(client, t, shop, stub):
    adjust(t, shop, 300)
    response = redeem(client, reward(t, shop, min_subtotal="150"), subtotal="135.00")
    assert response.status_code == 422 and response.json["error"]["code"] == "below_minimum"
    assert "add $15.00 more" in response.json["error"]["message"]
    assert redemptions(t) == [] and balance(t, shop).balance == 300 and stub.bodies == []


def test_a_reward_that_combines_with_nothing_is_refused_while_another_code_is_applied(client, t, shop, stub):
    adjust(t, shop, 300)
    lone = reward(t, shop, combines_with_shipping=False)
    response = redeem(client, lone, applied_codes=["WELCOME10"])
    assert response.status_code == 422 and response.json["error"]["code"] == "does_not_combine"
    assert "WELCOME10" in response.json["error"]["message"] and redemptions(t) == []
    assert redeem(client, lone).status_code == 200


def test_redeeming_without_the_checkouts_subtotal_is_422_and_holds_nothing(client, t, shop):
    adjust(t, shop, 300)
    response = post(client, "/redeem", {"reward_id": reward(t, shop), "idempotency_key": uuid.uuid4().hex,
                                        "currency": "USD"})
    assert response.status_code == 422 and response.json["error"]["fields"][0]["field"] == "subtotal"
    assert redemptions(t) == [] and balance(t, shop).balance == 300


def test_store_credit_is_not_offered_as_a_checkout_code(client, t, shop):
    adjust(t, shop, 300)
    response = redeem(client, reward(t, shop, kind="store_credit", name="USD 10 credit"))
    assert response.status_code == 422 and response.json["error"]["code"] == "not_a_code"


def test_a_reward_of_another_shop_is_not_found(client, t, shop, other_shop):
    adjust(t, shop, 300)
    with t.db.scope(read_only=True) as session:
        theirs = session.scalar(select(Reward.id).where(Reward.shop_id == other_shop.id))
    assert redeem(client, theirs).status_code == 404
