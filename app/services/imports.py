"""Imports: a shop's existing customers and historical orders from the Admin API. (Starting
balances from a CSV file: services/balance_import.py.)

An Admin API import is an `import_jobs` row that runs in slices: a background worker task
(`run_import`, which queues its own next slice so other jobs get their turn) or, where no worker
runs, the import page calling `run_import_step` while it is open. Each slice claims the job
(status `running`, refreshed with every commit) so two runners never work on one job, and its
progress is committed with the data it covers: an import stopped anywhere (process killed,
Shopify down) resumes where its last commit left it, and whatever is done twice is harmless
(the ledger's idempotency keys).

- Customers page through the Admin API (100 a page) into the customer-webhook service.
- Historical orders come from a bulk operation: Shopify writes the orders processed since the
  owner's date into a JSONL file, polled for until it is ready. Its lines come in no promised
  order, so they are first kept (services.bulk_staging) as the file streams in, then read back
  1000 orders at a time with their children and their refunds' details (read by id: the export
  cannot carry them) into services.bulk_import. The job's cursor holds the operation's id, how
  much of the file is kept (lines and bytes, so a resumed download asks for the rest only) and
  the last kept order imported.
- Customer fields Shopify withholds (protected customer data not approved) are left out and
  named on the job with what the owner can do, instead of stopping the import.
"""
from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app.loyalty.errors import InvalidInput, NotFound
from app.loyalty.expiry import add_months
from app.models import ImportJob, Shop
from app.services.bulk_import import BATCH_ORDERS, import_order_batch, order_facts
from app.services.bulk_staging import forget_lines, keep_lines, kept_orders, lines_all_kept
from app.services.members import apply_customer
from app.services.reconcile import refund_details, withheld_advice, withheld_customer_fields
from app.services.tier_recompute import recompute_tiers
from app.shopify.admin_access import AdminAccess, ShopNeedsReauth, call_admin, call_admin_partial
from app.shopify.bulk import BulkDownloadError, BulkFileError, BulkOrder, stream_lines, with_refund_details
from app.shopify.documents import (BULK_OPERATION, LATEST_BULK_QUERY, CUSTOMERS_COUNT, CUSTOMERS_PAGE,
                                   RUN_BULK_QUERY, bulk_orders_query)
from app.shopify.graphql import ShopifyError, ShopifyUserErrors

if TYPE_CHECKING:
    from app.runtime import Tessera

log = logging.getLogger(__name__)

API_KINDS = ("customers", "orders")
# Finished (or never started) jobs are history; any other job of a kind is resumed, not duplicated.
RESUMABLE = ("pending", "running", "failed")

# A running job commits at least this often; one not heard from for longer has lost its runner.
LEASE = timedelta(minutes=2)
WORKER_SLICE_SECONDS = 20.0  # then the worker task queues the next slice behind other jobs
PAGE_STEP_SECONDS = 3.0
EXPORT_POLL_SECONDS = 3.0
KEEP_LINES = 5000  # lines of the export file kept per commit
DOWNLOAD_ATTEMPTS = 3
HISTORY_MONTHS = 12
WITHHELD = "withheld_customer_fields"  # the kind of warning about protected customer data
EARLIEST_HISTORY = date(2006, 1, 1)


# ---- jobs -----------------------------------------------------------------------------------

def import_jobs(session: Session, shop: Shop, limit: int = 20) -> list[ImportJob]:
    return list(session.scalars(select(ImportJob).where(ImportJob.shop_id == shop.id)
                                .order_by(ImportJob.created_at.desc(), ImportJob.id.desc()).limit(limit)))


def find_import(session: Session, shop: Shop, job_id: int) -> ImportJob:
    job = session.scalar(select(ImportJob).where(ImportJob.shop_id == shop.id, ImportJob.id == job_id))
    if job is None:
        raise NotFound("That import does not exist; reload the import page to see the current ones.")
    return job


def runs_in_background(config: Mapping[str, Any]) -> bool:
    """A worker runs imports (RQ, or the in-process worker) and the page only watches; without
    one (a bare development server, tests) the page runs the import a few seconds per request."""
    return bool(config.get("REDIS_URL") or config.get("INPROCESS_WORKER"))


