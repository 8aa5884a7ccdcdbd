"""The set-based historical import gives every order exactly the ledger (and the order, refund
and member rows) the order service gives it one order at a time, on SQLite and PostgreSQL, for
a mixed history; importing again, or webhooks about the same orders later, add nothing."""
from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.loyalty.ledger import EntryKind
from app.loyalty.orders import parse_order
from app.models import LedgerEntry, Member, Order, ProgramVersion, Refund, Shop
from app.services.bulk_import import import_order_batch
from app.services.ledger import NewEntry, post_entry
from app.services.members import get_or_create_member
from app.services.orders import apply_order
from app.services.reconcile import order_payload_from_graphql
from tests.fixtures.earn import earn_payload
from tests.support import ORDER_ID, payload
from tests.support.graphql_orders import order_node, refund_node
from tests.support.ledger import deliver, set_program

DEFAULT = {}
RICH = {  # pending period, expiry, first-order bonus, a campaign, the total as base, rounding to nearest
    "earning": {"base": "total", "rounding": "nearest", "pending_days": 14},
    "expiry": {"policy": "after_earning", "months": 12},
    "actions": {"first_order": {"enabled": True, "points": 100}},
    "campaigns": [{"key": "february", "name": "February double", "multiplier": "2",
                   "starts_at": "2025-02-01T00:00:00Z", "ends_at": "2025-03-01T00:00:00Z"}],
}
ON_FULFILMENT = {  # points when fulfilled, shipping counts, rounding up, negative balances allowed
    "earning": {"trigger": "fulfilled", "base": "subtotal_with_shipping", "rounding": "up"},
    "clawback": {"allow_negative_balance": True},
    "actions": {"first_order": {"enabled": True, "points": 25}},
}


def customer(n: int) -> dict:
    base = copy.deepcopy(payload("orders/paid")["customer"])
    base.update(id=7412583020000 + n, email=f"member{n}@example.com", first_name=f"Member{n}", last_name="Past",
                admin_graphql_api_id=f"gid://shopify/Customer/{7412583020000 + n}")
    return base


def rest_order(n: int, who: int | None, *, gift_card: bool = True, base: dict | None = None, **changes) -> dict:
    order = copy.deepcopy(base or payload("orders/paid"))
    order.update(id=ORDER_ID + n, name=f"#{2000 + n}", admin_graphql_api_id=f"gid://shopify/Order/{ORDER_ID + n}",
                 customer=customer(who) if who is not None else None, **changes)
    if not gift_card:
        order["line_items"] = [li for li in order["line_items"] if not li["gift_card"]]
    return order


def rest_refund(order: dict, n: int, *, hoodies: int = 1, shipping: bool = False) -> dict:
    refund = copy.deepcopy(payload("refunds/create"))
    refund.update(id=978123450000 + n, order_id=order["id"])
    item = refund["refund_line_items"][0]
    for field in ("subtotal_set", "total_tax_set"):
        item[field]["shop_money"]["amount"] = str(Decimal(item[field]["shop_money"]["amount"]) * hoodies)
    if shipping:
        shipping_money = {"shop_money": {"amount": "8.00", "currency_code": "CAD"}}
        tax_money = {"shop_money": {"amount": "1.04", "currency_code": "CAD"}}
        refund["refund_shipping_lines"] = [{"subtotal_amount_set": shipping_money, "tax_amount_set": tax_money}]
    return refund


def earn_refund(name: str, order: dict, n: int) -> dict:
    """A refund fixture (amount-only, partial price) moved onto one of the history's orders."""
    refund = earn_payload(name)
    refund.update(id=978123450000 + n, order_id=order["id"])
    for adjustment in refund["order_adjustments"]:
        adjustment.update(order_id=order["id"], refund_id=refund["id"])
    return refund


def in_yen(value):
    """The same order in another currency: CAD amounts x100 as whole yen."""
    if isinstance(value, dict):
        if value.get("currency_code") == "CAD" and "amount" in value:
            return {**value, "amount": str(int(Decimal(value["amount"]) * 100)), "currency_code": "JPY"}
        return {k: in_yen(v) for k, v in value.items()}
    if isinstance(value, list):
        return [in_yen(v) for v in value]
    return value


