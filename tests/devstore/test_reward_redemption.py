"""Rewards against the stand-in Shopify: store credit paid exactly once when an answer is lost,
a free product that stays free when its price changes, and free-shipping combinations Shopify
refuses."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.devstore.catalog import product
from app.models import Redemption, Shop
from app.shopify.admin_access import call_admin
from app.shopify.discounts import discount_request
from app.shopify.graphql import ShopifyUserErrors
from tests.devstore.test_admin_api import TERMS
from tests.support.ledger import adjust, balance

SOCKS = product("trail-socks")


def add_reward(t, shop, **fields) -> int:
    from app.services.rewards import create_reward
    with t.db.scope() as session:
        return create_reward(session, session.get(Shop, shop.id), fields).id


def redeem(demo, customer_id: int, reward_id: int, key: str | None = None):
    return demo.proxy("POST", "redeem", customer_id, {"reward_id": reward_id,
                                                       "idempotency_key": key or uuid.uuid4().hex})


def credits(demo, customer_id: int) -> list[str]:
    account = demo.snapshot()["store_credit_accounts"].get(str(customer_id))
    return [c["amount"] for c in account["transactions"]] if account else []


def redemption_rows(t):
    with t.db.scope(read_only=True) as session:
        return session.scalars(select(Redemption).order_by(Redemption.id)).all()


@pytest.fixture
def alice(t, installed, demo):
    customer = demo.sign_up("alice@example.com", "Alice", "Martin").record
    demo.run_jobs()
    adjust(t, installed, 1000 - balance(t, installed, customer["id"]).balance, customer["id"])
    return customer["id"]


@pytest.fixture
def ten_credit(t, installed):
    return add_reward(t, installed, name="USD 10 credit", kind="store_credit", points_cost=1000, value="10")


@pytest.mark.parametrize("status", [502, 504])
def test_store_credit_applied_but_answer_lost_is_credited_once_and_the_points_stay_spent(t, installed, demo, alice,
                                                                                        ten_credit, status):
    demo.stand_in.lose_answer("storeCreditAccountCredit", applied=True, status=status)
    code, body = redeem(demo, alice, ten_credit)
    assert (code, body["status"], body["balance"]) == (200, "issued", 0)
    assert credits(demo, alice) == ["10.00"]
    [stored] = redemption_rows(t)
    account = demo.snapshot()["store_credit_accounts"][str(alice)]
    assert stored.shopify_discount_id.endswith(f"/{account['transactions'][0]['id']}")
    assert balance(t, installed, alice).balance == 0


def test_store_credit_that_never_arrived_is_sent_once_more_after_reading_back(t, installed, demo, alice, ten_credit):
    demo.stand_in.lose_answer("storeCreditAccountCredit", applied=False)
    code, body = redeem(demo, alice, ten_credit)
    assert (code, body["status"]) == (200, "issued")
    assert credits(demo, alice) == ["10.00"] and balance(t, installed, alice).balance == 0


def test_store_credit_with_no_answer_twice_stays_pending_then_is_paid_once_never_both(t, installed, demo, alice,
                                                                                     ten_credit):
    from app.services.redemptions import resume_stale_redemptions
    demo.stand_in.lose_answer("storeCreditAccountCredit", applied=False)
    demo.stand_in.lose_answer("storeCreditAccountCredit", applied=True)
    demo.stand_in.lose_answer("storeCreditAccountCredit", applied=False)
    code, body = redeem(demo, alice, ten_credit)
    assert (code, body["status"]) == (200, "issued")  # the second try landed: read back, not resent
    assert credits(demo, alice) == ["10.00"]
    demo.stand_in.faults.clear()
    t.clock.advance(minutes=5)
    assert resume_stale_redemptions(t.db, admin=t.shopify, queue=t.queue, clock=t.clock) == 0 and credits(demo,
                                    alice) == ["10.00"]


def test_store_credit_left_unknown_is_settled_by_the_resume_with_one_credit(t, installed, demo, alice, ten_credit):
    from app.services.redemptions import resume_stale_redemptions
    demo.stand_in.lose_answer("storeCreditAccountCredit", applied=False)
    demo.stand_in.lose_answer("storeCreditAccountCredit", applied=False)
    code, body = redeem(demo, alice, ten_credit)
    assert code == 202 and body == {"status": "pending", "redemption_id": redemption_rows(t)[0].id}
    assert credits(demo, alice) == [] and balance(t, installed, alice).balance == 0  # held, not given back
    t.clock.advance(minutes=5)
    assert resume_stale_redemptions(t.db, admin=t.shopify, queue=t.queue, clock=t.clock) == 1
    [stored] = redemption_rows(t)
    assert stored.status == "issued" and credits(demo, alice) == ["10.00"]
    assert balance(t, installed, alice).balance == 0


def test_a_free_product_stays_free_after_its_price_went_up(t, installed, demo, alice):
    socks = add_reward(t, installed, name="Free socks", kind="free_product", points_cost=900,
                       variant_id=SOCKS.variant_id)
    demo.change_price(SOCKS, Decimal("26.00"))  # the catalog said 22.00 when the reward was set up
    code, body = redeem(demo, alice, socks)
    assert code == 200 and body["value"] == "26.00" and body["variant_id"] == SOCKS.variant_id
    order = demo.checkout(alice, [(SOCKS, 2, None), (product("merino-beanie"), 1, None)], code=body["code"]).record
    lines = {li["variant_id"]: li for li in order["lines"]}
    assert lines[SOCKS.variant_id]["price"] == "26.00"
    assert order["discount"]["amount"] == "26.00"  # one pair free, not both, not the beanie
    assert lines[product("merino-beanie").variant_id]["discount"] == "0.00"


def test_a_free_product_whose_variant_is_gone_is_refused_without_spending_points(t, installed, demo, alice):
    gone = add_reward(t, installed, name="Free ghost", kind="free_product", points_cost=100, variant_id=123)
    code, body = redeem(demo, alice, gone)
    assert code == 409 and "not available" in body["error"]["message"]
    assert redemption_rows(t) == [] and balance(t, installed, alice).balance == 1000


def test_shopify_refuses_a_free_shipping_code_that_combines_with_shipping_discounts(t, installed, demo):
    terms = TERMS.__class__(**{**TERMS.__dict__, "kind": "free_shipping"})
    request = discount_request(terms, code="SHIP-TWICE", title="x", customer_id=None, now=t.clock())
    with t.db.scope() as session, pytest.raises(ShopifyUserErrors) as refused:
        call_admin(t.shopify, session, installed, request.document, request.variables)
    assert refused.value.codes == {"INVALID_COMBINES_WITH_FOR_DISCOUNT_CLASS"}


def test_a_free_shipping_reward_never_asks_to_combine_with_shipping_discounts(t, installed, demo, alice):
    shipping = add_reward(t, installed, name="Free shipping", kind="free_shipping", points_cost=300,
                          combines_with_shipping=True, combines_with_order=True)
    code, body = redeem(demo, alice, shipping)
    assert code == 200, body
    [discount] = demo.snapshot()["discounts"].values()
    assert discount["combines_with"] == {"orderDiscounts": True, "productDiscounts": False,
                                         "shippingDiscounts": False}
    _, program = demo.proxy("GET", "program", alice)
    text = next(r for r in program["rewards"] if r["id"] == shipping)["combination_text"]
    assert text == ("Can be combined with order discounts that allow it too; not with other shipping discounts. "
                    "Only one shipping discount applies per order.")


def test_store_credit_shopify_then_refuses_gives_the_points_back_with_no_credit(t, installed, demo, alice,
                                                                                ten_credit):
    from app.services.redemptions import resume_stale_redemptions
    demo.stand_in.lose_answer("storeCreditAccountCredit", applied=False)
    demo.stand_in.lose_answer("storeCreditAccountCredit", applied=False)
    assert redeem(demo, alice, ten_credit)[0] == 202
    demo.delete_customer(alice)
    demo.run_jobs()
    t.clock.advance(minutes=5)
    resume_stale_redemptions(t.db, admin=t.shopify, queue=t.queue, clock=t.clock)
    [stored] = redemption_rows(t)
    assert stored.status == "failed" and "points are back" in stored.failure_reason
    assert credits(demo, alice) == [] and balance(t, installed, alice).balance == 1000