def default_history_since(now: datetime) -> date:
    return add_months(now, -HISTORY_MONTHS).date()


def history_options(raw: Mapping[str, Any] | None, *, now: datetime) -> dict[str, Any]:
    """The owner's choices for a historical orders import: orders processed since a date
    (default: 12 months ago) and whether they earn points (default: no)."""
    raw = raw or {}
    since_text = str(raw.get("since") or "").strip()
    try:
        since = date.fromisoformat(since_text) if since_text else default_history_since(now)
    except ValueError:
        raise InvalidInput("Choose the date to import orders from.", {"since": "must be a date (YYYY-MM-DD)"}) from None
    if not EARLIEST_HISTORY <= since <= now.date():
        raise InvalidInput("Choose the date to import orders from.",
                           {"since": f"must be between {EARLIEST_HISTORY} and today"})
    earn = raw.get("earn_points", False)
    if isinstance(earn, str):
        earn = earn.strip().lower() in ("true", "1", "yes", "on")
    return {"since": since.isoformat(), "earn_points": bool(earn)}


def start_import(session: Session, shop: Shop, kind: Any, *, now: datetime, options: Mapping[str, Any] | None = None,
                 enqueue: Callable[..., None] | None = None) -> ImportJob:
    """A new import of `kind`, or the unfinished one of that kind (which resumes with the options
    it started with). With `enqueue`, a background worker runs it unless one already is."""
    if kind not in API_KINDS:
        raise InvalidInput("Choose what to import.", {"kind": f"one of {', '.join(API_KINDS)}"})
    job = session.scalar(select(ImportJob).where(ImportJob.shop_id == shop.id, ImportJob.kind == kind,
                                                 ImportJob.status.in_(RESUMABLE)).order_by(ImportJob.id.desc()))
    if job is None:
        job = ImportJob(shop_id=shop.id, kind=kind, status="pending", processed=0, started_at=now, created_at=now,
                        updated_at=now, options=history_options(options, now=now) if kind == "orders" else None)
        session.add(job)
        session.commit()
        active = False
    else:
        active = job.status != "failed" and not _stalled(job, now)
    if enqueue is not None and not active:
        enqueue("run_import", shop.id, job.id)
    return job


def stalled_imports(session: Session, now: datetime) -> list[tuple[int, int]]:
    """(shop id, job id) of every shop's unfinished imports that no runner has touched for
    longer than a runner ever stays silent."""
    return [(shop_id, job_id) for shop_id, job_id in session.execute(
        select(ImportJob.shop_id, ImportJob.id).where(ImportJob.kind.in_(API_KINDS),
                                                      ImportJob.status.in_(("pending", "running")),
                                                      ImportJob.updated_at < now - LEASE).order_by(ImportJob.id))]


def _stalled(job: ImportJob, now: datetime) -> bool:
    """Unfinished and not heard from for longer than a runner ever stays silent (its worker
    stopped, or its queued slice was lost with the process)."""
    return job.status in ("pending", "running") and job.updated_at is not None and job.updated_at < now - LEASE


def import_json(job: ImportJob, *, now: datetime | None = None) -> dict[str, Any]:
    percent = None
    if job.status == "done":
        percent = 100
    elif job.total:
        percent = min(99, int(job.processed * 100 / job.total))
    progress = _BulkProgress.load(job.cursor) if job.kind == "orders" else None
    return {"id": job.id, "kind": job.kind, "status": job.status, "processed": job.processed, "total": job.total,
            "percent": percent, "last_error": job.last_error,
            "resumable": job.status in RESUMABLE and job.kind in API_KINDS,
            "stalled": bool(now and _stalled(job, now)), "options": job.options,
            "phase": progress.phase if progress else None, "message": _progress_message(job, progress),
            "warnings": [w["message"] for w in job.warnings or []],
            "started_at": job.started_at.isoformat() if job.started_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}


