"""Starting balances from a CSV file: a member's points carried over from another program, as
one import entry per member, once (the entry's key is the member's), with every bad line named.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.errors import InvalidInput
from app.loyalty.expiry import lot_expiry
from app.loyalty.ledger import EntryKind, starting_balance_key
from app.loyalty.wording import reason, reason_fields
from app.models import ImportJob, LedgerEntry, Member, Shop
from app.parsing import is_stored_id
from app.services.ledger import NewEntry, lock_member, post_entry
from app.services.members import get_or_create_member
from app.services.program import current_program
from app.services.tiers import refresh_member_tier

BALANCES_KIND = "balances"
MAX_CSV_PROBLEMS = 50
CSV_CHUNK = 500
POINT_COLUMNS = ("points", "balance", "starting_balance")


@dataclass(frozen=True)
class BalanceRow:
    line: int
    customer_id: int
    points: int
    email: str | None
    first_name: str | None
    last_name: str | None
    note: str | None


@dataclass
class BalanceImport:
    rows: int = 0
    imported: int = 0
    already_imported: int = 0
    zero: int = 0
    points: int = 0
    problems: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "imported": self.imported, "already_imported": self.already_imported,
                "zero_balances_skipped": self.zero, "points": self.points}

def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    # Exports protect text against spreadsheet formulas with a leading quote; undo it.
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@":
        value = value[1:]
    return value or None

def _customer_id(raw: str | None) -> int | None:
    value = (raw or "").strip().removeprefix("gid://shopify/Customer/")
    return int(value) if is_stored_id(value) and int(value) > 0 else None

def _points(raw: str | None) -> int | None:
    value = (raw or "").strip().replace(",", "")
    return int(value) if is_stored_id(value) and int(value) <= 10_000_000 else None

def parse_balance_csv(text: str) -> tuple[list[BalanceRow], dict[str, str]]:
    """Rows and problems (by line). Columns: customer_id and points (or balance), optionally
    email, first_name, last_name and note; other columns are ignored."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    points_column = next((header[c] for c in POINT_COLUMNS if c in header), None)
    if "customer_id" not in header or points_column is None:
        return [], {"file": "needs a header row with customer_id and points (or balance) columns"}
    rows, problems, seen = [], {}, {}
    for line, record in enumerate(reader, start=2):
        customer_id, points = _customer_id(record.get(header["customer_id"])), _points(record.get(points_column))
        if customer_id is None:
            problems[f"line {line}"] = "customer_id must be a Shopify customer id (digits)"
        elif points is None:
            problems[f"line {line}"] = "points must be a whole number from 0 to 10,000,000"
        elif customer_id in seen:
            problems[f"line {line}"] = f"customer {customer_id} is already on line {seen[customer_id]}"
        else:
            seen[customer_id] = line
            rows.append(BalanceRow(line, customer_id, points, *(_text(record.get(header[c])) if c in header else None
                                                                for c in ("email", "first_name", "last_name", "note"))))
        if len(problems) >= MAX_CSV_PROBLEMS:
            break
    return rows, problems

def _previous_imports(session: Session, shop: Shop, rows: list[BalanceRow]) -> dict[int, int]:
    """customer id -> starting balance already imported, for the customers in `rows`."""
    found: dict[int, int] = {}
    ids = [r.customer_id for r in rows]
    for start in range(0, len(ids), CSV_CHUNK):
        members = session.execute(select(Member.id, Member.customer_id).where(
            Member.shop_id == shop.id, Member.customer_id.in_(ids[start:start + CSV_CHUNK]))).all()
        keys = {starting_balance_key(member_id): customer_id for member_id, customer_id in members}
        for key, points in session.execute(select(LedgerEntry.entry_key, LedgerEntry.points).where(
                LedgerEntry.shop_id == shop.id, LedgerEntry.entry_key.in_(list(keys)))):
            found[keys[key]] = points
    return found

def _conflicts(rows: list[BalanceRow], previous: dict[int, int]) -> dict[str, str]:
    return {f"line {r.line}": f"customer {r.customer_id} already has an imported starting balance of "
                              f"{previous[r.customer_id]:,} points; remove the line, or change the balance "
                              "with an adjustment on the member's page"
            for r in rows if r.customer_id in previous and previous[r.customer_id] != r.points}

def import_starting_balances(session: Session, shop: Shop, text: str, *, staff_user_id: str,
                             now: datetime) -> BalanceImport:
    """All or nothing on validation: a file with any bad line imports nothing and lists the
    lines. Valid files post one `import` entry per member (idempotent), in chunks."""
    rows, problems = parse_balance_csv(text)
    previous = _previous_imports(session, shop, rows) if rows else {}
    problems.update(_conflicts(rows, previous))
    if problems or not rows:
        raise InvalidInput("Nothing was imported. Fix the lines listed and upload the file again.",
                           problems or {"file": "has no rows to import"})
    result = BalanceImport(rows=len(rows))
    version, program = current_program(session, shop)
    for start in range(0, len(rows), CSV_CHUNK):
        for row in rows[start:start + CSV_CHUNK]:
            _import_balance(session, shop, row, result, staff_user_id=staff_user_id, now=now,
                            rules=(version.id, program))
        session.commit()
    session.add(ImportJob(shop_id=shop.id, kind=BALANCES_KIND, status="done", processed=result.imported,
                          total=result.rows, started_at=now, finished_at=now, created_at=now, updated_at=now))
    session.commit()
    return result

def _import_balance(session: Session, shop: Shop, row: BalanceRow, result: BalanceImport, *, staff_user_id: str,
                    now: datetime, rules) -> None:
    if row.points == 0:
        result.zero += 1
        return
    version_id, program = rules
    member = get_or_create_member(session, shop, row.customer_id, now=now)
    if member.redacted_at is None:
        member.email = member.email or row.email
        member.first_name = member.first_name or row.first_name
        member.last_name = member.last_name or row.last_name
    lock_member(session, member)
    entry = post_entry(session, member, NewEntry(
        key=starting_balance_key(member.id), kind=EntryKind.IMPORT, points=row.points, cause_type="import",
        cause_id="csv", staff_user_id=staff_user_id, program_version_id=version_id,
        **reason_fields(reason("import.starting_balance_note", note=row.note) if row.note
                        else reason("import.starting_balance")),
        expires_at=lot_expiry(program.expiry, now)), now=now)
    if entry is None:
        result.already_imported += 1
        return
    result.imported += 1
    result.points += row.points
    refresh_member_tier(session, shop, member, program, version_id=version_id, now=now)