def history() -> list[tuple[dict, list[dict]]]:
    """(REST order, its refunds), in the order the import reads them."""
    partly = rest_order(2, 1, financial_status="partially_refunded")
    full = rest_order(4, 2, financial_status="refunded", cancelled_at=None)
    cancelled = rest_order(3, 2, financial_status="refunded", cancelled_at="2025-02-20T11:02:30-05:00")
    yen = in_yen(rest_order(7, 4, processed_at="2025-01-10T10:00:00+09:00", gift_card=False))
    yen["currency"] = "JPY"
    short = rest_order(11, 6, financial_status="partially_refunded", fulfillment_status="fulfilled")
    included = rest_order(13, 7, base=earn_payload("orders_paid_taxes_included"), financial_status="partially_refunded",
                          fulfillment_status="fulfilled")
    damaged = rest_order(14, 7, base=earn_payload("orders_paid_taxes_included"), financial_status="partially_refunded",
                         fulfillment_status="fulfilled")
    edited = rest_order(15, 3, base=earn_payload("orders_updated_edit_removed_hoodie"))
    return [
        (rest_order(1, 1, fulfillment_status="fulfilled"), []),  # paid, with a gift-card line
        (partly, [rest_refund(partly, 2)]),  # one hoodie of two refunded
        (cancelled, [rest_refund(cancelled, 3, hoodies=2, shipping=True)]),  # cancelled and refunded
        (full, [rest_refund(full, 4, hoodies=1), rest_refund(full, 5, hoodies=1, shipping=True)]),  # in two refunds
        (rest_order(5, 3, test=True), []),  # a test order
        (rest_order(6, None), []),  # a guest checkout
        (yen, []),  # another currency, a month earlier (outside the campaign)
        (rest_order(8, 4, financial_status="pending"), []),  # not paid (yet)
        (rest_order(9, 1, gift_card=False, fulfillment_status="fulfilled",
                    cancelled_at="2025-02-15T10:00:00-05:00"), []),  # cancelled, nothing refunded
        (rest_order(10, 5), []),  # a blocked member
        (short, [rest_refund(short, 11)]),  # a member already below zero: the take-back falls short
        (rest_order(12, 1, gift_card=False, buyer_accepts_marketing=False), []),  # a repeat order
        (included, [earn_refund("refund_amount_only", included, 13)]),  # prices with tax, money back without items
        (damaged, [earn_refund("refund_partial_price", damaged, 14)]),  # an item refunded for less than its price
        (edited, []),  # an order edit removed one hoodie
    ]


def facts_of(order: dict, refunds: list[dict]):
    """The order as the bulk file and reconciliation read it: GraphQL, then the webhook shape."""
    node = order_node(order)
    shaped = [refund_node(r, order.get("taxes_included", False)) for r in refunds]
    return parse_order(order_payload_from_graphql(node, node["lineItems"]["nodes"], shaped))


def prepare(t, shop, settings):
    """The shop's program, a blocked member, and a member whose balance is already negative."""
    set_program(t, shop, settings)
    with t.db.scope() as session:
        shop_row = session.get(Shop, shop.id)
        blocked = get_or_create_member(session, shop_row, customer(5)["id"], now=t.clock())
        blocked.blocked_at, blocked.block_reason = t.clock(), "fraud"
        below = get_or_create_member(session, shop_row, customer(6)["id"], now=t.clock())
        post_entry(session, below, NewEntry(key=f"member:{below.id}:test:spent", kind=EntryKind.REDEEM, points=-100,
                                            cause_type="test", reason="spent before"), now=t.clock())
        session.commit()


def apply_one_by_one(t, shop, facts) -> None:
    with t.db.scope() as session:
        shop_row = session.get(Shop, shop.id)
        for f in facts:
            apply_order(session, shop_row, f, now=t.clock())
            session.commit()


def import_in_batches(t, shop, facts, *, earn_points=True, size=4):
    reports = []
    with t.db.scope() as session:
        shop_row = session.get(Shop, shop.id)
        for start in range(0, len(facts), size):
            reports.append(import_order_batch(session, shop_row, facts[start:start + size], earn_points=earn_points,
                                              now=t.clock()))
            session.commit()
    return reports


def snapshot(t, shop) -> dict:
    """Everything the import writes, with each shop's own ids replaced by what they stand for."""
    with t.db.scope(read_only=True) as session:
        customers = dict(session.execute(select(Member.id, Member.customer_id).where(Member.shop_id == shop.id)).all())

        def key(entry_key: str | None) -> str | None:
            for member_id, customer_id in customers.items():
                entry_key = (entry_key or "").replace(f"member:{member_id}:", f"member:c{customer_id}:")
            return entry_key or None

        reversed_entry = aliased(LedgerEntry)
        ledger = sorted((key(e.entry_key), customers[e.member_id], e.kind, e.points, e.cause_type, e.cause_id, e.reason,
                         version, e.order_id, key(reversed_key), e.staff_user_id, e.shortfall_points, e.vests_at,
                         e.expires_at, e.details, e.created_at)
                        for e, version, reversed_key in session.execute(
                            select(LedgerEntry, ProgramVersion.version, reversed_entry.entry_key)
                            .outerjoin(ProgramVersion, ProgramVersion.id == LedgerEntry.program_version_id)
                            .outerjoin(reversed_entry, reversed_entry.id == LedgerEntry.reverses_entry_id)
                            .where(LedgerEntry.shop_id == shop.id)))
        orders = sorted(tuple(getattr(o, c.key) for c in Order.__table__.columns
                              if c.key not in ("id", "shop_id", "member_id", "updated_at"))
                        + (customers.get(o.member_id),) for o in session.scalars(
                            select(Order).where(Order.shop_id == shop.id)))
        refunds = sorted(tuple(getattr(r, c.key) for c in Refund.__table__.columns if c.key not in ("id", "shop_id"))
                         for r in session.scalars(select(Refund).where(Refund.shop_id == shop.id)))
        members = sorted((m.customer_id, m.email, m.first_name, m.last_name, m.accepts_marketing, m.last_activity_at,
                          m.tier_key, m.blocked_at) for m in session.scalars(
                              select(Member).where(Member.shop_id == shop.id)))
    return {"ledger": ledger, "orders": orders, "refunds": refunds, "members": members}