def _progress_message(job: ImportJob, progress: "_BulkProgress | None") -> str:
    if job.status == "failed":
        return f"Stopped: {job.last_error}"
    if job.status == "done":
        return f"{job.processed:,} imported"
    if progress is not None and progress.phase == "export":
        if not progress.operation_id:
            return "Asking Shopify for the orders"
        return "Waiting for Shopify to gather the orders" + (f" ({progress.objects:,} so far)" if progress.objects
                                                              else "")
    if progress is not None and progress.phase == "download":
        return f"Reading Shopify's export ({progress.lines:,} lines so far)"
    if progress is not None and progress.phase == "tiers":
        return f"{job.processed:,} orders imported; updating VIP tiers"
    total = f" of {job.total:,}" if job.total else ""
    return f"{job.processed:,}{total} imported"


# ---- running a slice ------------------------------------------------------------------------

class _ImportStopped(Exception):
    """The job cannot go on until the owner resumes it; the message says why."""


def run_import_step(t: "Tessera", session: Session, shop: Shop, job: ImportJob, *, max_pages: int | None = None,
                    budget_seconds: float = PAGE_STEP_SECONDS) -> ImportJob:
    """Import from where the job stands for about `budget_seconds` (customers: or `max_pages`
    pages), then let go of the job. Does nothing if another runner holds it. A Shopify failure
    stops the job as "failed" with the reason; running it again resumes."""
    _run_slice(t, session, shop, job, max_pages=max_pages, budget_seconds=budget_seconds)
    return job


def run_import(t: "Tessera", shop_id: int, job_id: int) -> bool:
    """One worker slice; True when the job needs another (the task queues it). A job held by
    another runner is left to it: that runner queues what comes next."""
    with t.db.scope() as session:
        shop = session.get(Shop, shop_id)
        job = find_import(session, shop, job_id)
        ran = _run_slice(t, session, shop, job, max_pages=None, budget_seconds=WORKER_SLICE_SECONDS)
        return ran and job.status == "pending"


def _run_slice(t: "Tessera", session: Session, shop: Shop, job: ImportJob, *, max_pages: int | None,
               budget_seconds: float) -> bool:
    """True if this runner claimed the job and worked on it."""
    if job.status == "done" or job.kind not in API_KINDS or not _claim(session, job, t.clock()):
        return False
    deadline = time.monotonic() + budget_seconds
    try:
        if job.kind == "customers":
            _run_customers(t, session, shop, job, deadline, max_pages)
        else:
            _run_orders(t, session, shop, job, deadline)
    except BulkFileError as exc:
        _stop(t, session, shop, job, f"Shopify's export file cannot be read ({exc}). Please report this; resuming "
                                     "starts reading at the same place.")
    except (ShopifyError, ShopNeedsReauth, BulkDownloadError, _ImportStopped) as exc:
        _stop(t, session, shop, job, f"{exc}. Resume the import to continue where it stopped.")
    except Exception as exc:
        _stop(t, session, shop, job, f"Tessera stopped on an unexpected error ({type(exc).__name__}). Resume the "
                                     "import to try again.")
        raise
    if job.status == "running":
        job.status, job.updated_at = "pending", t.clock()  # let go: the next slice claims it again
        session.commit()
    return True


def _claim(session: Session, job: ImportJob, now: datetime) -> bool:
    """Take the job unless a live runner holds it (atomic: the UPDATE re-checks the row)."""
    free = or_(ImportJob.status.in_(("pending", "failed")),
               and_(ImportJob.status == "running", ImportJob.updated_at < now - LEASE))
    claimed = session.execute(update(ImportJob).where(ImportJob.id == job.id, free).values(
        status="running", last_error=None, updated_at=now), execution_options={"synchronize_session": False})
    session.commit()
    session.refresh(job)
    return claimed.rowcount == 1


def _stop(t: "Tessera", session: Session, shop: Shop, job: ImportJob, message: str) -> None:
    session.rollback()
    session.refresh(job)
    job.status, job.last_error, job.updated_at = "failed", message, t.clock()
    session.commit()
    log.warning("import %s for %s stopped: %s", job.kind, shop.domain, message)


# ---- customers ------------------------------------------------------------------------------

