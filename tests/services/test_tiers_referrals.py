"""VIP tiers and referrals through real order deliveries."""
import pytest
from sqlalchemy import select

from app.models import Referral
from app.services.tier_benefits import grant_tier_benefits
from tests.support import CUSTOMER_ID, ORDER_ID, payload
from tests.support.ledger import balance, deliver, entries, ledger, member_of, set_program

pytestmark = pytest.mark.both_backends

TIERS = {"enabled": True, "metric": "amount_spent", "period": "calendar_year",
         "levels": [{"key": "member", "name": "Member", "threshold": 0},
                    {"key": "silver", "name": "Silver", "threshold": 100, "multiplier": "1.5", "entry_points": 200},
                    {"key": "gold", "name": "Gold", "threshold": 300, "multiplier": "2"}]}


def order(n: int, customer_id: int = CUSTOMER_ID, **changes) -> dict:
    body = payload("orders/paid")
    body["customer"] = dict(body["customer"], id=customer_id, email=f"c{customer_id}@example.com")
    body.update(id=ORDER_ID + n, name=f"#{2000 + n}", **changes)
    return body


def test_crossing_a_threshold_upgrades_at_once_with_entry_bonus_and_multiplier(client, t, shop):
    set_program(t, shop, {"tiers": TIERS})
    deliver(client, t, "orders/paid", order(1))
    assert member_of(t, shop).tier_key == "silver"  # 110.00 spent >= 100
    earned = entries(t, shop)
    assert [e.points for e in earned] == [110, 200]  # the order earned before the upgrade
    deliver(client, t, "orders/paid", order(2))
    assert entries(t, shop)[-1].points == 165 and "Silver x1.5" in entries(t, shop)[-1].reason


def test_refund_does_not_downgrade_mid_period(client, t, shop):
    set_program(t, shop, {"tiers": TIERS})
    deliver(client, t, "orders/paid", order(1))
    deliver(client, t, "orders/cancelled", dict(order(1), **{k: payload("orders/cancelled")[k] for k in (
        "cancelled_at", "cancel_reason", "financial_status", "refunds")}))
    member = member_of(t, shop)
    assert member.tier_key == "silver" and balance(t, shop).balance == 200


def test_tier_drops_when_its_period_ends(client, t, shop):
    from app.services.maintenance import maintain_members
    set_program(t, shop, {"tiers": TIERS})
    deliver(client, t, "orders/paid", order(1))
    t.clock.set(member_of(t, shop).tier_retained_until)  # 2026-01-01: the new year starts with nothing spent
    with t.db.scope() as session:
        from app.models import Shop
        report = maintain_members(session, session.get(Shop, shop.id), now=t.clock())
    assert report.tier_changes == 1 and member_of(t, shop).tier_key == "member"


def test_referrer_earns_when_the_referees_first_paid_order_carries_the_code(client, t, shop):
    set_program(t, shop, {"referrals": {"enabled": True, "referrer_points": 500, "min_order_subtotal": "50"}})
    deliver(client, t, "orders/paid", order(1, customer_id=111))
    code = member_of(t, shop, 111).referral_code
    referred = order(2, customer_id=222)
    referred["note_attributes"] = [{"name": "tessera_ref", "value": code}]
    deliver(client, t, "orders/paid", referred)
    assert ledger(t, shop, 111)[-1][1] == 500
    assert "Referred" in entries(t, shop, 111)[-1].reason
    second = order(3, customer_id=222)
    second["note_attributes"] = referred["note_attributes"]
    deliver(client, t, "orders/paid", second)
    assert balance(t, shop, 111).balance == 110 + 500  # once per referee


def test_self_referral_is_blocked_with_its_reason(client, t, shop):
    set_program(t, shop, {"referrals": {"enabled": True}})
    deliver(client, t, "orders/paid", order(1, customer_id=111))
    code = member_of(t, shop, 111).referral_code
    sneaky = order(2, customer_id=333)
    sneaky["customer"]["email"] = "c111@example.com"
    sneaky["note_attributes"] = [{"name": "tessera_ref", "value": code}]
    deliver(client, t, "orders/paid", sneaky)
    assert balance(t, shop, 111).balance == 110
    with t.db.scope(read_only=True) as session:
        referral = session.scalar(select(Referral).where(Referral.shop_id == shop.id))
    assert referral.status == "blocked" and "same email" in referral.block_reason


