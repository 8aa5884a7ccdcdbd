"""The customer account extensions' endpoints: the Rewards page and the order status block."""
import uuid
from datetime import timedelta

import pytest

from tests.storefront.test_signup_points import shopify_customer
from tests.support import CUSTOMER_ID, ORDER_ID, OTHER_SHOP, payload
from tests.support.extension_tokens import GUEST, bearer, extension_token
from tests.support.ledger import adjust, deliver, ledger, member_of, set_program

pytestmark = pytest.mark.both_backends


def get(client, path, **token):
    return client.get(f"/extensions/customer-account{path}", headers=bearer(extension_token(**token)))


def test_without_a_token_every_route_answers_401(client, shop):
    for path in ("/member", "/orders/1", "/redemptions/1"):
        assert client.get(f"/extensions/customer-account{path}").status_code == 401
    assert client.post("/extensions/customer-account/redeem", json={}).status_code == 401


def test_a_token_signed_with_another_secret_is_401(client, shop):
    response = get(client, "/member", secret="shpss_not_our_secret_0123456789abcd")
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_session_token"


def test_the_preflight_and_the_answers_allow_the_extension_origin(client, shop):
    preflight = client.options("/extensions/customer-account/member",
                               headers={"Origin": "https://extensions.shopifycdn.com",
                                        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 204 and "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    refused = client.get("/extensions/customer-account/member")
    assert refused.headers["Access-Control-Allow-Origin"] == "*"


def test_a_shop_that_does_not_run_tessera_is_404(client, shop):
    assert get(client, "/member", shop="unknown-shop.myshopify.com").status_code == 404


def test_a_guest_token_cannot_read_a_member(client, shop):
    response = get(client, "/member", customer_id=GUEST)
    assert response.status_code == 401 and response.json["error"]["code"] == "login_required"


def test_first_sight_of_a_signed_in_customer_enrols_them_with_signup_points(client, t, shop, stub):
    stub.then(shopify_customer())
    response = get(client, "/member")
    assert response.status_code == 200, response.json
    assert response.json["balance"] == 100 and response.headers["Cache-Control"] == "private, no-store"
    member = member_of(t, shop)
    assert ledger(t, shop) == [(f"member:{member.id}:action:signup", 100)]
    assert response.json["referral_url"] == f"https://{shop.domain}/?ref={member.referral_code}"
    assert get(client, "/member").json["balance"] == 100 and len(stub.bodies) == 1


def test_the_rewards_page_shows_history_with_reasons_and_the_rewards(client, t, shop):
    set_program(t, shop, {"actions": {"signup": {"enabled": False}}})
    deliver(client, t, "orders/paid", payload("orders/paid"))
    body = get(client, "/member").json
    assert body["balance"] == 110
    [earned] = body["recent_activity"]
    assert earned["points"] == 110 and "per" in earned["reason"]
    assert [r["name"] for r in body["rewards"]] == ["USD 5 off"] and body["rewards"][0]["points_needed"] == 390


def test_redeeming_from_the_rewards_page_spends_once_per_idempotency_key(client, t, shop, stub):
    set_program(t, shop, {"actions": {"signup": {"enabled": False}}})
    adjust(t, shop, 600)
    reward_id = get(client, "/member").json["rewards"][0]["id"]
    body = {"reward_id": reward_id, "idempotency_key": uuid.uuid4().hex}
    headers = bearer(extension_token())
    first = client.post("/extensions/customer-account/redeem", json=body, headers=headers)
    again = client.post("/extensions/customer-account/redeem", json=body, headers=headers)
    assert first.status_code == 200, first.json
    assert first.json["code"] == again.json["code"] and again.json["balance"] == 100
    assert len(stub.mutations) == 1


def test_the_order_status_block_shows_what_the_order_earned_and_until_when_it_is_pending(client, t, shop):
    set_program(t, shop, {"earning": {"pending_days": 14}, "actions": {"signup": {"enabled": False}}})
    deliver(client, t, "orders/paid", payload("orders/paid"))
    body = get(client, f"/orders/{ORDER_ID}").json
    assert (body["known"], body["earned"], body["pending"]) == (True, 110, 110)
    assert body["pending_until"] == (t.clock() + timedelta(days=14)).isoformat()


def test_an_order_tessera_has_not_received_yet_is_zero_and_not_known(client, shop):
    body = get(client, "/orders/123456").json
    assert (body["known"], body["earned"]) == (False, 0)


def test_another_customers_order_is_not_found(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert get(client, f"/orders/{ORDER_ID}", customer_id=CUSTOMER_ID + 1).status_code == 404


def test_a_customer_of_another_shop_sees_nothing_of_this_shop(client, t, shop, other_shop):
    set_program(t, shop, {"actions": {"signup": {"enabled": False}}})
    set_program(t, other_shop, {"actions": {"signup": {"enabled": False}}})
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert get(client, "/member", shop=OTHER_SHOP).json["balance"] == 0
    assert get(client, f"/orders/{ORDER_ID}", shop=OTHER_SHOP).json["known"] is False
