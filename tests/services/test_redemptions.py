"""Redeeming points for Shopify discount codes: the saga at the Shopify boundary."""
import re
import threading
import uuid
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from app.models import Redemption, Reward, Shop
from tests.support import CUSTOMER_ID, ORDER_ID, payload, signed_proxy_query
from tests.support.ledger import adjust, balance, deliver, ledger, set_program
from tests.support.shopify_stub import THROTTLED, timeout, user_errors

pytestmark = pytest.mark.both_backends
CODE = re.compile(r"^[A-HJ-NP-Z2-9]{10}$")



@pytest.fixture
def five_off(t, shop):
    with t.db.scope(read_only=True) as session:
        return session.scalar(select(Reward).where(Reward.shop_id == shop.id)).id


def give(t, shop, points: int, customer_id: int = CUSTOMER_ID):
    adjust(t, shop, points, customer_id)


def redeem(client, reward_id, key=None, customer_id=CUSTOMER_ID, **extra):
    body = {"reward_id": reward_id, "idempotency_key": key or uuid.uuid4().hex, **extra}
    return client.post(f"/proxy/redeem?{signed_proxy_query(customer_id=customer_id)}", json=body)


def redemptions(t):
    with t.db.scope(read_only=True) as session:
        return session.scalars(select(Redemption).order_by(Redemption.id)).all()


def test_new_shop_has_the_500_point_five_off_reward(client, t, shop):
    rewards = client.get(f"/proxy/program?{signed_proxy_query()}").json["rewards"]
    assert [(r["name"], r["points_cost"], r["kind"], r["value"]) for r in rewards] == [("USD 5 off", 500, "amount_off", "5")]
    assert "Can be combined with shipping discounts" in rewards[0]["combination_text"]


