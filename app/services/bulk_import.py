"""Historical orders, a batch at a time, in set-based SQL.

The webhook path (services/orders.apply_order) spends ~20 statements on one order; a year of a
busy shop's history is a million orders. Here a batch of ~1000 orders costs a handful of
statements: members inserted ignoring conflicts and read back in one SELECT, orders and refunds
inserted the same way, and the ledger entries computed in Python with the same domain functions
(earning, clawback, settlement wording, expiry) and inserted with the same idempotency keys.
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

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, any_, bindparam, case, func, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement, TextClause

from app.loyalty.actions import action_reason, action_rule, claim_key
from app.loyalty.earning import points_for_order
from app.loyalty.errors import ActionNotAllowed
from app.loyalty.expiry import lot_expiry
from app.loyalty.ledger import EntryKind, order_earn_key, order_reversal_key, refund_clawback_key
from app.loyalty.orders import OrderFacts, parse_order
from app.loyalty.program import Program
from app.loyalty.settlement import (EarnedOrder, earn_reason, earning_trigger_met, history_reason, is_void,
                                    order_label, refund_reason, refund_take_back, refunded_merchandise,
                                    reversal_reason, take_back_split, vests_at, with_shortfall)
from app.models import LedgerEntry, Member, Order, Redemption, Refund, Shop
from app.services.members import new_referral_code
from app.services.orders import apply_order
from app.services.program import current_program
from app.services.reconcile import order_payload_from_graphql
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


# ---- SQL for a thousand rows at a time ---------------------------------------------------------
# On PostgreSQL a batch's rows travel as one JSON document (INSERT ... SELECT FROM
# json_populate_recordset) and id lists as one array (`= ANY(array)`): the statement text is the
# same for every batch, so the driver and the server prepare it once. A multi-row VALUES list or
# an IN list with 1000 placeholders is a new, long text every time, and parsing it cost the
# driver more than the server spent executing it.

def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def among(session: Session, column, values: Iterable) -> ColumnElement:
    """`column IN values`, as one array parameter on PostgreSQL (see above)."""
    values = list(values)
    if _is_postgres(session):
        return column == any_(literal(values, postgresql.ARRAY(column.type)))
    return column.in_(values)


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]], *, conflict: tuple[str, ...] | None,
                returning: tuple[str, ...] = ()) -> list[tuple]:
    """INSERT rows (all with the same keys) ignoring conflicts (on `conflict`, or any unique
    constraint when None); the `returning` columns of the rows actually inserted."""
    if not rows:
        return []
    if _is_postgres(session):
        statement = _json_insert(table, tuple(rows[0]), conflict, returning)
        result = session.execute(statement, {"rows": json.dumps(rows, default=_json_value)})
    else:
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict) if conflict else None)
        result = session.execute(statement.returning(*[table.c[r] for r in returning]) if returning else statement,
                                 rows)
    return [tuple(row) for row in result] if returning else []


@lru_cache(maxsize=16)
def _json_insert(table: Table, columns: tuple[str, ...], conflict: tuple[str, ...] | None,
                 returning: tuple[str, ...]) -> TextClause:
    names = ", ".join(columns)
    target = f"({', '.join(conflict)}) " if conflict else ""
    sql = (f"INSERT INTO {table.name} ({names}) SELECT {names} FROM json_populate_recordset(NULL::{table.name}, "
           f"CAST(:rows AS json)) ON CONFLICT {target}DO NOTHING"
           + (f" RETURNING {', '.join(returning)}" if returning else ""))
    return text(sql)


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()  # aware UTC: PostgreSQL reads it as timestamptz
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


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
    plan = _Plan(shop.id, version.id, program, now)
    if earn_points:
        plan.earn(settled, members, _member_states(session, shop, members, settled),
                  _spendable(session, shop, members, settled, program, now),
                  _claimed(session, shop, members, settled, program, now))
    else:
        plan.mark_history(settled, members)
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
    """The row services.orders.record_order writes for an order it has never seen."""
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


@dataclass(frozen=True)
class _MemberState:
    blocked: bool
    tier_key: str | None


def _member_states(session: Session, shop: Shop, members: dict[int, int],
                   settled: list[OrderFacts]) -> dict[int, _MemberState]:
    """member id -> state, locked like services.ledger.lock_member (a redemption running now
    waits, so a take-back never reads a balance about to be spent). Locked in id order: two
    imports never wait for each other in a cycle."""
    ids = sorted({members[f.customer_id] for f in settled})
    if not ids:
        return {}
    query = select(Member.id, Member.blocked_at, Member.tier_key).where(
        Member.shop_id == shop.id, among(session, Member.id, ids)).order_by(Member.id)
    if session.get_bind().dialect.name != "sqlite":  # SQLite: the import holds the write lock already
        query = query.with_for_update(key_share=True)  # as lock_member: FOR NO KEY UPDATE
    return {row.id: _MemberState(row.blocked_at is not None, row.tier_key) for row in session.execute(query)}


def _spendable(session: Session, shop: Shop, members: dict[int, int], settled: list[OrderFacts], program: Program,
               now: datetime) -> dict[int, int]:
    """member id -> spendable balance now, for members whose orders here have take-backs that the
    balance may limit."""
    if program.clawback.allow_negative_balance:
        return {}
    ids = sorted({members[f.customer_id] for f in settled if f.refunds or _void(f)})
    if not ids:
        return {}
    vested = LedgerEntry.vests_at.is_(None) | (LedgerEntry.vests_at <= now)
    rows = session.execute(select(LedgerEntry.member_id, func.sum(case((vested, LedgerEntry.points), else_=0))).where(
        LedgerEntry.shop_id == shop.id, among(session, LedgerEntry.member_id, ids)).group_by(LedgerEntry.member_id))
    return {member_id: int(points or 0) for member_id, points in rows}


def _claimed(session: Session, shop: Shop, members: dict[int, int], settled: list[OrderFacts],
             program: Program, now: datetime) -> set[str]:
    """First-order bonus keys already in the ledger, for the members here."""
    if not action_rule(program, "first_order").enabled:
        return set()
    keys = [_first_order_key(program, member_id, now) for member_id in {members[f.customer_id] for f in settled}]
    return set(session.scalars(select(LedgerEntry.entry_key).where(LedgerEntry.shop_id == shop.id,
                                                                   among(session, LedgerEntry.entry_key, keys))))


def _first_order_key(program: Program, member_id: int, now: datetime) -> str | None:
    """The key services.actions would claim now; None when the bonus is off."""
    try:
        return claim_key(program, member_id, "first_order", at=now)
    except ActionNotAllowed:
        return None


def _void(f: OrderFacts) -> bool:
    return is_void(cancelled=f.cancelled_at is not None, financial_status="refunded" if f.fully_refunded
                   else f.financial_status)


# ---- the ledger entries ---------------------------------------------------------------------

@dataclass
class _Plan:
    """The entries of a batch in the order apply_order would post them, with the members'
    spendable balances running along (a take-back is limited by what is left at that point)."""

    shop_id: int
    version_id: int
    program: Program
    now: datetime
    first: list[dict] = field(default_factory=list)  # earn, first-order bonus, history entries
    take_backs: list[dict] = field(default_factory=list)  # refund clawbacks and reversals
    refunded_bases: dict[int, int] = field(default_factory=dict)  # order id -> refunded base
    earned_members: set[int] = field(default_factory=set)
    spendable: dict[int, int] = field(default_factory=dict)  # member id -> running spendable balance
    claimed: set[str] = field(default_factory=set)  # first-order bonus keys in the ledger or planned

    def entry(self, member_id: int, key: str, kind: EntryKind, points: int, cause_type: str, cause_id: str,
              order_id: int, reason: str, **extra) -> dict[str, Any]:
        return {"shop_id": self.shop_id, "member_id": member_id, "entry_key": key, "kind": str(kind),
                "points": points, "cause_type": cause_type, "cause_id": cause_id, "reason": reason,
                "program_version_id": extra.get("program_version_id"), "order_id": order_id,
                "reverses_entry_id": None, "staff_user_id": None, "shortfall_points": extra.get("shortfall_points", 0),
                "vests_at": extra.get("vests_at"), "expires_at": extra.get("expires_at"),
                "details": extra.get("details"), "created_at": self.now, "reverses_key": extra.get("reverses_key")}

    def mark_history(self, settled: list[OrderFacts], members: dict[int, int]) -> None:
        for f in settled:
            self.first.append(self.entry(
                members[f.customer_id], order_earn_key(f.order_id), EntryKind.IMPORT, 0, "order", str(f.order_id),
                f.order_id, history_reason(order_label(f.name, f.order_id), f.processed_at),
                program_version_id=self.version_id))
            self.refunded_bases[f.order_id] = refunded_merchandise(f.refunds, order_bases=f.bases,
                                                                 taxes_included=f.taxes_included)

    def earn(self, settled: list[OrderFacts], members: dict[int, int], states: dict[int, _MemberState],
             spendable: dict[int, int], claimed: set[str]) -> None:
        self.spendable, self.claimed = spendable, claimed
        for f in settled:
            member_id = members[f.customer_id]
            state = states[member_id]
            if not state.blocked:
                self._earn_order(f, member_id, state)

    def _earn_order(self, f: OrderFacts, member_id: int, state: _MemberState) -> None:
        """services.orders.settle_order for an order seen for the first time: the earn entry (and
        the first-order bonus), each refund's take-back, then the reversal of a void order."""
        program, now = self.program, self.now
        earning = points_for_order(program, f, tier=program.tier(state.tier_key), at=f.processed_at or now)
        if earning.points == 0:
            return  # nothing posted, as post_entry skips zero-point entries
        label, pending_until = order_label(f.name, f.order_id), vests_at(program, now)
        earn = self.entry(member_id, order_earn_key(f.order_id), EntryKind.EARN, earning.points, "order",
                          str(f.order_id), f.order_id, earn_reason(label, earning.reason),
                          program_version_id=self.version_id, details=earning.details, vests_at=pending_until,
                          expires_at=lot_expiry(program.expiry, pending_until or now))
        entries = [earn, *self._first_order_bonus(f, member_id)]
        self.first += entries
        for entry in entries:
            self._spend(member_id, entry)
        self.earned_members.add(member_id)
        self.refunded_bases[f.order_id] = refunded_merchandise(f.refunds, order_bases=f.bases,
                                                                 taxes_included=f.taxes_included)
        entries += self._refund_take_backs(f, earn, earning, label)
        remaining = sum(e["points"] for e in entries)  # order_net_points: all the order's entries so far
        if _void(f) and remaining > 0:
            reason = reversal_reason(label, cancelled=f.cancelled_at is not None, points=remaining)
            self._take_back(earn, order_reversal_key(f.order_id), remaining, reason, "order", str(f.order_id),
                            f.order_id)

    def _refund_take_backs(self, f: OrderFacts, earn: dict, earning, label: str) -> list[dict]:
        entries, taken = [], 0
        earned = EarnedOrder(points=earn["points"], base_minor=earning.base_minor, base_kind=earning.base_kind,
                             order_bases=f.bases, taxes_included=f.taxes_included)
        for refund in sorted(f.refunds, key=lambda r: r.refund_id):
            take_back = refund_take_back(refund, earned, already_taken=taken)
            reason = refund_reason(label, take_back.refunded_minor, refund.currency, earning.base_minor,
                                   f.currency, take_back.points)
            entry = self._take_back(earn, refund_clawback_key(refund.refund_id), take_back.points, reason, "refund",
                                    str(refund.refund_id), f.order_id)
            taken += take_back.points if entry else 0
            entries += [entry] if entry else []
        return entries

    def _first_order_bonus(self, f: OrderFacts, member_id: int) -> list[dict]:
        key = _first_order_key(self.program, member_id, self.now)
        points = action_rule(self.program, "first_order").points
        if key is None or key in self.claimed or not points:
            return []
        self.claimed.add(key)
        return [self.entry(member_id, key, EntryKind.EARN, points, "action", "first_order", f.order_id,
                           action_reason("first_order", points, f.name), program_version_id=self.version_id,
                           expires_at=lot_expiry(self.program.expiry, self.now))]

    def _take_back(self, earn: dict, key: str, points: int, reason: str, cause_type: str, cause_id: str,
                   order_id: int) -> dict | None:
        pending = earn["vests_at"] is not None and earn["vests_at"] > self.now
        split = take_back_split(points, spendable=self.spendable.get(earn["member_id"], 0), pending=pending,
                                allow_negative=self.program.clawback.allow_negative_balance)
        if split.taken == 0 and split.shortfall == 0:
            return None
        entry = self.entry(earn["member_id"], key, EntryKind.CLAWBACK, -split.taken, cause_type, cause_id, order_id,
                           with_shortfall(reason, split), shortfall_points=split.shortfall,
                           vests_at=earn["vests_at"] if pending else None, reverses_key=earn["entry_key"])
        self.take_backs.append(entry)
        self._spend(earn["member_id"], entry)
        return entry

    def _spend(self, member_id: int, entry: dict) -> None:
        if entry["vests_at"] is None or entry["vests_at"] <= self.now:
            self.spendable[member_id] = self.spendable.get(member_id, 0) + entry["points"]


def _insert_entries(session: Session, rows: list[dict]) -> dict[str, int]:
    """entry key -> id of the entries inserted (a key already in the ledger is skipped)."""
    table = LedgerEntry.__table__
    columns = [c.name for c in table.columns if not c.primary_key]
    return dict(insert_rows(session, table, [{c: row[c] for c in columns} for row in rows],
                            conflict=("shop_id", "entry_key"), returning=("entry_key", "id")))


def _write(session: Session, plan: _Plan, report: BatchReport) -> None:
    written = _insert_entries(session, plan.first)
    for entry in plan.take_backs:
        entry["reverses_entry_id"] = written.get(entry["reverses_key"])
    # A take-back whose earn entry was not written here (recorded meanwhile) is left to that writer.
    take_backs = [e for e in plan.take_backs if e["reverses_entry_id"] is not None]
    written.update(_insert_entries(session, take_backs))
    report.entries += len(written)
    report.points += sum(e["points"] for e in (*plan.first, *take_backs) if e["entry_key"] in written)


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
