"""What waited while a shop needed re-authentication, put back to work once it reconnects.

While the token is refused: webhook deliveries that need the Admin API fail with
ShopNeedsReauth and back off (after MAX_ATTEMPTS they stop as failed); Admin API imports stop
as failed; the daily reconciliation skips the shop. Redemptions do not wait: they fail at once
and give the points back.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from app.db import Database
from app.models import ImportJob, Shop, WebhookEvent
from app.services.import_progress import API_KINDS
from app.shopify.admin_access import AdminAccess

if TYPE_CHECKING:
    from app.jobs.queues import Queue

# The inbox records failures as "<exception class>: <message>".
WAITING_ERROR_PREFIX = "ShopNeedsReauth:"
# Reconciliation normally looks two days back; after an outage it covers the outage too,
# up to Shopify's default 60-day order window.
RECONCILE_MIN_DAYS, RECONCILE_MAX_DAYS = 2, 60


def retry_deliveries_waiting_for_reauth(db: Database, shop_id: int, *, now: datetime) -> int:
    """Deliveries stopped by the missing token are due again now, with a fresh attempt budget."""
    with db.scope() as session:
        result = session.execute(update(WebhookEvent).where(
            WebhookEvent.shop_id == shop_id, WebhookEvent.status.in_(("pending", "failed")),
            WebhookEvent.last_error.startswith(WAITING_ERROR_PREFIX)).values(
            status="pending", attempts=0, next_attempt_at=now), execution_options={"synchronize_session": False})
        session.commit()
        return result.rowcount


def imports_stopped_since(db: Database, shop_id: int, flagged_at: datetime) -> list[int]:
    """Admin API imports that stopped while the shop could not call Shopify."""
    with db.scope(read_only=True) as session:
        return list(session.scalars(select(ImportJob.id).where(
            ImportJob.shop_id == shop_id, ImportJob.kind.in_(API_KINDS), ImportJob.status == "failed",
            ImportJob.updated_at >= flagged_at).order_by(ImportJob.id)))


def reconcile_window_start(now: datetime, flagged_at: datetime) -> datetime:
    days_missed = (now - flagged_at).days + 1
    return now - timedelta(days=min(RECONCILE_MAX_DAYS, max(RECONCILE_MIN_DAYS, days_missed)))


def resume_after_reconnect(db: Database, admin: AdminAccess, queue: "Queue", shop_id: int, flagged_at: datetime, *,
                           clock: Callable[[], datetime]) -> None:
    """Retry the deliveries, resume the imports, catch up on orders, re-check the install."""
    from app.services.reconcile import reconcile_shop

    retried = retry_deliveries_waiting_for_reauth(db, shop_id, now=clock())
    for job_id in imports_stopped_since(db, shop_id, flagged_at):
        queue.enqueue("run_import", shop_id, job_id)
    if retried:
        queue.enqueue("sweep_inbox")
    queue.enqueue("finish_install", shop_id)
    with db.scope() as session:
        reconcile_shop(admin, session, session.get(Shop, shop_id), since=reconcile_window_start(clock(), flagged_at),
                       clock=clock)
