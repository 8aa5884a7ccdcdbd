"""Writing to and reading from the points ledger (within a service's transaction)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.loyalty.ledger import EARNING_KINDS, Balance, EntryKind, explain
from app.models import LedgerEntry, Member
from app.upsert import insert_ignoring_conflicts


@dataclass(frozen=True)
class NewEntry:
    key: str
    kind: EntryKind
    points: int
    cause_type: str
    reason: str
    cause_id: str | None = None
    program_version_id: int | None = None
    order_id: int | None = None
    reverses_entry_id: int | None = None
    staff_user_id: str | None = None
    shortfall_points: int = 0
    vests_at: datetime | None = None
    expires_at: datetime | None = None
    details: dict[str, Any] | None = None


_INSERT = insert_ignoring_conflicts(LedgerEntry.__table__, ("shop_id", "entry_key"))


def post_entry(session: Session, member: Member, entry: NewEntry, *, now: datetime) -> LedgerEntry | None:
    """Append an entry; a key already in the ledger makes this a no-op (returns None).
    Zero-point entries are skipped unless they record a shortfall."""
    if entry.points == 0 and not entry.shortfall_points:
        return None
    values = dict(shop_id=member.shop_id, member_id=member.id, entry_key=entry.key, kind=str(entry.kind),
                  points=entry.points, cause_type=entry.cause_type, cause_id=entry.cause_id, reason=entry.reason,
                  program_version_id=entry.program_version_id, order_id=entry.order_id,
                  reverses_entry_id=entry.reverses_entry_id, staff_user_id=entry.staff_user_id,
                  shortfall_points=entry.shortfall_points, vests_at=entry.vests_at, expires_at=entry.expires_at,
                  details=entry.details, created_at=now)
    entry_id = session.execute(_INSERT, values).scalar()
    # The row as written, without reading it back (callers only read its fields).
    return LedgerEntry(id=entry_id, **values) if entry_id is not None else None


def entry_by_key(session: Session, shop_id: int, key: str) -> LedgerEntry | None:
    return session.scalar(select(LedgerEntry).where(LedgerEntry.shop_id == shop_id, LedgerEntry.entry_key == key))


def lock_member(session: Session, member: Member) -> None:
    """Serialise writers of one member's ledger: a row lock on PostgreSQL. On SQLite the writing
    transaction already holds the database's write lock (BEGIN IMMEDIATE), so nothing to do."""
    if session.get_bind().dialect.name != "sqlite":
        session.execute(select(Member.id).where(Member.shop_id == member.shop_id, Member.id == member.id)
                        .with_for_update(key_share=True))  # NO KEY: ledger inserts referencing it go on


def _balance_columns(at: datetime):
    vested = (LedgerEntry.vests_at.is_(None)) | (LedgerEntry.vests_at <= at)
    return (func.coalesce(func.sum(case((vested, LedgerEntry.points), else_=0)), 0),
            func.coalesce(func.sum(case((vested, 0), else_=LedgerEntry.points)), 0),
            func.coalesce(func.sum(case((LedgerEntry.kind.in_([str(k) for k in EARNING_KINDS]),
                                         LedgerEntry.points), else_=0)), 0))


def balance_of(session: Session, member: Member, at: datetime) -> Balance:
    balance, pending, lifetime = session.execute(
        select(*_balance_columns(at)).where(LedgerEntry.shop_id == member.shop_id,
                                            LedgerEntry.member_id == member.id)).one()
    return Balance(int(balance), int(pending), int(lifetime))


def entries_of(session: Session, member: Member, *, limit: int | None = None, newest_first: bool = False):
    order = (LedgerEntry.created_at.desc(), LedgerEntry.id.desc()) if newest_first else (LedgerEntry.created_at,
                                                                                           LedgerEntry.id)
    query = select(LedgerEntry).where(LedgerEntry.shop_id == member.shop_id,
                                      LedgerEntry.member_id == member.id).order_by(*order)
    return session.scalars(query.limit(limit) if limit else query).all()


def explained_ledger(session: Session, member: Member, at: datetime):
    return explain(entries_of(session, member), at=at)


def order_net_points(session: Session, member: Member, order_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
        LedgerEntry.shop_id == member.shop_id, LedgerEntry.member_id == member.id,
        LedgerEntry.order_id == order_id)))
