"""The historical orders import, from a bulk operation: Shopify writes the orders processed since
the owner's date into a JSONL file, polled for until it is ready. Its lines come in no promised
order, so they are first kept (services.bulk_staging) as the file streams in, then read back
1000 orders at a time with their children and their refunds' details (read by id: the export
cannot carry them) into services.bulk_import. The job's cursor (OrdersProgress) holds the
operation's id, how much of the file is kept (lines and bytes, so a resumed download asks for the
rest only) and the last kept order imported."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.loyalty.expiry import add_months
from app.models import ImportJob, Shop
from app.services.bulk_import import BATCH_ORDERS, import_order_batch, order_facts
from app.services.bulk_staging import forget_lines, keep_lines, kept_orders, lines_all_kept
from app.services.import_progress import ImportStopped, OrdersProgress, warn_withheld
from app.services.reconcile import refund_details
from app.services.tier_recompute import recompute_tiers
from app.shopify.admin_access import AdminAccess, call_admin
from app.shopify.bulk import BulkDownloadError, BulkOrder, stream_lines, with_refund_details
from app.shopify.documents import BULK_OPERATION, LATEST_BULK_QUERY, RUN_BULK_QUERY, bulk_orders_query
from app.shopify.graphql import ShopifyUserErrors

Clock = Callable[[], datetime]

EXPORT_POLL_SECONDS = 3.0
KEEP_LINES = 5000  # lines of the export file kept per commit
DOWNLOAD_ATTEMPTS = 3
HISTORY_MONTHS = 12


def default_history_since(now: datetime) -> date:
    return add_months(now, -HISTORY_MONTHS).date()


def import_orders(admin: AdminAccess, session: Session, shop: Shop, job: ImportJob, *, deadline: float,
                  clock: Clock) -> None:
    """Moves the job on from where its cursor stands until the (time.monotonic) deadline."""
    progress = OrdersProgress.load(job.cursor)
    operation, started = None, False
    # Every slice moves the job on by at least one step, however short its budget.
    while job.status == "running" and (not started or time.monotonic() < deadline):
        started = True
        if progress.phase == "export":
            operation = _export(admin, clock, session, shop, job, progress)
            if progress.phase == "export":
                (admin.sleep or time.sleep)(min(EXPORT_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
                return  # Shopify is still writing the file; the next slice asks again
        elif progress.phase == "download":
            operation = operation or _operation(admin, session, shop, progress.operation_id)
            _download_file(admin, clock, session, shop, job, progress, operation, deadline)
        elif progress.phase == "settle":
            _settle_kept(admin, clock, session, shop, job, progress, deadline)
        else:
            recompute_tiers(session, shop, now=clock())
            _save(clock, session, job, progress, done=True)


def _save(clock: Clock, session: Session, job: ImportJob, progress: OrdersProgress, *, done: bool = False) -> None:
    job.cursor, job.updated_at = progress.dump(), clock()
    if done:
        job.status, job.finished_at = "done", clock()
    session.commit()


def _restart_export(clock: Clock, session: Session, job: ImportJob, progress: OrdersProgress) -> None:
    forget_lines(session, session.get(Shop, job.shop_id), job)
    progress.restart_export()
    job.processed, job.total = 0, None
    _save(clock, session, job, progress)


def _operation(shopify: AdminAccess, session: Session, shop: Shop, operation_id: str) -> dict[str, Any]:
    operation = call_admin(shopify, session, shop, BULK_OPERATION, {"id": operation_id}).get("node")
    if not operation:
        raise ImportStopped("Shopify no longer knows the orders export this import was reading")
    return operation


def _export(admin: AdminAccess, clock: Clock, session: Session, shop: Shop, job: ImportJob,
            progress: OrdersProgress) -> dict | None:
    """Start Shopify's bulk export, or see how far it got; moves to the import phase when the
    file is ready."""
    if progress.operation_id is None:
        progress.operation_id = _start_export(admin, session, shop, _export_query(clock, job, progress))
        _save(clock, session, job, progress)
    operation = _operation(admin, session, shop, progress.operation_id)
    status = operation["status"]
    if status in ("CREATED", "RUNNING"):
        progress.objects = int(operation.get("rootObjectCount") or 0)
    elif status == "COMPLETED":
        progress.phase, progress.objects = "download", int(operation.get("rootObjectCount") or 0)
        job.total = progress.objects
        if progress.without_customer_profile:  # it was the protected fields: say so
            warn_withheld(job, ["email", "firstName", "lastName"])
    elif operation.get("errorCode") == "ACCESS_DENIED" and not progress.without_customer_profile:
        # Shopify fails a whole bulk operation over withheld fields: export again without the
        # protected customer fields (if it was a missing scope instead, that fails again).
        progress.restart_export()
        progress.without_customer_profile = True
    else:  # FAILED, CANCELED or EXPIRED: resuming starts a new export
        reason = operation.get("errorCode") or status.lower()
        _restart_export(clock, session, job, progress)
        raise ImportStopped(f"Shopify's orders export ended without a file ({reason})")
    _save(clock, session, job, progress)
    return operation


def _export_query(clock: Clock, job: ImportJob, progress: OrdersProgress) -> str:
    since = (job.options or {}).get("since") or default_history_since(clock()).isoformat()
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
        raise ImportStopped("Another export of this app is still running in Shopify; wait a few minutes") from exc
    return started["bulkOperationRunQuery"]["bulkOperation"]["id"]


def _download_file(admin: AdminAccess, clock: Clock, session: Session, shop: Shop, job: ImportJob,
                   progress: OrdersProgress, operation: dict, deadline: float) -> None:
    """Keep the file's lines from the committed offset, until the deadline or the end of the
    file (then the settle phase). A broken download is taken up again from the last commit."""
    url = operation.get("url")
    if url is None:  # Shopify writes no file when no order matched
        progress.phase = "settle"
        return _save(clock, session, job, progress)
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        try:
            if _keep_chunks(admin, clock, session, shop, job, progress, url, deadline):
                _check_whole(progress, operation)
                lines_all_kept(session)
                progress.phase = "settle"
                _save(clock, session, job, progress)
            return
        except BulkDownloadError:
            # Raised while reading the next chunk, so nothing is pending: job and progress stand
            # at the last commit. A fresh link (or a new export once the file expired), then again.
            session.rollback()
            operation = _operation(admin, session, shop, progress.operation_id)
            if operation["status"] == "EXPIRED":  # the file is gone after 7 days: export again
                return _restart_export(clock, session, job, progress)
            if attempt == DOWNLOAD_ATTEMPTS:
                raise
            url = operation.get("url") or url
            (admin.sleep or time.sleep)(attempt)


def _keep_chunks(admin: AdminAccess, clock: Clock, session: Session, shop: Shop, job: ImportJob,
                 progress: OrdersProgress, url: str, deadline: float) -> bool:
    """True when the end of the file was reached."""
    with closing(stream_lines(admin.http, url, start_offset=progress.offset)) as lines:  # ends the download
        for chunk in _chunks(lines, KEEP_LINES):
            progress.lines += keep_lines(session, shop, job, (line for _, line in chunk))
            progress.offset = chunk[-1][0]
            _save(clock, session, job, progress)  # the lines and how far the file is read, in one commit
            if time.monotonic() >= deadline:
                return False
    return True


def _check_whole(progress: OrdersProgress, operation: dict) -> None:
    size = int(operation.get("fileSize") or 0)
    if size and progress.offset != size:
        raise BulkDownloadError(f"the orders file ended after {progress.offset:,} of its {size:,} bytes")


def _settle_kept(admin: AdminAccess, clock: Clock, session: Session, shop: Shop, job: ImportJob,
                 progress: OrdersProgress, deadline: float) -> None:
    """Batches of kept orders, until the deadline or the last one (then the tiers phase)."""
    earn = bool((job.options or {}).get("earn_points"))
    while True:
        kept = kept_orders(session, shop, job, after_id=progress.settled_through, limit=BATCH_ORDERS)
        if not kept:
            forget_lines(session, shop, job)
            progress.phase = "tiers"
            return _save(clock, session, job, progress)
        _settle_batch(admin, clock, session, shop, job, progress, kept, earn)
        if time.monotonic() >= deadline:
            return


def _settle_batch(admin: AdminAccess, clock: Clock, session: Session, shop: Shop, job: ImportJob,
                  progress: OrdersProgress, kept: list[tuple[int, BulkOrder]], earn: bool) -> None:
    orders = [order for _, order in kept]
    # Read before anything is written: no Shopify call inside an open write transaction.
    details = refund_details(admin, session, shop, [r["id"] for order in orders for r in order.refunds])
    facts = [order_facts(with_refund_details(order, details)) for order in orders]
    report = import_order_batch(session, shop, facts, earn_points=earn, now=clock())
    progress.settled_through = kept[-1][0]
    job.processed += report.orders
    _save(clock, session, job, progress)  # the batch and how far the kept orders are read, in one commit


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