def _run_customers(t: "Tessera", session: Session, shop: Shop, job: ImportJob, deadline: float,
                   max_pages: int | None) -> None:
    if job.total is None and not job.processed and not job.cursor:
        counted = call_admin(t.shopify, session, shop, CUSTOMERS_COUNT)["customersCount"] or {}
        # Beyond Shopify's counting limit the total is unknown; progress then shows what was done.
        job.total = counted.get("count") if counted.get("precision") == "EXACT" else None
        session.commit()  # the total stands on its own; Shopify is asked next with nothing pending
    pages = 0
    while job.status == "running":
        _import_customer_page(t, session, shop, job)
        pages += 1
        if (max_pages is not None and pages >= max_pages) or time.monotonic() >= deadline:
            return


def _import_customer_page(t: "Tessera", session: Session, shop: Shop, job: ImportJob) -> None:
    result = call_admin_partial(t.shopify, session, shop, CUSTOMERS_PAGE, {"after": job.cursor})
    _warn_withheld(job, withheld_customer_fields(result))
    page = result.data["customers"]
    for node in page["nodes"]:
        # Exactly what a customers/update webhook does: the member, the profile, and the
        # automatic action points the program gives (e.g. sign-up points for enabled accounts).
        apply_customer(session, shop, customer_payload(node), now=t.clock())
    # The cursor moves only with the page's effects, in one commit: a crash in between
    # repeats the page, which the idempotency keys make harmless.
    job.processed += len(page["nodes"])
    job.updated_at = t.clock()
    if page["pageInfo"]["hasNextPage"]:
        job.cursor = page["pageInfo"]["endCursor"]
    else:
        job.status, job.finished_at = "done", t.clock()
    session.commit()


def _warn_withheld(job: ImportJob, fields: list[str]) -> None:
    """Say on the job (the import page shows it) which customer fields Shopify withheld and what
    the owner can do; committed with the page that lacked them."""
    earlier = next((w for w in job.warnings or [] if w.get("kind") == WITHHELD), {"fields": []})
    union = sorted(set(fields) | set(earlier["fields"]))
    if union == earlier["fields"]:
        return
    others = [w for w in job.warnings or [] if w.get("kind") != WITHHELD]
    job.warnings = [*others, {"kind": WITHHELD, "fields": union, "message": withheld_advice(union)}]
    log.warning("import %s %s for shop %s: %s", job.kind, job.id, job.shop_id, withheld_advice(union))


def customer_payload(node: dict) -> dict[str, Any]:
    """A GraphQL customer in the REST webhook shape the customer service reads."""
    # A customer without an email or phone has no default address of that kind (null).
    email = node.get("defaultEmailAddress") or {}
    consent = email.get("marketingState") or ""
    return {"id": int(node["legacyResourceId"]), "email": email.get("emailAddress"), "first_name": node.get("firstName"),
            "last_name": node.get("lastName"), "phone": (node.get("defaultPhoneNumber") or {}).get("phoneNumber"),
            "state": (node.get("state") or "").lower() or None, "created_at": node.get("createdAt"),
            "email_marketing_consent": {"state": consent.lower()}, "locale": node.get("locale"),
            "tags": node.get("tags")}


# ---- historical orders ----------------------------------------------------------------------

@dataclass
class _BulkProgress:
    """The cursor of an orders import: export (Shopify writes the file) -> download (its lines
    are kept) -> settle (the kept orders are imported) -> tiers."""

    phase: str = "export"
    operation_id: str | None = None
    objects: int = 0  # orders Shopify has written so far, while it runs
    lines: int = 0  # lines of the file kept and committed
    offset: int = 0  # bytes of the file kept and committed
    settled_through: int = 0  # the kept line of the last order imported
    without_customer_profile: bool = False  # Shopify withheld protected customer fields

    @classmethod
    def load(cls, cursor: str | None) -> "_BulkProgress":
        try:
            data = json.loads(cursor) if cursor else {}
        except ValueError:
            data = {}  # a page cursor of the paged import this replaced: start with an export
        if not isinstance(data, dict):
            data = {}
        if data.get("phase") == "import":  # read the file in one pass before lines were kept: keep them all
            data.update(phase="download", lines=0, offset=0)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def dump(self) -> str:
        return json.dumps(asdict(self))

    def restart_export(self) -> None:
        """A new export is a new file: read from its start (orders imported already are
        recognised and skipped)."""
        self.phase, self.operation_id, self.objects, self.lines, self.offset = "export", None, 0, 0, 0
        self.settled_through = 0