def test_referral_below_minimum_or_over_cap_is_blocked(client, t, shop):
    set_program(t, shop, {"referrals": {"enabled": True, "min_order_subtotal": "500", "max_per_referrer": 1}})
    deliver(client, t, "orders/paid", order(1, customer_id=111))
    code = member_of(t, shop, 111).referral_code
    small = order(2, customer_id=444)
    small["note_attributes"] = [{"name": "tessera_ref", "value": code}]
    deliver(client, t, "orders/paid", small)
    with t.db.scope(read_only=True) as session:
        referral = session.scalar(select(Referral).where(Referral.referee_customer_id == 444))
    assert referral.status == "blocked" and "minimum" in referral.block_reason


def test_cancelling_the_referees_qualifying_order_takes_the_referrers_reward_back(client, t, shop):
    set_program(t, shop, {"referrals": {"enabled": True, "referrer_points": 500}})
    deliver(client, t, "orders/paid", order(1, customer_id=111))
    code = member_of(t, shop, 111).referral_code
    referred = order(2, customer_id=222)
    referred["note_attributes"] = [{"name": "tessera_ref", "value": code}]
    deliver(client, t, "orders/paid", referred)
    assert balance(t, shop, 111).balance == 610
    cancelled = dict(referred, cancelled_at="2025-02-20T11:02:30-05:00", financial_status="refunded", refunds=[])
    deliver(client, t, "orders/cancelled", cancelled)
    assert balance(t, shop, 111).balance == 110 and ledger(t, shop, 111)[-1][1] == -500
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(Referral.status)) == "reversed"


def test_gold_free_shipping_perk_is_a_reusable_code_for_the_tier_period(client, t, shop):
    import responses as responses_lib
    from tests.support.shopify_stub import AdminStub
    tiers = {**TIERS, "levels": [{"key": "member", "name": "Member", "threshold": 0},
                                 {"key": "gold", "name": "Gold", "threshold": 100, "free_shipping": True}]}
    set_program(t, shop, {"tiers": tiers})
    deliver(client, t, "orders/paid", order(1))
    with responses_lib.RequestsMock() as rsps:
        stub = AdminStub(rsps)
        assert grant_tier_benefits(t.db, admin=t.shopify, queue=t.queue, clock=t.clock) == 1
        assert grant_tier_benefits(t.db, admin=t.shopify, queue=t.queue, clock=t.clock) == 0  # once
    [mutation] = stub.mutations
    perk = mutation["variables"]["freeShippingCodeDiscount"]
    assert perk["code"].startswith("SHIP-") and perk["usageLimit"] is None and perk["appliesOncePerCustomer"] is False
    assert perk["context"] == {"customers": {"add": [f"gid://shopify/Customer/{CUSTOMER_ID}"]}}
    assert perk["endsAt"].startswith("2026-01-01")  # calendar-year tier: until the year ends


def test_points_from_actions_and_referrals_lift_the_tier_too(client, t, shop):
    set_program(t, shop, {"tiers": {"enabled": True, "levels": [
        {"key": "bronze", "name": "Bronze", "threshold": 0},
        {"key": "silver", "name": "Silver", "threshold": 500, "multiplier": "2"}]},
        "referrals": {"enabled": True, "referrer_points": 500}})
    deliver(client, t, "orders/paid", order(1, customer_id=111))
    assert member_of(t, shop, 111).tier_key == "bronze"
    referred = order(2, customer_id=222)
    referred["note_attributes"] = [{"name": "tessera_ref", "value": member_of(t, shop, 111).referral_code}]
    deliver(client, t, "orders/paid", referred)
    assert member_of(t, shop, 111).tier_key == "silver"
    deliver(client, t, "orders/paid", order(3, customer_id=111))
    assert entries(t, shop, 111)[-1].points == 220 and "Silver x2" in entries(t, shop, 111)[-1].reason
