"""Admin API imports as jobs (customers and historical orders; starting balances from a CSV file
are services/balance_import.py): starting one, and running it a slice at a time.

An import is an `import_jobs` row that runs in slices: a background worker task (`run_import`,
which queues its own next slice so other jobs get their turn) or, where no worker runs, the
import page calling `run_import_step` while it is open. Each slice claims the job (status
`running`, refreshed with every commit) so two runners never work on one job, and its progress is
committed with the data it covers: an import stopped anywhere (process killed, Shopify down)
resumes where its last commit left it, and whatever is done twice is harmless (the ledger's
idempotency keys). What each kind does per slice: services/customers_import.py and
services/orders_import.py. Customer fields Shopify withholds (protected customer data not
approved) are left out and named on the job with what the owner can do, instead of stopping it.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app.db import Database
from app.loyalty.errors import InvalidInput
from app.models import ImportJob, Shop
from app.queries.imports import find_import
from app.services.customers_import import import_customers
from app.services.import_progress import API_KINDS, LEASE, RESUMABLE, ImportStopped, is_stalled
from app.services.orders_import import default_history_since, import_orders
from app.shopify.admin_access import AdminAccess, ShopNeedsReauth
from app.shopify.bulk import BulkDownloadError, BulkFileError
from app.shopify.graphql import ShopifyError

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
WORKER_SLICE_SECONDS = 20.0  # then the worker task queues the next slice behind other jobs
PAGE_STEP_SECONDS = 3.0
EARLIEST_HISTORY = date(2006, 1, 1)


def runs_in_background(config: Mapping[str, Any]) -> bool:
    """A worker runs imports (RQ, or the in-process worker) and the page only watches; without
    one (a bare development server, tests) the page runs the import a few seconds per request."""
    return bool(config.get("REDIS_URL") or config.get("INPROCESS_WORKER"))


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
        active = job.status != "failed" and not is_stalled(job, now)
    if enqueue is not None and not active:
        enqueue("run_import", shop.id, job.id)
    return job


def run_import_step(admin: AdminAccess, session: Session, shop: Shop, job: ImportJob, *, clock: Clock,
                    max_pages: int | None = None, budget_seconds: float = PAGE_STEP_SECONDS) -> ImportJob:
    """Import from where the job stands for about `budget_seconds` (customers: or `max_pages`
    pages), then let go of the job. Does nothing if another runner holds it. A Shopify failure
    stops the job as "failed" with the reason; running it again resumes."""
    _run_slice(admin, session, shop, job, clock=clock, max_pages=max_pages, budget_seconds=budget_seconds)
    return job


def run_import(db: Database, admin: AdminAccess, shop_id: int, job_id: int, *, clock: Clock) -> bool:
    """One worker slice; True when the job needs another (the task queues it). A job held by
    another runner is left to it: that runner queues what comes next."""
    with db.scope() as session:
        shop = session.get(Shop, shop_id)
        job = find_import(session, shop, job_id)
        ran = _run_slice(admin, session, shop, job, clock=clock, max_pages=None, budget_seconds=WORKER_SLICE_SECONDS)
        return ran and job.status == "pending"


def _run_slice(admin: AdminAccess, session: Session, shop: Shop, job: ImportJob, *, clock: Clock,
               max_pages: int | None, budget_seconds: float) -> bool:
    """True if this runner claimed the job and worked on it."""
    if job.status == "done" or job.kind not in API_KINDS or not _claim(session, job, clock()):
        return False
    deadline = time.monotonic() + budget_seconds
    try:
        if job.kind == "customers":
            import_customers(admin, session, shop, job, deadline=deadline, max_pages=max_pages, clock=clock)
        else:
            import_orders(admin, session, shop, job, deadline=deadline, clock=clock)
    except BulkFileError as exc:
        _stop(session, shop, job, f"Shopify's export file cannot be read ({exc}). Please report this; resuming "
                                 "starts reading at the same place.", clock())
    except (ShopifyError, ShopNeedsReauth, BulkDownloadError, ImportStopped) as exc:
        _stop(session, shop, job, f"{exc}. Resume the import to continue where it stopped.", clock())
    except Exception as exc:
        _stop(session, shop, job, f"Tessera stopped on an unexpected error ({type(exc).__name__}). Resume the "
                                 "import to try again.", clock())
        raise
    if job.status == "running":
        job.status, job.updated_at = "pending", clock()  # let go: the next slice claims it again
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


def _stop(session: Session, shop: Shop, job: ImportJob, message: str, now: datetime) -> None:
    session.rollback()
    session.refresh(job)
    job.status, job.last_error, job.updated_at = "failed", message, now
    session.commit()
    log.warning("import %s for %s stopped: %s", job.kind, shop.domain, message)
