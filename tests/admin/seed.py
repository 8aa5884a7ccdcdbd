"""A small shop history with known figures, delivered through the real webhook endpoint.

Clock: 2025-02-14 15:00 UTC (the `clock` fixture). Program: defaults (1 point per $1, 100 for
an enabled account, 500 points = $5 off). Hand-computed figures are in tests/admin/test_analytics.py.

  A 1001 enabled  joined Dec 1   orders Dec 10 $100, Jan 5 $50, Feb 3 $30 (refund $10 Feb 10)
                                 staff +15 Jan 20, -20 Feb 11
  B 1002 enabled  joined Dec 15  order Dec 20 $450, redeems 500 points Feb 8, test order Feb 6 $500
  C 1003 disabled joined Jan 10  orders Jan 15 $40, Jan 25 $60, Feb 5 $70 cancelled unpaid
  D 1004 enabled  joined Feb 2   starting balance 1000 imported Feb 12
  guest checkout Feb 1 $80
"""
from __future__ import annotations

from datetime import datetime

from app.models import Referral, Shop
from app.services.adjustments import adjust_points
from app.services.balance_import import import_starting_balances
from app.services.members import find_member
from tests.support import payload, utc
from tests.support.ledger import deliver

A, B, C, D = 1001, 1002, 1003, 1004
PEOPLE = {A: ("Avery", "Quinn", "enabled"), B: ("Blake", "Rivera", "enabled"), C: ("Casey", "Stone", "disabled"),
          D: ("Devon", "Tran", "enabled")}


def money(amount: str) -> dict:
    return {"shop_money": {"amount": amount, "currency_code": "USD"},
            "presentment_money": {"amount": amount, "currency_code": "USD"}}


def customer_payload(customer_id: int, at: datetime) -> dict:
    first, last, state = PEOPLE[customer_id]
    body = payload("customers/create")
    body.update(id=customer_id, email=f"{first.lower()}@example.com", first_name=first, last_name=last, state=state,
                created_at=at.isoformat(), updated_at=at.isoformat(),
                admin_graphql_api_id=f"gid://shopify/Customer/{customer_id}", default_address=None, addresses=[])
    return body


def order_payload(order_id: int, customer_id: int | None, amount: str, at: datetime, *, test: bool = False,
                  cancelled: bool = False) -> dict:
    body = payload("orders/paid")
    line = {**body["line_items"][0], "quantity": 1, "price": amount, "price_set": money(amount),
            "discount_allocations": [], "tax_lines": []}
    body.update(id=order_id, name=f"#{order_id}", admin_graphql_api_id=f"gid://shopify/Order/{order_id}",
                processed_at=at.isoformat(), created_at=at.isoformat(), updated_at=at.isoformat(), currency="USD",
                test=test, total_price_set=money(amount), subtotal_price_set=money(amount),
                total_tax_set=money("0.00"), shipping_lines=[], discount_codes=[], note_attributes=[], refunds=[],
                line_items=[line], financial_status="voided" if cancelled else "paid",
                cancelled_at=at.isoformat() if cancelled else None, landing_site="/")
    if customer_id is None:
        body["customer"] = None
    else:
        first, last, _ = PEOPLE[customer_id]
        body["customer"] = {**body["customer"], "id": customer_id, "email": f"{first.lower()}@example.com",
                            "first_name": first, "last_name": last, "default_address": None}
    return body


def refund_payload(refund_id: int, order_id: int, amount: str, at: datetime) -> dict:
    return {"id": refund_id, "order_id": order_id, "created_at": at.isoformat(), "processed_at": at.isoformat(),
            "refund_line_items": [{"line_item": {"gift_card": False}, "subtotal_set": money(amount),
                                   "total_tax_set": money("0.00")}], "refund_shipping_lines": []}


def _staff_adjust(t, shop, customer_id: int, points: int, reason: str) -> None:
    with t.db.scope() as session:
        shop_row = session.get(Shop, shop.id)
        adjust_points(session, shop_row, find_member(session, shop_row, customer_id), points, reason,
                      staff_user_id="84512345678", now=t.clock())


