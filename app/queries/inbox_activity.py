"""The webhook inbox as the owner sees it on the Activity page: what arrived, what failed and why.
(Retrying a failed delivery is a use case: app/services/webhook_activity.py.)"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Shop, WebhookEvent
from app.parsing import whole_number

STATUSES = ("pending", "processing", "done", "failed")


def status_counts(session: Session, shop: Shop) -> dict[str, int]:
    counts = dict(session.execute(select(WebhookEvent.status, func.count()).where(WebhookEvent.shop_id == shop.id)
                                  .group_by(WebhookEvent.status)).all())
    return {status: int(counts.get(status, 0)) for status in STATUSES}


def event_filter(status: str | None, before: str | None) -> dict[str, Any]:
    """recent_events' filter from a page's query: an unknown status is ignored, a cursor that is
    not an event id is a 400."""
    return {"status": status if status in STATUSES else None,
            "before_id": whole_number(before, "before", minimum=1, status=400) if before else None}


def recent_events(session: Session, shop: Shop, *, status: str | None = None, before_id: int | None = None,
                  limit: int = 50) -> list[WebhookEvent]:
    query = select(WebhookEvent).where(WebhookEvent.shop_id == shop.id)
    if status in STATUSES:
        query = query.where(WebhookEvent.status == status)
    if before_id:
        query = query.where(WebhookEvent.id < before_id)
    return list(session.scalars(query.order_by(WebhookEvent.id.desc()).limit(limit)))


def subject_of(event: WebhookEvent) -> str:
    """What the delivery was about, in a few words (order name, customer or refund id)."""
    if event.body_erased_at is not None:
        return "body erased (retention period or customer redact)"
    try:
        body = json.loads(event.body)
    except ValueError:
        return "unreadable body"
    if not isinstance(body, dict):
        return ""
    if body.get("name"):
        return f"Order {body['name']}"
    if event.topic.startswith("refunds/") and body.get("order_id"):
        return f"Refund {body.get('id')} on order {body['order_id']}"
    if event.topic.startswith("customers/") and body.get("id"):
        return f"Customer {body['id']}"
    return str(body.get("id") or body.get("shop_domain") or "")


def event_json(event: WebhookEvent) -> dict[str, Any]:
    return {"id": event.id, "topic": event.topic, "status": event.status, "attempts": event.attempts,
            "subject": subject_of(event), "last_error": event.last_error,
            "received_at": event.received_at.isoformat(),
            "processed_at": event.processed_at.isoformat() if event.processed_at else None,
            "next_attempt_at": event.next_attempt_at.isoformat() if event.next_attempt_at else None}
