"""Writing to and reading from the points ledger (within a service's transaction)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.loyalty.ledger import EARNING_KINDS, Balance, EntryKind, explain
from app.loyalty.settlement import OrderEntry
from app.models import LedgerEntry, Member, Shop
from app.services import event_outbox
from app.services.set_sql import among, insert_rows
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
    if entry_id is None:
        return None
    event_outbox.record_entry_events(session, member.shop_id, [{**values, "id": entry_id}])
    # The row as written, without reading it back (callers only read its fields).
    return LedgerEntry(id=entry_id, **values)


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


def balances_of(session: Session, shop_id: int, member_ids: list[int], at: datetime) -> dict[int, Balance]:
    """member id -> balance at `at`, set-based (members without entries are left out)."""
    if not member_ids:
        return {}
    rows = session.execute(select(LedgerEntry.member_id, *_balance_columns(at)).where(
        LedgerEntry.shop_id == shop_id, among(session, LedgerEntry.member_id, member_ids)).group_by(
        LedgerEntry.member_id))
    return {member_id: Balance(int(balance), int(pending), int(lifetime))
            for member_id, balance, pending, lifetime in rows}


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


# ---- set-based: a batch of planned entries in two statements ---------------------------------

def spendable_points(session: Session, shop: Shop, member_ids: list[int], now: datetime) -> dict[int, int]:
    """member id -> spendable balance now (members without entries are left out)."""
    if not member_ids:
        return {}
    vested = LedgerEntry.vests_at.is_(None) | (LedgerEntry.vests_at <= now)
    rows = session.execute(select(LedgerEntry.member_id, func.sum(case((vested, LedgerEntry.points), else_=0))).where(
        LedgerEntry.shop_id == shop.id, among(session, LedgerEntry.member_id, member_ids)).group_by(
        LedgerEntry.member_id))
    return {member_id: int(points or 0) for member_id, points in rows}


def entry_row(shop_id: int, member_id: int, e: OrderEntry, now: datetime) -> dict[str, Any]:
    return {"shop_id": shop_id, "member_id": member_id, "entry_key": e.key, "kind": str(e.kind), "points": e.points,
            "cause_type": e.cause_type, "cause_id": e.cause_id, "reason": e.reason,
            "program_version_id": e.program_version_id, "order_id": e.order_id, "reverses_entry_id": None,
            "staff_user_id": None, "shortfall_points": e.shortfall_points, "vests_at": e.vests_at,
            "expires_at": e.expires_at, "details": e.details, "created_at": now, "reverses_key": e.reverses_key}


def insert_entries(session: Session, rows: list[dict], *, raise_events: bool = True) -> dict[str, int]:
    """entry key -> id of the entries inserted (a key already in the ledger is skipped)."""
    table = LedgerEntry.__table__
    columns = [c.name for c in table.columns if not c.primary_key]
    written = dict(insert_rows(session, table, [{c: row[c] for c in columns} for row in rows],
                               conflict=("shop_id", "entry_key"), returning=("entry_key", "id")))
    if raise_events and written:
        shop_id = rows[0]["shop_id"]
        event_outbox.record_entry_events(session, shop_id, [{**row, "id": written[row["entry_key"]]}
                                                             for row in rows if row["entry_key"] in written])
    return written


def write_entries(session: Session, first: list[dict], take_backs: list[dict],
                  known_ids: dict[str, int] | None = None, *, raise_events: bool = True) -> dict[str, int]:
    """Two INSERTs: the entries, then the take-backs pointing at them. A take-back whose earn
    entry was not written here nor known (recorded meanwhile by another writer) is left to it.
    `raise_events=False` for history (an import of past orders tells nobody anything new)."""
    written = insert_entries(session, first, raise_events=raise_events)
    ids = {**(known_ids or {}), **written}
    for entry in take_backs:
        entry["reverses_entry_id"] = ids.get(entry["reverses_key"])
    written.update(insert_entries(session, [e for e in take_backs if e["reverses_entry_id"] is not None],
                                  raise_events=raise_events))
    return written