def test_redeeming_creates_a_single_use_code_for_that_customer(client, t, shop, stub, five_off):
    give(t, shop, 600)
    response = redeem(client, five_off)
    assert response.status_code == 200, response.json
    body = response.json
    assert CODE.match(body["code"]) and body["balance"] == 100 and body["apply_url"] == f"/discount/{body['code']}"
    [mutation] = stub.mutations
    discount = mutation["variables"]["basicCodeDiscount"]
    assert discount["code"] == body["code"] and discount["usageLimit"] == 1 and discount["appliesOncePerCustomer"]
    assert discount["context"] == {"customers": {"add": [f"gid://shopify/Customer/{CUSTOMER_ID}"]}}
    assert discount["customerGets"]["value"] == {"discountAmount": {"amount": "5.00", "appliesOnEachItem": False}}
    assert discount["combinesWith"] == {"orderDiscounts": False, "productDiscounts": False, "shippingDiscounts": True}
    assert discount["endsAt"] == (t.clock() + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    [stored] = redemptions(t)
    assert (stored.status, stored.code, stored.points_spent) == ("issued", body["code"], 500)
    assert stored.shopify_discount_id.startswith("gid://shopify/DiscountCodeNode/")
    assert ledger(t, shop)[-1] == (f"redemption:{stored.id}:debit", -500)


def test_retry_with_the_same_key_returns_the_same_code(client, t, shop, stub, five_off):
    give(t, shop, 1000)
    first = redeem(client, five_off, key="click-123456")
    second = redeem(client, five_off, key="click-123456")
    assert first.json["code"] == second.json["code"] and second.json["balance"] == 500
    assert len(stub.mutations) == 1 and len(redemptions(t)) == 1


def test_not_enough_points_is_409_and_changes_nothing(client, t, shop, stub, five_off):
    give(t, shop, 499)
    response = redeem(client, five_off)
    assert response.status_code == 409 and "needs 500 points; you have 499" in response.json["error"]["message"]
    assert stub.bodies == [] and redemptions(t) == [] and balance(t, shop).balance == 499


def test_unknown_reward_is_404_and_guest_is_401(client, t, shop, stub):
    give(t, shop, 1000)
    assert redeem(client, 999999).status_code == 404
    assert redeem(client, "nope").status_code == 404
    assert redeem(client, 1, customer_id=None).status_code == 401
    bad_key = client.post(f"/proxy/redeem?{signed_proxy_query()}", json={"reward_id": 1})
    assert bad_key.status_code == 422 and bad_key.json["error"]["fields"][0]["field"] == "idempotency_key"


def test_code_already_taken_is_retried_with_a_new_code(client, t, shop, stub, five_off):
    give(t, shop, 500)
    stub.then(user_errors("TAKEN"))
    response = redeem(client, five_off)
    assert response.status_code == 200
    first, second = [m["variables"]["basicCodeDiscount"]["code"] for m in stub.mutations]
    assert first != second == response.json["code"] == redemptions(t)[0].code


@pytest.mark.parametrize("trouble", [
    pytest.param(lambda: [THROTTLED], id="throttled"),
    pytest.param(lambda: [(429, {"Retry-After": "1"})], id="429-retry-after"),
    pytest.param(lambda: [503, 502], id="5xx"),
    pytest.param(lambda: [timeout()], id="timeout"),
])
def test_transient_shopify_trouble_is_retried_and_ends_in_one_code(client, t, shop, stub, five_off, trouble):
    give(t, shop, 500)
    stub.then(*trouble())
    response = redeem(client, five_off)
    assert response.status_code == 200 and response.json["balance"] == 0
    [stored] = redemptions(t)
    assert stored.status == "issued" and stored.code == response.json["code"]


def test_shopify_down_after_retries_gives_the_points_back_and_says_so(client, t, shop, stub, five_off):
    give(t, shop, 500)
    stub.then(500, 500, 500, 500, 500)
    response = redeem(client, five_off, key="click-abcdefgh")
    assert response.status_code == 502
    assert "500 points are back" in response.json["error"]["message"]
    [stored] = redemptions(t)
    assert stored.status == "failed" and balance(t, shop).balance == 500
    assert [p for _, p in ledger(t, shop)][-2:] == [-500, 500]
    again = redeem(client, five_off, key="click-abcdefgh")
    assert again.status_code == 502 and len(stub.bodies) == 5  # same answer, no new attempt


def test_a_refused_discount_gives_the_points_back(client, t, shop, stub, five_off):
    give(t, shop, 500)
    stub.then(user_errors("INVALID", "Ends at must be after starts at"))
    response = redeem(client, five_off)
    assert response.status_code == 502 and "Ends at must be after starts at" in response.json["error"]["message"]
    assert balance(t, shop).balance == 500


def test_fifty_parallel_redemptions_with_1000_points_make_exactly_two_codes(client, t, shop, stub, five_off):
    give(t, shop, 1000)
    statuses, barrier = [], threading.Barrier(50)

    def click():
        barrier.wait()
        statuses.append(redeem(client, five_off).status_code)

    threads = [threading.Thread(target=click) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == 2 and statuses.count(409) == 48
    issued = [r for r in redemptions(t) if r.status == "issued"]
    assert len(issued) == 2 and len({r.code for r in issued}) == 2 and len(stub.mutations) == 2
    assert balance(t, shop).balance == 0


def order_with_code(code: str, **changes) -> dict:
    body = payload("orders/paid")
    body["discount_codes"] = [{"code": code, "amount": "5.00", "type": "fixed_amount"}]
    body.update(changes)
    return body


def test_code_used_in_an_order_is_marked_and_a_cancel_brings_the_points_back(client, t, shop, stub, five_off):
    give(t, shop, 500)
    code = redeem(client, five_off).json["code"]
    deliver(client, t, "orders/paid", order_with_code(code))
    [stored] = redemptions(t)
    assert (stored.status, stored.used_order_id) == ("used", ORDER_ID)
    cancelled = payload("orders/cancelled")
    cancelled["discount_codes"] = [{"code": code, "amount": "5.00", "type": "fixed_amount"}]
    deliver(client, t, "orders/cancelled", cancelled)
    assert ledger(t, shop)[-1] == (f"redemption:{stored.id}:return:order_void", 500)
    assert balance(t, shop).balance == 500  # the order's 110 points went, the 500 came back


def test_owner_can_keep_spent_points_on_cancelled_orders(client, t, shop, stub, five_off):
    set_program(t, shop, {"clawback": {"return_points_for_cancelled_reward_orders": False}})
    give(t, shop, 500)
    code = redeem(client, five_off).json["code"]
    cancelled = payload("orders/cancelled")
    cancelled["discount_codes"] = [{"code": code}]
    deliver(client, t, "orders/cancelled", cancelled)
    assert balance(t, shop).balance == 0


def test_expired_unused_codes_return_points_when_the_owner_wants(client, t, shop, stub, five_off):
    from app.services.redemptions import expire_unused_codes
    set_program(t, shop, {"clawback": {"return_points_for_expired_codes": True}})
    give(t, shop, 500)
    redeem(client, five_off)
    t.clock.advance(days=92)
    assert expire_unused_codes(t.db, now=t.clock()) == 1
    assert redemptions(t)[0].status == "expired" and balance(t, shop).balance == 500


def test_deleting_a_reward_deactivates_its_open_codes_and_returns_points(client, t, shop, stub, five_off):
    from app.services.rewards import delete_reward
    give(t, shop, 500)
    redeem(client, five_off)
    with t.db.scope() as session:
        delete_reward(session, session.get(Shop, shop.id), five_off, now=t.clock(), queue=t.queue)
    t.queue.drain(t)
    deactivate = [b for b in stub.bodies if b["operationName"] == "DeactivateRewardCode"]
    assert deactivate[0]["variables"]["id"] == redemptions(t)[0].shopify_discount_id
    assert redemptions(t)[0].status == "deactivated" and balance(t, shop).balance == 500
    assert client.get(f"/proxy/program?{signed_proxy_query()}").json["rewards"] == []


def add_reward(t, shop, **fields) -> int:
    from app.services.rewards import create_reward
    with t.db.scope() as session:
        return create_reward(session, session.get(Shop, shop.id), fields).id


def test_each_reward_kind_becomes_the_right_discount(client, t, shop, stub):
    give(t, shop, 10_000)
    stub.variant_prices[44123456789012] = "12.50"
    kinds = {
        "percent": add_reward(t, shop, name="10% off", kind="percent_off", points_cost=800, value="10"),
        "shipping": add_reward(t, shop, name="Free shipping", kind="free_shipping", points_cost=300,
                               min_subtotal="25"),
        "product": add_reward(t, shop, name="Free socks", kind="free_product", points_cost=900, value="12.50",
                              variant_id=44123456789012),
        "slider": add_reward(t, shop, name="Points off", kind="points_slider", points_per_unit=100, min_points=100,
                             max_points=2000),
        "credit": add_reward(t, shop, name="Store credit", kind="store_credit", points_cost=1000, value="10"),
    }
    for name, reward_id in kinds.items():
        extra = {"points": 750} if name == "slider" else {}
        assert redeem(client, reward_id, **extra).status_code == 200, name
    percent, shipping, product, slider, credit = [b["variables"] for b in stub.mutations]
    assert percent["basicCodeDiscount"]["customerGets"]["value"] == {"percentage": 0.1}
    assert shipping["freeShippingCodeDiscount"]["destination"] == {"all": True}
    assert shipping["freeShippingCodeDiscount"]["combinesWith"]["shippingDiscounts"] is False
    assert shipping["freeShippingCodeDiscount"]["minimumRequirement"] == {
        "subtotal": {"greaterThanOrEqualToSubtotal": "25.00"}}
    assert product["basicCodeDiscount"]["customerGets"] == {
        "value": {"discountAmount": {"amount": "12.50", "appliesOnEachItem": False}},
        "items": {"products": {"productVariantsToAdd": ["gid://shopify/ProductVariant/44123456789012"]}}}
    assert slider["basicCodeDiscount"]["customerGets"]["value"]["discountAmount"]["amount"] == "7.00"
    assert credit == {"id": f"gid://shopify/Customer/{CUSTOMER_ID}",
                      "creditInput": {"creditAmount": {"amount": "10.00", "currencyCode": "USD"}}}
    assert balance(t, shop).balance == 10_000 - 800 - 300 - 900 - 700 - 1000


def test_tier_only_and_limited_rewards(client, t, shop, stub):
    give(t, shop, 5000)
    gold = add_reward(t, shop, name="Gold gift", kind="amount_off", points_cost=100, value="5", tier_keys=["gold"])
    once = add_reward(t, shop, name="Once", kind="amount_off", points_cost=100, value="5", per_member_limit=1)
    refused = redeem(client, gold)
    assert refused.status_code == 409 and "reserved for members of another tier" in refused.json["error"]["message"]
    assert redeem(client, once).status_code == 200
    assert redeem(client, once).status_code == 409


def test_a_redemption_abandoned_mid_saga_is_finished_without_a_second_code(client, t, shop, stub, five_off):
    from app.services.redemptions import hold_points, resume_stale_redemptions
    give(t, shop, 500)
    with t.db.scope() as session:
        held = hold_points(session, session.get(Shop, shop.id), CUSTOMER_ID, five_off, "crash-key-1", now=t.clock())
    t.clock.advance(minutes=5)
    assert resume_stale_redemptions(t.db, admin=t.shopify, queue=t.queue, clock=t.clock) == 1
    [stored] = redemptions(t)
    assert stored.status == "issued" and stored.code == held.code and balance(t, shop).balance == 0


def test_a_resumed_saga_recognises_its_own_code_in_shopify(client, t, shop, stub, five_off):
    from app.services.redemptions import hold_points, resume_stale_redemptions
    give(t, shop, 500)
    with t.db.scope() as session:
        held = hold_points(session, session.get(Shop, shop.id), CUSTOMER_ID, five_off, "crash-key-2", now=t.clock())
    stub.lookups[held.code] = {"id": "gid://shopify/DiscountCodeNode/42",
                               "codeDiscount": {"title": f"USD 5 off - Tessera #{held.id}", "status": "ACTIVE"}}
    stub.then(user_errors("TAKEN"))
    t.clock.advance(minutes=5)
    resume_stale_redemptions(t.db, admin=t.shopify, queue=t.queue, clock=t.clock)
    [stored] = redemptions(t)
    assert (stored.status, stored.code, stored.shopify_discount_id) == ("issued", held.code,
                                                                        "gid://shopify/DiscountCodeNode/42")


def test_a_code_shopify_creates_after_the_points_came_back_is_deactivated_not_left_live(client, t, shop, stub,
                                                                                        five_off):
    from app.services.redemptions import give_back, hold_points, issue
    from tests.support.shopify_stub import created
    give(t, shop, 500)
    with t.db.scope() as session:
        held = hold_points(session, session.get(Shop, shop.id), CUSTOMER_ID, five_off, "race-key-01", now=t.clock())

    def shopify_answers_after_another_path_gave_the_points_back(body):
        with t.db.scope() as other:
            give_back(other, other.get(Redemption, held.id), why="failed", reason="gave up", now=t.clock())
        return created(body)

    stub.then(shopify_answers_after_another_path_gave_the_points_back)
    with t.db.scope() as session:
        issue(session, session.get(Shop, shop.id), session.get(Redemption, held.id), admin=t.shopify, queue=t.queue,
              clock=t.clock)
    [stored] = redemptions(t)
    assert stored.status == "failed" and balance(t, shop).balance == 500
    assert [p for _, p in ledger(t, shop)][-2:] == [-500, 500]  # given back once
    [deactivated] = [b for b in stub.bodies if b["operationName"] == "DeactivateRewardCode"]
    assert deactivated["variables"]["id"].startswith("gid://shopify/DiscountCodeNode/")


def test_a_late_failure_after_the_resume_issued_the_code_gives_no_points_back(client, t, shop, stub, five_off):
    from app.services.redemptions import hold_points, issue, resume_stale_redemptions
    give(t, shop, 500)
    with t.db.scope() as session:
        held = hold_points(session, session.get(Shop, shop.id), CUSTOMER_ID, five_off, "race-key-02", now=t.clock())

    def refused_while_the_resume_took_over(body):
        t.clock.advance(minutes=3)  # this request's lease ran out; the periodic resume finishes the saga
        assert resume_stale_redemptions(t.db, admin=t.shopify, queue=t.queue, clock=t.clock) == 1
        return user_errors("INTERNAL_ERROR", "Something went wrong")(body)

    stub.then(refused_while_the_resume_took_over)
    with t.db.scope() as session:
        issue(session, session.get(Shop, shop.id), session.get(Redemption, held.id), admin=t.shopify, queue=t.queue,
              clock=t.clock)
    [stored] = redemptions(t)
    assert stored.status == "issued" and stored.failure_reason is None
    assert balance(t, shop).balance == 0 and [p for _, p in ledger(t, shop)][-1] == -500


def test_a_redemption_another_request_is_issuing_is_left_to_it(client, t, shop, stub, five_off):
    from app.services.redemptions import hold_points, issue
    from tests.support.shopify_stub import created
    give(t, shop, 500)
    with t.db.scope() as session:
        held = hold_points(session, session.get(Shop, shop.id), CUSTOMER_ID, five_off, "race-key-03", now=t.clock())

    def meanwhile_a_second_worker_tries(body):
        with t.db.scope() as other:
            issue(other, other.get(Shop, shop.id), other.get(Redemption, held.id), admin=t.shopify, queue=t.queue,
                  clock=t.clock)
        return created(body)

    stub.then(meanwhile_a_second_worker_tries)
    with t.db.scope() as session:
        issue(session, session.get(Shop, shop.id), session.get(Redemption, held.id), admin=t.shopify, queue=t.queue,
              clock=t.clock)
    assert len(stub.mutations) == 1 and redemptions(t)[0].status == "issued"


def slow_timeout(t, seconds: float):
    """Shopify answering nothing for `seconds` of the request budget's clock (a fake one, so a
    busy machine cannot change how many tries fit in the budget)."""
    elapsed = getattr(t.monotonic, "elapsed", None)
    if elapsed is None:
        elapsed = [1000.0]
        t.monotonic = lambda: elapsed[0]
        t.monotonic.elapsed = elapsed

    def reply(_body):
        elapsed[0] += seconds
        raise requests.Timeout("read timed out")
    return reply


def poll(client, redemption_id, customer_id=CUSTOMER_ID, **signing):
    query = signed_proxy_query(customer_id=customer_id, **signing)
    return client.get(f"/proxy/redemptions/{redemption_id}?{query}")


def test_shopify_slower_than_the_request_budget_answers_202_and_the_worker_finishes(client, t, shop, stub,
                                                                                    five_off):
    t.config["REDEEM_DEADLINE_SECONDS"] = 0.5
    give(t, shop, 500)
    stub.then(*[slow_timeout(t, 0.3)] * 4)
    response = redeem(client, five_off, key="slow-click-1")
    assert len(stub.mutations) in (1, 2)  # the budget ended it (the backoff's jitter decides a second try)
    [stored] = redemptions(t)
    assert response.status_code == 202 and response.json == {"status": "pending", "redemption_id": stored.id}
    assert poll(client, stored.id).json["status"] == "pending" and balance(t, shop).balance == 0
    again = redeem(client, five_off, key="slow-click-1")  # the widget's retry of the same click
    assert again.status_code == 202 and len(redemptions(t)) == 1
    t.queue.drain(t)
    done = poll(client, stored.id)
    assert done.status_code == 200 and done.json["status"] == "issued" and CODE.match(done.json["code"])
    assert done.json["apply_url"] == f"/discount/{done.json['code']}" and done.json["balance"] == 0


def test_polling_a_redemption_whose_points_came_back_says_failed_with_the_balance(client, t, shop, stub, five_off):
    t.config["REDEEM_DEADLINE_SECONDS"] = 0.2
    give(t, shop, 500)
    stub.then(slow_timeout(t, 0.3), *[500] * 5)
    response = redeem(client, five_off)
    assert response.status_code == 202
    t.queue.drain(t)
    answer = poll(client, response.json["redemption_id"]).json
    assert (answer["status"], answer["code"], answer["balance"]) == ("failed", None, 500)
    assert "500 points are back" in answer["message"]


def test_only_the_signed_in_owner_may_read_a_redemption(client, t, shop, stub, five_off):
    give(t, shop, 500)
    redemption_id = redeem(client, five_off).json["redemption_id"]
    assert client.get(f"/proxy/redemptions/{redemption_id}").status_code == 401
    assert poll(client, redemption_id, secret="not-the-app-secret").status_code == 401
    assert poll(client, redemption_id, customer_id=None).status_code == 401
    assert poll(client, redemption_id, customer_id=CUSTOMER_ID + 1).status_code == 404
    assert poll(client, redemption_id, shop="other-shop.myshopify.com").status_code == 404
    assert poll(client, "nope").status_code == 404 and poll(client, 987654).status_code == 404
    assert poll(client, redemption_id).json["status"] == "issued"


def test_a_code_used_in_an_order_after_its_points_were_returned_charges_them_again(client, t, shop, stub, five_off):
    from app.services.redemptions import expire_unused_codes
    set_program(t, shop, {"clawback": {"return_points_for_expired_codes": True}})
    give(t, shop, 500)
    code = redeem(client, five_off).json["code"]
    t.clock.advance(days=92)
    assert expire_unused_codes(t.db, now=t.clock()) == 1 and balance(t, shop).balance == 500
    paid = payload("orders/paid")  # placed before the code ended, delivered late
    paid["discount_codes"] = [{"code": code}]
    deliver(client, t, "orders/paid", paid)
    [used] = redemptions(t)
    assert (used.status, used.used_order_id) == ("used", paid["id"])
    assert (f"redemption:{used.id}:late_use", -500) in ledger(t, shop)