def _run_orders(t: "Tessera", session: Session, shop: Shop, job: ImportJob, deadline: float) -> None:
    progress = _BulkProgress.load(job.cursor)
    operation, started = None, False
    # Every slice moves the job on by at least one step, however short its budget.
    while job.status == "running" and (not started or time.monotonic() < deadline):
        started = True
        if progress.phase == "export":
            operation = _export(t, session, shop, job, progress)
            if progress.phase == "export":
                (t.sleep or time.sleep)(min(EXPORT_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
                return  # Shopify is still writing the file; the next slice asks again
        elif progress.phase == "download":
            operation = operation or _operation(t.shopify, session, shop, progress.operation_id)
            _download_file(t, session, shop, job, progress, operation, deadline)
        elif progress.phase == "settle":
            _settle_kept(t, session, shop, job, progress, deadline)
        else:
            recompute_tiers(session, shop, now=t.clock())
            _save(t, session, job, progress, done=True)


def _save(t: "Tessera", session: Session, job: ImportJob, progress: _BulkProgress, *, done: bool = False) -> None:
    job.cursor, job.updated_at = progress.dump(), t.clock()
    if done:
        job.status, job.finished_at = "done", t.clock()
    session.commit()


def _restart_export(t: "Tessera", session: Session, job: ImportJob, progress: _BulkProgress) -> None:
    forget_lines(session, session.get(Shop, job.shop_id), job)
    progress.restart_export()
    job.processed, job.total = 0, None
    _save(t, session, job, progress)


def _operation(shopify: AdminAccess, session: Session, shop: Shop, operation_id: str) -> dict[str, Any]:
    operation = call_admin(shopify, session, shop, BULK_OPERATION, {"id": operation_id}).get("node")
    if not operation:
        raise _ImportStopped("Shopify no longer knows the orders export this import was reading")
    return operation


def _export(t: "Tessera", session: Session, shop: Shop, job: ImportJob, progress: _BulkProgress) -> dict | None:
    """Start Shopify's bulk export, or see how far it got; moves to the import phase when the
    file is ready."""
    if progress.operation_id is None:
        progress.operation_id = _start_export(t.shopify, session, shop, _export_query(t, job, progress))
        _save(t, session, job, progress)
    operation = _operation(t.shopify, session, shop, progress.operation_id)
    status = operation["status"]
    if status in ("CREATED", "RUNNING"):
        progress.objects = int(operation.get("rootObjectCount") or 0)
    elif status == "COMPLETED":
        progress.phase, progress.objects = "download", int(operation.get("rootObjectCount") or 0)
        job.total = progress.objects
        if progress.without_customer_profile:  # it was the protected fields: say so
            _warn_withheld(job, ["email", "firstName", "lastName"])
    elif operation.get("errorCode") == "ACCESS_DENIED" and not progress.without_customer_profile:
        # Shopify fails a whole bulk operation over withheld fields: export again without the
        # protected customer fields (if it was a missing scope instead, that fails again).
        progress.restart_export()
        progress.without_customer_profile = True
    else:  # FAILED, CANCELED or EXPIRED: resuming starts a new export
        reason = operation.get("errorCode") or status.lower()
        _restart_export(t, session, job, progress)
        raise _ImportStopped(f"Shopify's orders export ended without a file ({reason})")
    _save(t, session, job, progress)
    return operation


def _export_query(t: "Tessera", job: ImportJob, progress: _BulkProgress) -> str:
    since = (job.options or {}).get("since") or default_history_since(t.clock()).isoformat()
    return bulk_orders_query(since, customer_profile=not progress.without_customer_profile)


def _start_export(shopify: AdminAccess, session: Session, shop: Shop, query: str) -> str:
    try:
        started = call_admin(shopify, session, shop, RUN_BULK_QUERY, {"query": query})
    except ShopifyUserErrors as exc:
        if "OPERATION_IN_PROGRESS" not in exc.codes:
            raise
        # Ours, if a run stopped before saving its id; anyone else's must finish first.
        latest = call_admin(shopify, session, shop, LATEST_BULK_QUERY)["bulkOperations"]["nodes"]
        current = latest[0] if latest else {}
        if current.get("query", "").strip() == query.strip():
            return current["id"]
        raise _ImportStopped("Another export of this app is still running in Shopify; wait a few minutes") from exc
    return started["bulkOperationRunQuery"]["bulkOperation"]["id"]


def _download_file(t: "Tessera", session: Session, shop: Shop, job: ImportJob, progress: _BulkProgress,
                   operation: dict, deadline: float) -> None:
    """Keep the file's lines from the committed offset, until the deadline or the end of the
    file (then the settle phase). A broken download is taken up again from the last commit."""
    url = operation.get("url")
    if url is None:  # Shopify writes no file when no order matched
        progress.phase = "settle"
        return _save(t, session, job, progress)
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        try:
            if _keep_chunks(t, session, shop, job, progress, url, deadline):
                _check_whole(progress, operation)
                lines_all_kept(session)
                progress.phase = "settle"
                _save(t, session, job, progress)
            return
        except BulkDownloadError:
            # Raised while reading the next chunk, so nothing is pending: job and progress stand
            # at the last commit. A fresh link (or a new export once the file expired), then again.
            session.rollback()
            operation = _operation(t.shopify, session, shop, progress.operation_id)
            if operation["status"] == "EXPIRED":  # the file is gone after 7 days: export again
                return _restart_export(t, session, job, progress)
            if attempt == DOWNLOAD_ATTEMPTS:
                raise
            url = operation.get("url") or url
            (t.sleep or time.sleep)(attempt)


def _keep_chunks(t: "Tessera", session: Session, shop: Shop, job: ImportJob, progress: _BulkProgress, url: str,
                 deadline: float) -> bool:
    """True when the end of the file was reached."""
    with closing(stream_lines(t.http, url, start_offset=progress.offset)) as lines:  # ends the download
        for chunk in _chunks(lines, KEEP_LINES):
            progress.lines += keep_lines(session, shop, job, (line for _, line in chunk))
            progress.offset = chunk[-1][0]
            _save(t, session, job, progress)  # the lines and how far the file is read, in one commit
            if time.monotonic() >= deadline:
                return False
    return True


def _check_whole(progress: _BulkProgress, operation: dict) -> None:
    size = int(operation.get("fileSize") or 0)
    if size and progress.offset != size:
        raise BulkDownloadError(f"the orders file ended after {progress.offset:,} of its {size:,} bytes")


def _settle_kept(t: "Tessera", session: Session, shop: Shop, job: ImportJob, progress: _BulkProgress,
                 deadline: float) -> None:
    """Batches of kept orders, until the deadline or the last one (then the tiers phase)."""
    earn = bool((job.options or {}).get("earn_points"))
    while True:
        kept = kept_orders(session, shop, job, after_id=progress.settled_through, limit=BATCH_ORDERS)
        if not kept:
            forget_lines(session, shop, job)
            progress.phase = "tiers"
            return _save(t, session, job, progress)
        _settle_batch(t, session, shop, job, progress, kept, earn)
        if time.monotonic() >= deadline:
            return


def _settle_batch(t: "Tessera", session: Session, shop: Shop, job: ImportJob, progress: _BulkProgress,
                  kept: list[tuple[int, BulkOrder]], earn: bool) -> None:
    orders = [order for _, order in kept]
    # Read before anything is written: no Shopify call inside an open write transaction.
    details = refund_details(t.shopify, session, shop, [r["id"] for order in orders for r in order.refunds])
    facts = [order_facts(with_refund_details(order, details)) for order in orders]
    report = import_order_batch(session, shop, facts, earn_points=earn, now=t.clock())
    progress.settled_through = kept[-1][0]
    job.processed += report.orders
    _save(t, session, job, progress)  # the batch and how far the kept orders are read, in one commit


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
