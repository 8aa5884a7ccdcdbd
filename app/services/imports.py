"""Imports: a shop's existing customers and historical orders from the Admin API, and
starting balances from a CSV file.

Admin API imports page through Shopify with a cursor saved in `import_jobs` after every page,
so an import that is interrupted (browser closed, process restarted, Shopify down) resumes
where it stopped. Each customer goes through the customer-webhook service and each order
through reconciliation's path into the order service, so an import earns exactly what the
webhooks would have, and running a page twice changes nothing (the ledger's idempotency keys).
"""
from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.errors import InvalidInput, NotFound
from app.loyalty.expiry import lot_expiry
from app.loyalty.ledger import EntryKind
from app.models import ImportJob, LedgerEntry, Member, Shop
from app.services import shops
from app.services.ledger import NewEntry, lock_member, post_entry
from app.services.members import apply_customer, get_or_create_member
from app.services.program import current_program
from app.services.tiers import refresh_member_tier
from app.shopify.documents import CUSTOMERS_COUNT, CUSTOMERS_PAGE, HISTORICAL_ORDERS, ORDERS_COUNT, Document
from app.shopify.graphql import ShopifyError

if TYPE_CHECKING:
    from app.runtime import Tessera

log = logging.getLogger(__name__)

API_KINDS = ("customers", "orders")
BALANCES_KIND = "balances"
# Finished (or never started) jobs are history; any other job of a kind is resumed, not duplicated.
RESUMABLE = ("pending", "running", "failed")
MAX_CSV_PROBLEMS = 50
CSV_CHUNK = 500


@dataclass(frozen=True)
class ApiImport:
    page: Document
    count: Document
    connection: str


API_IMPORTS = {"customers": ApiImport(CUSTOMERS_PAGE, CUSTOMERS_COUNT, "customers"),
               "orders": ApiImport(HISTORICAL_ORDERS, ORDERS_COUNT, "orders")}


def import_jobs(session: Session, shop: Shop, limit: int = 20) -> list[ImportJob]:
    return list(session.scalars(select(ImportJob).where(ImportJob.shop_id == shop.id)
                                .order_by(ImportJob.created_at.desc(), ImportJob.id.desc()).limit(limit)))


def find_import(session: Session, shop: Shop, job_id: int) -> ImportJob:
    job = session.scalar(select(ImportJob).where(ImportJob.shop_id == shop.id, ImportJob.id == job_id))
    if job is None:
        raise NotFound("That import does not exist; reload the import page to see the current ones.")
    return job


def start_import(session: Session, shop: Shop, kind: Any, *, now: datetime) -> ImportJob:
    """A new import of `kind`, or the unfinished one of that kind (which then resumes)."""
    if kind not in API_IMPORTS:
        raise InvalidInput("Choose what to import.", {"kind": f"one of {', '.join(API_IMPORTS)}"})
    job = session.scalar(select(ImportJob).where(ImportJob.shop_id == shop.id, ImportJob.kind == kind,
                                                 ImportJob.status.in_(RESUMABLE)).order_by(ImportJob.id.desc()))
    if job is None:
        job = ImportJob(shop_id=shop.id, kind=kind, status="pending", processed=0, started_at=now, created_at=now,
                        updated_at=now)
        session.add(job)
        session.commit()
    return job


def import_json(job: ImportJob) -> dict[str, Any]:
    percent = None
    if job.status == "done":
        percent = 100
    elif job.total:
        percent = min(99, int(job.processed * 100 / job.total))
    return {"id": job.id, "kind": job.kind, "status": job.status, "processed": job.processed, "total": job.total,
            "percent": percent, "last_error": job.last_error, "resumable": job.status in RESUMABLE and job.kind in API_IMPORTS,
            "started_at": job.started_at.isoformat() if job.started_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}


def run_import_step(t: "Tessera", session: Session, shop: Shop, job: ImportJob, *, max_pages: int | None = None,
                    budget_seconds: float = 3.0) -> ImportJob:
    """Import pages from the saved cursor until done, `max_pages` pages, or the time budget.
    A Shopify failure stops the job as "failed" with the reason; running it again resumes."""
    if job.status == "done" or job.kind not in API_IMPORTS:
        return job
    job.status, job.last_error, job.updated_at = "running", None, t.clock()
    session.commit()
    deadline, pages = time.monotonic() + budget_seconds, 0
    try:
        if job.total is None:
            job.total = _count(t, session, shop, API_IMPORTS[job.kind])
        while job.status == "running":
            _import_page(t, session, shop, job)
            pages += 1
            if (max_pages is not None and pages >= max_pages) or time.monotonic() >= deadline:
                break
    except (ShopifyError, shops.ShopNeedsReauth) as exc:
        session.rollback()
        job.status, job.last_error, job.updated_at = "failed", f"{exc}. Resume the import to continue where it " \
                                                              "stopped.", t.clock()
        session.commit()
        log.warning("import %s for %s stopped: %s", job.kind, shop.domain, exc)
    return job


