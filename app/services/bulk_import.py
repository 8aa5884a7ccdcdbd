"""Historical orders, a batch at a time, in set-based SQL.

The webhook path (services/orders.apply_order) spends ~20 statements on one order; a year of a
busy shop's history is a million orders. Here a batch of ~1000 orders costs a handful of
statements: members inserted ignoring conflicts and read back in one SELECT, orders and refunds
inserted the same way, and the ledger entries planned by the same planner the webhook path uses
(loyalty.settlement.plan_order) and inserted with the same idempotency keys.
So an imported order has exactly the entries apply_order would give it, and importing again,
or a webhook about the order arriving later, adds nothing.

What the history import does not do, by design (the webhook path does them for live orders):
- first-order bonuses are paid, but order-streak bonuses, referral rewards and the automatic
  action points (sign-up, newsletter, profile) are not: history is not a campaign;
- the tier used for an order's multiplier is the member's tier when the batch starts (tiers are
  recomputed once, set-based, when the import ends, not after every order).

Orders Tessera already knows (from webhooks or an earlier import), orders whose refunds it
already recorded, and orders using a Tessera reward code are not "history": when they bring
anything new they go through apply_order one by one; when they bring nothing new they are skipped.

With `earn_points` off, a settled order gets a zero-point entry under its earn key instead of
points (see loyalty.settlement.history_reason): the order counts for tiers and analytics, and a
later refund or cancellation webhook finds it settled and takes nothing back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from app.loyalty.orders import OrderFacts, parse_order
from app.loyalty.program import Program
from app.loyalty.settlement import (MemberState, OrderPlan, ProgramInForce, earning_trigger_met,
                                    plan_history_order, plan_order)
from app.models import LedgerEntry, Member, Order, Redemption, Refund, Shop
from app.services.members import new_referral_code
from app.services.ledger import entry_row, spendable_points, write_entries
from app.services.order_settlement import first_order_key
from app.services.orders import apply_order
from app.services.program import current_program
from app.services.reconcile import order_payload_from_graphql
from app.services.set_sql import among, insert_rows  # noqa: F401 (bulk_staging and the bench import them here)
from app.shopify.bulk import BulkOrder

BATCH_ORDERS = 1000


@dataclass
class BatchReport:
    orders: int = 0
    imported: int = 0  # new to Tessera, written set-based
    updated: int = 0  # already known, brought up to date by the order service
    unchanged: int = 0  # already known, nothing new
    entries: int = 0
    points: int = 0


def order_facts(order: BulkOrder) -> OrderFacts:
    """An order from the bulk file, read like the webhook that would have described it."""
    return parse_order(order_payload_from_graphql(order.node, order.line_items, order.refunds))


def import_order_batch(session: Session, shop: Shop, orders: list[OrderFacts], *, earn_points: bool,
                       now: datetime) -> BatchReport:
    """Within the caller's transaction (it commits with the import's progress)."""
    report = BatchReport(orders=len(orders))
    fresh, known = _sort_out(session, shop, orders, report)
    if fresh:
        taken = _import_fresh(session, shop, fresh, earn_points=earn_points, now=now, report=report)
        known += taken
    for facts in known:
        apply_order(session, shop, facts, now=now)
    report.updated += len(known)
    return report


# ---- which orders are history ---------------------------------------------------------------

def _sort_out(session: Session, shop: Shop, orders: list[OrderFacts],
              report: BatchReport) -> tuple[list[OrderFacts], list[OrderFacts]]:
    """(orders new to Tessera, orders for the order service); unchanged known orders are dropped."""
    ids = [f.order_id for f in orders]
    updated_at = dict(session.execute(select(Order.order_id, Order.shopify_updated_at).where(
        Order.shop_id == shop.id, among(session, Order.order_id, ids))).all())
    refunds: dict[int, set[int]] = {}
    for order_id, refund_id in session.execute(select(Refund.order_id, Refund.refund_id).where(
            Refund.shop_id == shop.id, among(session, Refund.order_id, ids))):
        refunds.setdefault(order_id, set()).add(refund_id)
    reward_codes = _reward_codes(session, shop, orders)
    fresh, known, seen = [], [], set()
    for facts in orders:
        if facts.order_id in updated_at and _nothing_new(facts, updated_at[facts.order_id],
                                                          refunds.get(facts.order_id, set())):
            report.unchanged += 1
        elif facts.order_id in updated_at or facts.order_id in refunds or facts.order_id in seen or \
                reward_codes.intersection(facts.discount_codes):
            known.append(facts)
        else:
            fresh.append(facts)
        seen.add(facts.order_id)
    return fresh, known


def _nothing_new(facts: OrderFacts, known_updated_at: datetime | None, known_refunds: set[int]) -> bool:
    return known_updated_at is not None and facts.updated_at is not None and facts.updated_at <= known_updated_at \
        and {r.refund_id for r in facts.refunds} <= known_refunds


def _reward_codes(session: Session, shop: Shop, orders: list[OrderFacts]) -> set[str]:
    """Codes of the batch that are Tessera rewards: the order service marks them used."""
    codes = {code for facts in orders for code in facts.discount_codes}
    if not codes:
        return set()
    return set(session.scalars(select(Redemption.code).where(Redemption.shop_id == shop.id,
                                                             among(session, Redemption.code, codes))))


# ---- new orders, set-based ------------------------------------------------------------------

def _import_fresh(session: Session, shop: Shop, orders: list[OrderFacts], *, earn_points: bool, now: datetime,
                  report: BatchReport) -> list[OrderFacts]:
    """Returns the orders another writer recorded meanwhile (they go to the order service)."""
    version, program = current_program(session, shop)
    members = _upsert_members(session, shop, orders, now)
    inserted = _insert_orders(session, shop, orders, members, now)
    taken = [f for f in orders if f.order_id not in inserted]
    orders = [f for f in orders if f.order_id in inserted]
    _insert_refunds(session, shop, orders, now)
    settled = [f for f in orders if f.customer_id is not None and not f.is_test
               and earning_trigger_met(program, paid=f.paid, fulfilled=f.fulfilled)]
    rules = ProgramInForce(version.id, program)
    plan = _Plan(shop.id, now)
    if earn_points:
        plan.plans = plan_batch(settled, members, _member_states(session, shop, members, settled, rules, now),
                                rules, now)
    else:
        plan.plans = [(members[f.customer_id], plan_history_order(f, members[f.customer_id], rules))
                      for f in settled]
    _write(session, plan, report)
    _record_refunded_bases(session, shop, plan)
    _touch_members(session, plan, now)
    report.imported += len(orders)
    return taken


def _profiles(orders: list[OrderFacts]) -> dict[int, dict[str, Any]]:
    """customer id -> what the orders say about the customer: as apply_order, the first value
    seen for a missing field, and marketing consent once any order gave it."""
    profiles: dict[int, dict[str, Any]] = {}
    for f in orders:
        if f.customer_id is None:
            continue
        profile = profiles.setdefault(f.customer_id, {"email": None, "first_name": None, "last_name": None,
                                                      "accepts_marketing": False})
        profile["email"] = profile["email"] or f.customer_email
        profile["first_name"] = profile["first_name"] or f.customer_first_name
        profile["last_name"] = profile["last_name"] or f.customer_last_name
        profile["accepts_marketing"] = profile["accepts_marketing"] or f.accepts_marketing
    return profiles


_PROFILE = ("email", "first_name", "last_name")


def _upsert_members(session: Session, shop: Shop, orders: list[OrderFacts], now: datetime) -> dict[int, int]:
    """customer id -> member id, creating the members that do not exist yet."""
    profiles = _profiles(orders)
    members: dict[int, int] = {}
    missing = list(profiles)
    for _ in range(5):  # a new member's random referral code can collide: try those again
        existing = _existing_members(session, shop, missing)
        _fill_profiles(session, shop, existing, profiles)
        members.update({customer_id: row.id for customer_id, row in existing.items()})
        missing = [c for c in missing if c not in existing]
        if not missing:
            return members
        members.update(_insert_members(session, shop, missing, profiles, now))
        missing = [c for c in missing if c not in members]
        if not missing:
            return members
    raise RuntimeError(f"could not create members for customers {missing[:5]}")


def _existing_members(session: Session, shop: Shop, customer_ids: list[int]) -> dict[int, Any]:
    if not customer_ids:
        return {}
    rows = session.execute(select(Member.id, Member.customer_id, Member.email, Member.first_name, Member.last_name,
                                  Member.accepts_marketing, Member.redacted_at).where(
        Member.shop_id == shop.id, among(session, Member.customer_id, customer_ids))).all()
    return {row.customer_id: row for row in rows}


def _fill_profiles(session: Session, shop: Shop, existing: dict[int, Any], profiles: dict[int, dict]) -> None:
    """Known members get only what they lack (a redacted member gets nothing back)."""
    changes = []
    for customer_id, row in existing.items():
        wanted = profiles[customer_id]
        if row.redacted_at is not None:
            continue
        values = {name: getattr(row, name) or wanted[name] for name in _PROFILE}
        values["accepts_marketing"] = row.accepts_marketing or wanted["accepts_marketing"]
        if any(values[name] != getattr(row, name) for name in (*_PROFILE, "accepts_marketing")):
            changes.append({"member_id": row.id, **values})
    if changes:
        # Bound names differ from the columns they set (SQLAlchemy reserves those for itself).
        members = Member.__table__
        session.execute(update(members).where(members.c.shop_id == shop.id, members.c.id == bindparam("member_id"))
                        .values({name: bindparam(f"new_{name}") for name in (*_PROFILE, "accepts_marketing")}),
                        [{"member_id": c["member_id"], **{f"new_{k}": v for k, v in c.items() if k != "member_id"}}
                         for c in changes])


def _insert_members(session: Session, shop: Shop, customer_ids: list[int], profiles: dict[int, dict],
                    now: datetime) -> dict[int, int]:
    rows = [{"shop_id": shop.id, "customer_id": c, "referral_code": new_referral_code(), "created_at": now,
             "updated_at": now, **profiles[c]} for c in customer_ids]
    return dict(insert_rows(session, Member.__table__, rows, conflict=None, returning=("customer_id", "id")))


def _order_row(shop: Shop, f: OrderFacts, member_id: int | None, now: datetime) -> dict[str, Any]:
    """The row services.orders.apply_orders writes for an order it has never seen."""
    return {"shop_id": shop.id, "order_id": f.order_id, "member_id": member_id, "customer_id": f.customer_id,
            "name": f.name, "currency": f.currency, "total_minor": f.total_minor, "subtotal_minor": f.subtotal_minor,
            "earning_base_minor": f.bases.merchandise_minor, "refunded_base_minor": 0,
            "financial_status": "refunded" if f.fully_refunded else f.financial_status,
            "fulfillment_status": f.fulfillment_status, "discount_codes": list(f.discount_codes),
            "referral_code": f.referral_code, "is_test": f.is_test, "paid_at": now if f.paid else None,
            "fulfilled_at": now if f.fulfilled else None, "cancelled_at": f.cancelled_at,
            "processed_at": f.processed_at, "shopify_updated_at": f.updated_at, "facts": f.to_json(),
            "created_at": now, "updated_at": now}


def _insert_orders(session: Session, shop: Shop, orders: list[OrderFacts], members: dict[int, int],
                   now: datetime) -> set[int]:
    """The order ids actually inserted (an order recorded meanwhile by a webhook is not)."""
    rows = [_order_row(shop, f, members.get(f.customer_id), now) for f in orders]
    return {order_id for order_id, in insert_rows(session, Order.__table__, rows, conflict=("shop_id", "order_id"),
                                                   returning=("order_id",))}


def _insert_refunds(session: Session, shop: Shop, orders: list[OrderFacts], now: datetime) -> None:
    rows = [{"shop_id": shop.id, "refund_id": r.refund_id, "order_id": r.order_id,
             "base_minor": r.bases.merchandise_minor, "shipping_minor": r.bases.shipping_minor,
             "tax_minor": r.bases.tax_minor, "shipping_tax_minor": r.shipping_tax_minor,
             "discrepancy_minor": r.discrepancy_minor, "currency": r.currency, "refunded_at": r.refunded_at,
             "created_at": now}
            for f in orders for r in f.refunds]
    insert_rows(session, Refund.__table__, rows, conflict=("shop_id", "refund_id"))


def _member_states(session: Session, shop: Shop, members: dict[int, int], settled: list[OrderFacts],
                   rules: ProgramInForce, now: datetime) -> dict[int, MemberState]:
    """member id -> the planner's view of the member, locked like services.ledger.lock_member (a
    redemption running now waits, so a take-back never reads a balance about to be spent).
    Locked in id order: two imports never wait for each other in a cycle. History earns no
    streaks (order_times None)."""
    ids = sorted({members[f.customer_id] for f in settled})
    if not ids:
        return {}
    query = select(Member.id, Member.blocked_at, Member.tier_key).where(
        Member.shop_id == shop.id, among(session, Member.id, ids)).order_by(Member.id)
    if session.get_bind().dialect.name != "sqlite":  # SQLite: the import holds the write lock already
        query = query.with_for_update(key_share=True)  # as lock_member: FOR NO KEY UPDATE
    rows = session.execute(query).all()
    taking_back = [members[f.customer_id] for f in settled if f.refunds or f.cancelled_at or f.fully_refunded]
    # Only a take-back reads the balance, and only when it may not go negative.
    spendable = {} if rules.program.clawback.allow_negative_balance else \
        spendable_points(session, shop, sorted(set(taking_back)), now)
    claimed = _claimed(session, shop, ids, rules.program, now)
    return {row.id: MemberState(row.id, row.blocked_at is not None, row.tier_key, spendable.get(row.id, 0),
                                frozenset(k for k in claimed if k == first_order_key(rules.program, row.id, now)))
            for row in rows}


def _claimed(session: Session, shop: Shop, member_ids: list[int], program: Program, now: datetime) -> set[str]:
    """First-order bonus keys already in the ledger, for the members here."""
    keys = [k for k in (first_order_key(program, member_id, now) for member_id in member_ids) if k]
    if not keys:
        return set()
    return set(session.scalars(select(LedgerEntry.entry_key).where(LedgerEntry.shop_id == shop.id,
                                                                   among(session, LedgerEntry.entry_key, keys))))


# ---- the ledger entries ---------------------------------------------------------------------

@dataclass
class _Plan:
    """The planned entries of a batch, in the order apply_order would post them."""

    shop_id: int
    now: datetime
    plans: list[tuple[int, OrderPlan]] = field(default_factory=list)  # (member id, the order's plan)

    @property
    def refunded_bases(self) -> dict[int, int]:
        """order id -> refunded base, for orders with an earn entry (as services.orders keeps it)."""
        return {plan.order_id: plan.refunded_merchandise_minor for _, plan in self.plans
                if plan.refunded_merchandise_minor is not None}

    @property
    def earned_members(self) -> set[int]:
        return {member_id for member_id, plan in self.plans if plan.earned}

    def rows(self, take_backs: bool) -> list[dict[str, Any]]:
        return [entry_row(self.shop_id, member_id, e, self.now) for member_id, plan in self.plans
                for e in (plan.take_backs if take_backs else plan.earn_phase)]


def plan_batch(facts: list[OrderFacts], members: dict[int, int], states: dict[int, MemberState],
               rules: ProgramInForce, now: datetime) -> list[tuple[int, OrderPlan]]:
    """Plan orders in delivery order, each member's state running along (a later order of the
    same member sees the balance and bonuses the earlier ones left)."""
    plans = []
    for f in facts:
        member_id = members[f.customer_id]
        plan = plan_order(f, states[member_id], (), rules, now=now)
        states[member_id] = plan.member_after
        plans.append((member_id, plan))
    return plans


def _write(session: Session, plan: _Plan, report: BatchReport) -> None:
    first, take_backs = plan.rows(False), plan.rows(True)
    written = write_entries(session, first, take_backs, raise_events=False)
    report.entries += len(written)
    report.points += sum(e["points"] for e in (*first, *take_backs) if e["entry_key"] in written)


def _record_refunded_bases(session: Session, shop: Shop, plan: _Plan) -> None:
    """services.orders keeps refunded_base_minor with the order's earn entry; so does this."""
    changes = [{"refunded_order": order_id, "refunded_minor": base}
               for order_id, base in plan.refunded_bases.items() if base]
    if changes:
        table = Order.__table__
        session.execute(update(table).where(table.c.shop_id == shop.id, table.c.order_id == bindparam("refunded_order"))
                        .values(refunded_base_minor=bindparam("refunded_minor")), changes)


def _touch_members(session: Session, plan: _Plan, now: datetime) -> None:
    if plan.earned_members:
        table = Member.__table__
        session.execute(update(table).where(table.c.shop_id == plan.shop_id,
                                            among(session, table.c.id, sorted(plan.earned_members))).values(
            last_activity_at=now, updated_at=now))
