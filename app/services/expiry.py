"""Expiring points and reminding members before they expire, shop by shop, in set-based SQL
(one INSERT ... SELECT per shop, not a Python loop over members).

After-earning policy (FIFO lots): of the lots whose date has passed, what total debits have
not consumed yet expires, capped by the balance. Debits are counted against the oldest lots
first (FIFO), which never expires more than a per-lot walk would.
Inactivity policy: the whole balance expires N months after the last earn or redemption.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, and_, case, cast, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.loyalty.expiry import add_months
from app.loyalty.ledger import EntryKind
from app.models import LedgerEntry, MemberNotification, Shop
from app.services import event_outbox
from app.services.program import current_program


@dataclass(frozen=True)
class ExpiryReport:
    shop: str
    members_expired: int
    points_expired: int
    reminders: int


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _least(a, b):
    return case((a < b, a), else_=b)


def _per_member_totals(shop_id: int, now: datetime, lots_until: datetime):
    vested = or_(LedgerEntry.vests_at.is_(None), LedgerEntry.vests_at <= now)
    due = and_(LedgerEntry.points > 0, LedgerEntry.expires_at.is_not(None), LedgerEntry.expires_at <= lots_until,
               vested)
    returned = and_(LedgerEntry.points > 0, LedgerEntry.kind == str(EntryKind.REVERSAL))
    activity = LedgerEntry.kind.in_([str(EntryKind.EARN), str(EntryKind.REDEEM)])
    return (select(
        LedgerEntry.member_id.label("member_id"),
        func.sum(case((due, LedgerEntry.points), else_=0)).label("lots_due"),
        # Points given back (a failed redemption) cancel the debit they undo.
        func.sum(case((LedgerEntry.points < 0, -LedgerEntry.points), (returned, -LedgerEntry.points),
                      else_=0)).label("debits"),
        func.sum(case((vested, LedgerEntry.points), else_=0)).label("balance"),
        func.max(case((activity, LedgerEntry.created_at))).label("last_activity"),
        func.min(case((and_(LedgerEntry.points > 0, LedgerEntry.expires_at > now), LedgerEntry.expires_at)))
        .label("next_expiry"),
    ).where(LedgerEntry.shop_id == shop_id).group_by(LedgerEntry.member_id).subquery())


def _expire_after_earning(session: Session, shop: Shop, version_id: int, months: int, now: datetime) -> tuple[int, int]:
    totals = _per_member_totals(shop.id, now, now)
    amount = _least(totals.c.lots_due - totals.c.debits, totals.c.balance)
    reason = f" points expired (earned more than {months} months ago and not used)"
    return _insert_expiries(session, shop, version_id, totals, amount, amount > 0, reason, now)


def _expire_inactive(session: Session, shop: Shop, version_id: int, months: int, now: datetime) -> tuple[int, int]:
    totals = _per_member_totals(shop.id, now, now)
    cutoff = add_months(now, -months)
    reason = f" points expired after {months} months without earning or spending"
    return _insert_expiries(session, shop, version_id, totals, totals.c.balance,
                            and_(totals.c.balance > 0, totals.c.last_activity < cutoff), reason, now)


def _insert_expiries(session, shop, version_id, totals, amount, condition, reason, now) -> tuple[int, int]:
    stamp = now.strftime("%Y%m%dT%H%M%S")
    rows = select(
        literal(shop.id), totals.c.member_id, literal("expire:") + cast(totals.c.member_id, String) + f":{stamp}",
        literal(str(EntryKind.EXPIRE)), -cast(amount, Integer), literal("expiry"), literal(version_id),
        cast(amount, String) + reason, literal(0), literal(now, LedgerEntry.created_at.type),
    ).where(condition)
    columns = ["shop_id", "member_id", "entry_key", "kind", "points", "cause_type", "program_version_id", "reason",
               "shortfall_points", "created_at"]
    statement = _insert(session)(LedgerEntry).from_select(columns, rows).on_conflict_do_nothing(
        index_elements=["shop_id", "entry_key"]).returning(LedgerEntry.id, LedgerEntry.member_id, LedgerEntry.points)
    written = session.execute(statement).all()
    event_outbox.record_entry_events(session, shop.id, [
        {"id": entry_id, "member_id": member_id, "kind": str(EntryKind.EXPIRE), "points": points,
         "cause_type": "expiry", "created_at": now} for entry_id, member_id, points in written])
    return len(written), -sum(points for _, _, points in written)


def _remind(session: Session, shop: Shop, policy: str, months: int, days: int, now: datetime) -> int:
    """Raise a `points_expiring` notification once per member and expiry date. Members are
    selected in SQL; only those inside the reminder window come back to Python."""
    if days <= 0:
        return 0
    horizon = now + timedelta(days=days)
    totals = _per_member_totals(shop.id, now, horizon)
    if policy == "after_earning":
        amount = _least(totals.c.lots_due - totals.c.debits, totals.c.balance)
        query = select(totals.c.member_id, amount, totals.c.next_expiry).where(
            amount > 0, totals.c.next_expiry <= horizon)
    else:
        query = select(totals.c.member_id, totals.c.balance, totals.c.last_activity).where(
            totals.c.balance > 0, totals.c.last_activity < add_months(horizon, -months),
            totals.c.last_activity >= add_months(now, -months))
    rows = []
    for member_id, points, moment in session.execute(query):
        due_at = moment if policy == "after_earning" else add_months(moment, months)
        rows.append(dict(shop_id=shop.id, member_id=member_id, kind="points_expiring", points=int(points),
                         due_at=due_at, created_at=now,
                         notification_key=f"expiring:{member_id}:{due_at:%Y-%m-%dT%H:%M}"))
    if not rows:
        return 0
    statement = _insert(session)(MemberNotification).on_conflict_do_nothing(
        index_elements=["shop_id", "notification_key"]).returning(MemberNotification.id)
    return len(session.execute(statement, rows).all())


def expire_points_for_shop(session: Session, shop: Shop, *, now: datetime) -> ExpiryReport:
    """One transaction per shop. The shop row lock keeps two sweeps (scheduler + CLI) from
    expiring the same points twice: the second one sees the first one's entries."""
    # NO KEY UPDATE still serialises the sweeps but lets inserts that reference the shop through.
    session.execute(select(Shop.id).where(Shop.id == shop.id).with_for_update(key_share=True))
    version, program = current_program(session, shop)
    settings = program.expiry
    expired = (0, 0)
    if settings.policy == "after_earning":
        expired = _expire_after_earning(session, shop, version.id, settings.months, now)
    elif settings.policy == "inactivity":
        expired = _expire_inactive(session, shop, version.id, settings.months, now)
    reminders = _remind(session, shop, settings.policy, settings.months, settings.reminder_days, now) \
        if settings.policy != "none" else 0
    session.commit()
    return ExpiryReport(shop.domain, expired[0], expired[1], reminders)


def expire_points_everywhere(db, *, now: datetime) -> list[ExpiryReport]:
    with db.scope(read_only=True) as session:
        shop_ids = session.scalars(select(Shop.id).where(Shop.uninstalled_at.is_(None))).all()
    reports = []
    for shop_id in shop_ids:
        with db.scope() as session:
            reports.append(expire_points_for_shop(session, session.get(Shop, shop_id), now=now))
    return reports