def run_import(t: "Tessera", shop_id: int, job_id: int) -> None:
    """The whole import in one go (for a background worker); resumable like the steps."""
    with t.db.scope() as session:
        shop = session.get(Shop, shop_id)
        job = find_import(session, shop, job_id)
        while job.status == "running" or job.status == "pending":
            run_import_step(t, session, shop, job, budget_seconds=60.0)


def _count(t: "Tessera", session: Session, shop: Shop, spec: ApiImport) -> int | None:
    counted = shops.call_admin(t, session, shop, spec.count)[f"{spec.connection}Count"] or {}
    # Beyond Shopify's counting limit the total is unknown; progress then shows what was done.
    return counted.get("count") if counted.get("precision") == "EXACT" else None


def _import_page(t: "Tessera", session: Session, shop: Shop, job: ImportJob) -> None:
    spec = API_IMPORTS[job.kind]
    page = shops.call_admin(t, session, shop, spec.page, {"after": job.cursor})[spec.connection]
    if job.kind == "customers":
        _import_customers(t, session, shop, page["nodes"])
    else:
        _import_orders(t, session, shop, page["nodes"])
    # The cursor moves only after the page's effects are committed: a crash in between
    # repeats the page, which the idempotency keys make harmless.
    job.processed += len(page["nodes"])
    job.updated_at = t.clock()
    if page["pageInfo"]["hasNextPage"]:
        job.cursor = page["pageInfo"]["endCursor"]
    else:
        job.status, job.finished_at = "done", t.clock()
    session.commit()


def customer_payload(node: dict) -> dict[str, Any]:
    """A GraphQL customer in the REST webhook shape the customer service reads."""
    consent = (node.get("emailMarketingConsent") or {}).get("marketingState") or ""
    return {"id": int(node["legacyResourceId"]), "email": node.get("email"), "first_name": node.get("firstName"),
            "last_name": node.get("lastName"), "phone": node.get("phone"),
            "state": (node.get("state") or "").lower() or None, "created_at": node.get("createdAt"),
            "email_marketing_consent": {"state": consent.lower()}}


def _import_customers(t: "Tessera", session: Session, shop: Shop, nodes: list[dict]) -> None:
    """Exactly what a customers/update webhook does: the member, the profile, and the
    automatic action points the program gives (e.g. sign-up points for enabled accounts)."""
    for node in nodes:
        apply_customer(session, shop, customer_payload(node), now=t.clock())
    session.commit()


def _import_orders(t: "Tessera", session: Session, shop: Shop, nodes: list[dict]) -> None:
    # Reconciliation's per-order path: GraphQL -> webhook shape -> apply_order, one commit per
    # order (short member locks), follow-up jobs enqueued after the commit.
    from app.services.reconcile import ReconcileReport, reconcile_order
    report = ReconcileReport(shop.domain)
    for node in nodes:
        reconcile_order(t, session, shop, node, report)


# ---- starting balances from CSV ----------------------------------------------------------------

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


def starting_balance_key(member_id: int) -> str:
    # One starting balance per member, ever: the same file uploaded twice imports nothing new.
    return f"member:{member_id}:import:starting_balance"


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    # Exports protect text against spreadsheet formulas with a leading quote; undo it.
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@":
        value = value[1:]
    return value or None


def _customer_id(raw: str | None) -> int | None:
    value = (raw or "").strip().removeprefix("gid://shopify/Customer/")
    return int(value) if value.isdigit() and 0 < int(value) < 2**63 else None


def _points(raw: str | None) -> int | None:
    value = (raw or "").strip().replace(",", "")
    return int(value) if value.isdigit() and int(value) <= 10_000_000 else None


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


def import_starting_balances(session: Session, shop: Shop, text: str, *, staff_user_id: str, now: datetime,
                             enqueue: Callable[..., None] | None = None) -> BalanceImport:
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
                            rules=(version.id, program), enqueue=enqueue)
        session.commit()
    session.add(ImportJob(shop_id=shop.id, kind=BALANCES_KIND, status="done", processed=result.imported,
                          total=result.rows, started_at=now, finished_at=now, created_at=now, updated_at=now))
    session.commit()
    return result


def _import_balance(session: Session, shop: Shop, row: BalanceRow, result: BalanceImport, *, staff_user_id: str,
                    now: datetime, rules, enqueue) -> None:
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
        reason="Starting balance imported" + (f": {row.note}" if row.note else ""),
        expires_at=lot_expiry(program.expiry, now)), now=now)
    if entry is None:
        result.already_imported += 1
        return
    result.imported += 1
    result.points += row.points
    refresh_member_tier(session, shop, member, program, version_id=version_id, now=now)
