"""Paid membership bought as a product variant: from real-shaped order webhooks to the member's
perks (points multiplier, members-only rewards, a monthly free-shipping code)."""
import copy
import uuid
import pytest
from sqlalchemy import select

from app.loyalty.errors import InvalidInput
from app.loyalty.program import parse_program
from app.models import LedgerEntry, PaidMembership, Redemption, Shop
from app.services.membership_perks import grant_membership_shipping
from tests.support import ORDER_ID, payload, signed_proxy_query, utc
from tests.support.ledger import adjust, deliver, set_program

pytestmark = pytest.mark.both_backends
CLUB_VARIANT = 45000000000001
CLUB = {"enabled": True, "name": "VIP Club", "variant_id": f"gid://shopify/ProductVariant/{CLUB_VARIANT}",
        "months": 12, "points_multiplier": "2", "monthly_free_shipping": True}


@pytest.fixture
def club(t, shop):
    set_program(t, shop, {"membership": CLUB})


def club_order(order_id=ORDER_ID, quantity=1, name="#1042", **changes) -> dict:
    """The documented orders/paid payload with a "VIP Club, 12 months" line added."""
    body = payload("orders/paid")
    line = copy.deepcopy(body["line_items"][0])
    line.update({"id": 14703316999001, "admin_graphql_api_id": "gid://shopify/LineItem/14703316999001",
                 "variant_id": CLUB_VARIANT, "product_id": 8123456799999, "title": "VIP Club",
                 "name": "VIP Club - 12 months", "price": "49.00", "quantity": quantity,
                 "current_quantity": quantity, "discount_allocations": [], "tax_lines": []})
    line["price_set"] = {"shop_money": {"amount": "49.00", "currency_code": "CAD"},
                         "presentment_money": {"amount": "36.26", "currency_code": "USD"}}
    body["line_items"].append(line)
    body.update({"id": order_id, "name": name, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", **changes})
    return body


def ends_at(t, shop):
    with t.db.scope(read_only=True) as session:
        return session.scalar(select(PaidMembership.ends_at).where(PaidMembership.shop_id == shop.id))


def test_a_paid_order_with_the_membership_variant_makes_the_buyer_a_member_for_its_months(client, t, shop, club,
                                                                                          clock):
    deliver(client, t, "orders/paid", club_order())
    assert ends_at(t, shop) == clock().replace(year=clock().year + 1)
    state = client.get(f"/proxy/member?{signed_proxy_query()}").json
    assert state["membership"]["active"] and state["membership"]["name"] == "VIP Club"


def test_a_renewal_order_stacks_from_the_current_end_and_a_redelivery_stacks_nothing(client, t, shop, club, clock):
    deliver(client, t, "orders/paid", club_order())
    clock.advance(days=300)
    renewal = club_order(order_id=ORDER_ID + 1, name="#1043")
    deliver(client, t, "orders/paid", renewal)  # a subscription's renewal arrives as an orders/paid
    deliver(client, t, "orders/paid", renewal, webhook_id="retried-delivery")
    assert ends_at(t, shop) == utc(2027, 2, 14, 15, 0)  # 12 months from the first end, not from today


def test_two_units_buy_twice_the_months(client, t, shop, club, clock):
    deliver(client, t, "orders/paid", club_order(quantity=2))
    assert ends_at(t, shop) == clock().replace(year=clock().year + 2)


def test_cancelling_the_order_ends_the_membership(client, t, shop, club, clock):
    deliver(client, t, "orders/paid", club_order())
    cancelled = club_order(cancelled_at="2025-02-15T10:00:00-05:00", financial_status="refunded",
                           updated_at="2025-02-15T10:00:05-05:00")
    deliver(client, t, "orders/cancelled", cancelled)
    assert ends_at(t, shop) <= clock()
    assert client.get(f"/proxy/member?{signed_proxy_query()}").json["membership"]["active"] is False


def test_refunding_one_of_two_units_shortens_it_by_the_refunded_months(client, t, shop, club, clock):
    deliver(client, t, "orders/paid", club_order(quantity=2))
    updated = club_order(quantity=2, financial_status="partially_refunded", updated_at="2025-02-16T10:00:05-05:00")
    updated["refunds"] = [{"id": 978123400001, "order_id": ORDER_ID, "created_at": "2025-02-16T10:00:00-05:00",
                           "processed_at": "2025-02-16T10:00:00-05:00", "order_adjustments": [],
                           "refund_shipping_lines": [], "transactions": [],
                           "refund_line_items": [{"id": 567812349999, "line_item_id": 14703316999001,
                                                  "quantity": 1, "subtotal": 49.0, "total_tax": 0.0,
                                                  "subtotal_set": {"shop_money": {"amount": "49.00",
                                                                                  "currency_code": "CAD"}},
                                                  "total_tax_set": {"shop_money": {"amount": "0.00",
                                                                                   "currency_code": "CAD"}}}]}]
    deliver(client, t, "orders/updated", updated)
    assert ends_at(t, shop) == clock().replace(year=clock().year + 1)
    deliver(client, t, "orders/updated", updated, webhook_id="again")
    assert ends_at(t, shop) == clock().replace(year=clock().year + 1)


def test_members_earn_with_the_membership_multiplier_on_later_orders(client, t, shop, club):
    deliver(client, t, "orders/paid", club_order())
    plain = payload("orders/paid")
    plain.update({"id": ORDER_ID + 7, "name": "#1050"})
    deliver(client, t, "orders/paid", plain)
    with t.db.scope(read_only=True) as session:
        earn = session.scalar(select(LedgerEntry).where(LedgerEntry.entry_key == f"order:{ORDER_ID + 7}:earn"))
    assert earn.points == 220 and "VIP Club x2" in earn.reason  # 110 base x 2


def members_only_reward(t, shop):
    from app.services.rewards import create_reward
    with t.db.scope() as session:
        reward = create_reward(session, session.get(Shop, shop.id), {"name": "Club gift", "kind": "amount_off",
                                                                      "points_cost": 100, "value": "10"})
        reward.members_only = True
        session.commit()
        return reward.id


def redeem(client, reward_id):
    return client.post(f"/proxy/redeem?{signed_proxy_query()}",
                       json={"reward_id": reward_id, "idempotency_key": uuid.uuid4().hex})


def test_a_members_only_reward_is_hidden_and_refused_to_non_members(client, t, shop, stub, club):
    reward_id = members_only_reward(t, shop)
    adjust(t, shop, 500)
    state = client.get(f"/proxy/member?{signed_proxy_query()}").json
    assert reward_id not in [r["id"] for r in state["rewards"]]
    assert reward_id not in [r["id"] for r in client.get(f"/proxy/program?{signed_proxy_query()}").json["rewards"]]
    refused = redeem(client, reward_id)
    assert refused.status_code == 409 and "members of the paid membership only" in refused.json["error"]["message"]
    deliver(client, t, "orders/paid", club_order())
    assert reward_id in [r["id"] for r in client.get(f"/proxy/member?{signed_proxy_query()}").json["rewards"]]
    assert redeem(client, reward_id).status_code == 200


def test_paying_members_get_one_free_shipping_code_a_month(client, t, shop, stub, club, clock):
    deliver(client, t, "orders/paid", club_order())
    assert grant_membership_shipping(t.db, admin=t.shopify, queue=t.queue, clock=t.clock) == 1
    assert grant_membership_shipping(t.db, admin=t.shopify, queue=t.queue, clock=t.clock) == 0
    clock.advance(days=31)
    assert grant_membership_shipping(t.db, admin=t.shopify, queue=t.queue, clock=t.clock) == 1
    with t.db.scope(read_only=True) as session:
        codes = session.scalars(select(Redemption).where(Redemption.purpose == "membership_perk")).all()
    assert [c.status for c in codes] == ["issued", "issued"]
    assert all("freeShippingCodeDiscount" in str(m["variables"]) for m in stub.mutations)


def test_enabling_the_membership_without_a_variant_is_refused_with_the_field_named():
    with pytest.raises(InvalidInput) as refused:
        parse_program({"membership": {"enabled": True}})
    assert "membership" in str(refused.value.fields) and "variant" in str(refused.value.fields)
    with pytest.raises(InvalidInput):
        parse_program({"membership": {"variant_id": "12345"}})


def test_a_refunds_create_delivery_for_the_membership_line_gives_its_months_back(client, t, shop, club, clock):
    deliver(client, t, "orders/paid", club_order(quantity=2))
    refund = payload("refunds/create")
    refund["id"] = 978123400002
    line = refund["refund_line_items"][0]
    line.update({"quantity": 1, "line_item_id": 14703316999001, "subtotal": 49.0, "total_tax": 0.0,
                 "subtotal_set": {"shop_money": {"amount": "49.00", "currency_code": "CAD"},
                                  "presentment_money": {"amount": "36.26", "currency_code": "USD"}},
                 "total_tax_set": {"shop_money": {"amount": "0.00", "currency_code": "CAD"},
                                   "presentment_money": {"amount": "0.00", "currency_code": "USD"}}})
    line["line_item"] = {**line["line_item"], "id": 14703316999001, "variant_id": CLUB_VARIANT, "quantity": 2}
    deliver(client, t, "refunds/create", refund)
    assert ends_at(t, shop) == clock().replace(year=clock().year + 1)
    deliver(client, t, "refunds/create", refund, webhook_id="again")
    assert ends_at(t, shop) == clock().replace(year=clock().year + 1)