def _redeem(t, shop, customer_id: int) -> None:
    import responses

    from app.services.redemptions import redeem_reward
    from app.services.rewards import catalog
    from tests.support.shopify_stub import AdminStub
    with t.db.scope(read_only=True) as session:
        reward_id = catalog(session, session.get(Shop, shop.id))[0].id
    with responses.RequestsMock() as rsps:
        AdminStub(rsps)
        redeem_reward(t.db, shop.id, customer_id, reward_id, "seed-redemption", admin=t.shopify, queue=t.queue,
                      clock=t.clock, deadline_seconds=t.redeem_deadline_seconds)


def _referrals(t, shop) -> None:
    with t.db.scope() as session:
        referrer = find_member(session, shop.id, A)
        for status in ("visited", "signed_up", "completed", "blocked"):
            session.add(Referral(shop_id=shop.id, referrer_member_id=referrer.id, status=status, source="link",
                                 created_at=utc(2025, 2, 9), updated_at=utc(2025, 2, 9)))
        session.commit()


def seed_shop(client, t, shop, clock) -> None:
    final = clock.now
    events = [
        (utc(2024, 12, 1, 10), "customers/create", customer_payload(A, utc(2024, 12, 1, 10))),
        (utc(2024, 12, 10, 10), "orders/paid", order_payload(9001, A, "100.00", utc(2024, 12, 10, 10))),
        (utc(2024, 12, 15, 10), "customers/create", customer_payload(B, utc(2024, 12, 15, 10))),
        (utc(2024, 12, 20, 10), "orders/paid", order_payload(9002, B, "450.00", utc(2024, 12, 20, 10))),
        (utc(2025, 1, 5, 10), "orders/paid", order_payload(9003, A, "50.00", utc(2025, 1, 5, 10))),
        (utc(2025, 1, 10, 10), "customers/create", customer_payload(C, utc(2025, 1, 10, 10))),
        (utc(2025, 1, 15, 10), "orders/paid", order_payload(9004, C, "40.00", utc(2025, 1, 15, 10))),
        (utc(2025, 1, 25, 10), "orders/paid", order_payload(9005, C, "60.00", utc(2025, 1, 25, 10))),
        (utc(2025, 2, 1, 10), "orders/paid", order_payload(9006, None, "80.00", utc(2025, 2, 1, 10))),
        (utc(2025, 2, 2, 10), "customers/create", customer_payload(D, utc(2025, 2, 2, 10))),
        (utc(2025, 2, 3, 10), "orders/paid", order_payload(9007, A, "30.00", utc(2025, 2, 3, 10))),
        (utc(2025, 2, 5, 10), "orders/cancelled", order_payload(9008, C, "70.00", utc(2025, 2, 5, 10), cancelled=True)),
        (utc(2025, 2, 6, 10), "orders/paid", order_payload(9009, B, "500.00", utc(2025, 2, 6, 10), test=True)),
        (utc(2025, 2, 10, 10), "refunds/create", refund_payload(9701, 9007, "10.00", utc(2025, 2, 10, 10))),
    ]
    for when, topic, body in events:
        clock.set(when)
        deliver(client, t, topic, body)
    clock.set(utc(2025, 1, 20, 10))
    _staff_adjust(t, shop, A, 15, "Apology for a late parcel")
    clock.set(utc(2025, 2, 8, 10))
    _redeem(t, shop, B)
    clock.set(utc(2025, 2, 11, 10))
    _staff_adjust(t, shop, A, -20, "Duplicate points removed")
    clock.set(utc(2025, 2, 12, 10))
    with t.db.scope() as session:
        import_starting_balances(session, session.get(Shop, shop.id), "customer_id,points,note\n1004,1000,Old program\n",
                                 staff_user_id="84512345678", now=t.clock())
    _referrals(t, shop)
    clock.set(final)


def set_tiers(t, shop, tier_by_customer: dict[int, str | None]) -> None:
    """Enable the default tiers and place members (as tier maintenance would)."""
    from tests.support.ledger import set_program
    set_program(t, shop, {"tiers": {"enabled": True}})
    with t.db.scope() as session:
        for customer_id, tier_key in tier_by_customer.items():
            find_member(session, shop.id, customer_id).tier_key = tier_key
        session.commit()
