"""Retrying a failed webhook delivery from the Activity page (what the page shows is read by
app/queries/inbox_activity.py)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.errors import ActionNotAllowed, NotFound
from app.models import Shop, WebhookEvent
from app.services.inbox import retry_failed_event

if TYPE_CHECKING:
    from app.jobs.queues import Queue


def retry_event(session: Session, shop: Shop, event_id: int, *, now: datetime, queue: "Queue") -> WebhookEvent:
    """Put a failed delivery back in the queue and process it soon. Only failed ones: a
    pending delivery is already queued, a done one must not run twice."""
    event = session.scalar(select(WebhookEvent).where(WebhookEvent.shop_id == shop.id, WebhookEvent.id == event_id))
    if event is None:
        raise NotFound("That webhook delivery does not exist; reload the activity page.")
    if event.status != "failed":
        raise ActionNotAllowed(f"Only failed deliveries can be retried; this one is {event.status}.")
    if event.body_erased_at is not None:
        raise ActionNotAllowed("This delivery's body was erased (customer redacted or retention period over), "
                               "so it cannot be applied; Shopify's data is unchanged, nothing to retry.")
    retry_failed_event(session, shop, event_id, now)
    queue.enqueue("process_webhook_event", event.id)
    return event
