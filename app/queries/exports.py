"""CSV exports of members (with balances) and of the full ledger, streamed row by row.

The members file imports back as starting balances (customer_id + balance columns), so moving
a program between shops or installs is export -> import. Text cells that a spreadsheet would
run as a formula are prefixed with a quote (CSV injection).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import LedgerEntry, Member, Shop
from app.queries.member_directory import balances_by_member

MEMBER_COLUMNS = ("customer_id", "email", "first_name", "last_name", "tier", "balance", "pending", "lifetime_earned",
                  "referral_code", "account_state", "blocked", "member_since", "last_activity_at")
LEDGER_COLUMNS = ("entry_id", "customer_id", "created_at", "kind", "points", "reason", "order_id", "staff_user_id",
                  "entry_key", "reverses_entry_id", "vests_at", "expires_at")
BATCH = 1000


def safe_text(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value[0] in "=+-@\t\r" else value


def _time(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def members_csv(session: Session, shop: Shop, *, now: datetime) -> Iterator[str]:
    balances = balances_by_member(shop, now)
    rows = session.execute(
        select(Member, balances.c.balance, balances.c.pending, balances.c.lifetime)
        .outerjoin(balances, balances.c.member_id == Member.id).where(Member.shop_id == shop.id)
        .order_by(Member.id).execution_options(yield_per=BATCH))
    return _csv_lines(MEMBER_COLUMNS, (
        (m.customer_id, safe_text(m.email), safe_text(m.first_name), safe_text(m.last_name), m.tier_key or "",
         int(balance or 0), int(pending or 0), int(lifetime or 0), m.referral_code, m.account_state or "",
         "yes" if m.blocked_at else "no", _time(m.created_at), _time(m.last_activity_at))
        for m, balance, pending, lifetime in rows))


def ledger_csv(session: Session, shop: Shop) -> Iterator[str]:
    rows = session.execute(
        select(LedgerEntry, Member.customer_id).join(Member, Member.id == LedgerEntry.member_id)
        .where(LedgerEntry.shop_id == shop.id).order_by(LedgerEntry.id).execution_options(yield_per=BATCH))
    return _csv_lines(LEDGER_COLUMNS, (
        (e.id, customer_id, _time(e.created_at), e.kind, e.points, safe_text(e.reason), e.order_id or "",
         e.staff_user_id or "", e.entry_key, e.reverses_entry_id or "", _time(e.vests_at), _time(e.expires_at))
        for e, customer_id in rows))