@pytest.mark.both_backends
@pytest.mark.parametrize("settings", [DEFAULT, RICH, ON_FULFILMENT], ids=["default", "rich", "on_fulfilment"])
def test_imported_history_has_exactly_the_ledger_the_order_service_gives(t, shop, other_shop, settings):
    facts = [facts_of(order, refunds) for order, refunds in history()]
    for target in (shop, other_shop):
        prepare(t, target, settings)
    apply_one_by_one(t, other_shop, facts)
    reports = import_in_batches(t, shop, facts)
    imported, reference = snapshot(t, shop), snapshot(t, other_shop)
    assert imported == reference
    assert sum(r.imported for r in reports) == len(facts) and not any(r.updated for r in reports)
    # The sample covers what it claims to: earns, refund take-backs, reversals, a shortfall.
    kinds = {(row[2], row[4]) for row in imported["ledger"]}
    assert {("earn", "order"), ("clawback", "refund")} <= kinds
    taken = {row[0] for row in imported["ledger"] if row[3] < 0}  # amount-only and partial-price refunds take back
    assert {"refund:978123450013:clawback", "refund:978123450014:clawback"} <= taken
    assert any(row[11] for row in imported["ledger"]) or settings is not DEFAULT


@pytest.mark.both_backends
def test_importing_again_and_later_webhooks_add_nothing(client, t, shop):
    sample = history()
    facts = [facts_of(order, refunds) for order, refunds in sample]
    prepare(t, shop, DEFAULT)
    import_in_batches(t, shop, facts)
    before = snapshot(t, shop)
    again = import_in_batches(t, shop, facts, size=100)[0]
    assert (again.unchanged, again.imported, again.updated, again.entries) == (len(facts), 0, 0, 0)
    for order, refunds in sample:
        deliver(client, t, "orders/updated", order)
        for refund in refunds:
            deliver(client, t, "refunds/create", refund)
    assert snapshot(t, shop)["ledger"] == before["ledger"]


@pytest.mark.both_backends
def test_history_without_points_settles_orders_with_zero_point_entries(client, t, shop):
    sample = history()
    prepare(t, shop, DEFAULT)
    report = import_in_batches(t, shop, [facts_of(order, refunds) for order, refunds in sample], earn_points=False)
    ledger = snapshot(t, shop)["ledger"]
    history_entries = [row for row in ledger if row[2] == "import"]
    # every paid, non-test order of a member: 1, 2, 3, 4, 7, 9, 10 (blocked too), 11, 12, 13, 14, 15
    assert len(history_entries) == 12 and {row[3] for row in history_entries} == {0}
    assert history_entries[0][6].startswith("Order #2001 of 2025-02-14: imported from the store's order history")
    assert sum(r.points for r in report) == 0
    with t.db.scope(read_only=True) as session:  # tiers and analytics still see the refunds
        refunded = session.scalar(select(Order.refunded_base_minor).where(Order.order_id == ORDER_ID + 2))
    assert refunded == 5500
    # A refund or a cancellation arriving now takes nothing back from points never given.
    order, refunds = sample[1]
    deliver(client, t, "orders/cancelled", {**order, "cancelled_at": "2025-02-21T10:00:00-05:00",
                                            "updated_at": "2025-02-21T10:00:00-05:00"})
    deliver(client, t, "refunds/create", rest_refund(order, 99))
    assert [row for row in snapshot(t, shop)["ledger"] if row[2] != "import"] == \
        [row for row in ledger if row[2] != "import"]


def test_an_order_using_a_tessera_reward_code_goes_through_the_order_service(t, shop):
    from app.models import Redemption
    order = rest_order(1, 1, discount_codes=[{"code": "5OFF-K7QX2M4PZH", "amount": "5.00", "type": "fixed_amount"}])
    with t.db.scope() as session:
        shop_row = session.get(Shop, shop.id)
        member = get_or_create_member(session, shop_row, customer(1)["id"], now=t.clock())
        session.add(Redemption(shop_id=shop.id, member_id=member.id, idempotency_key="k", status="issued",
                               points_spent=500, kind="amount_off", code="5OFF-K7QX2M4PZH"))
        session.commit()
    report = import_in_batches(t, shop, [facts_of(order, [])])[0]
    assert (report.imported, report.updated) == (0, 1)
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(Redemption.status)) == "used"


def test_imported_history_raises_no_member_events(t, shop):
    """Members are not told about orders of past years, nor are the owner's webhooks called."""
    from app.models import MemberEventRecord
    facts = [facts_of(order, refunds) for order, refunds in history()]
    set_program(t, shop, DEFAULT)
    import_in_batches(t, shop, facts)
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(MemberEventRecord)) == 0
