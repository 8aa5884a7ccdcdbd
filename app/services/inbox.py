"""The webhook inbox: record deliveries durably, then process each exactly once.

Recording happens in the request (and commits before Shopify gets its 200). Processing is a
job: claim the row with a lease, run the topic's service and mark the row done in one
transaction. The "done" update only succeeds for the worker holding the lease, so a worker
that lost its lease (crashed, or too slow) can never commit a second set of effects; and a
crash between claim and commit leaves the row to be claimed again when the lease runs out.
"""
from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.models import Shop, WebhookEvent
from app.shopify.webhook_payloads import payload_mismatch
from app.upsert import insert_ignoring_conflicts

if TYPE_CHECKING:
    from app.db import Database
    from app.runtime import Tessera

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8


class UnprocessableEvent(Exception):
    """The delivery can never be processed (bad shape); retrying would not help."""


@dataclass
class HandlerContext:
    session: Session
    shop: Shop
    topic: str
    payload: Any
    event: WebhookEvent
    now: datetime
    tessera: "Tessera"


@dataclass(frozen=True)
class Delivery:
    event_id: int
    is_new: bool
    status: str


def delivery_key(headers: Mapping[str, str], topic: str, body: bytes) -> str:
    """Shopify's per-delivery id; older deliveries may only carry the event id."""
    if headers.get("X-Shopify-Webhook-Id"):
        return headers["X-Shopify-Webhook-Id"][:128]
    if headers.get("X-Shopify-Event-Id"):
        return f"event:{topic}:{headers['X-Shopify-Event-Id']}"[:128]
    return "sha256:" + hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _initial_status(topic: str, body: bytes, known_topics: Iterable[str]) -> tuple[str, str | None]:
    if topic not in set(known_topics):
        return "failed", (f"Tessera has no handler for topic '{topic}'; check the webhook subscriptions "
                          "in shopify.app.toml")
    try:
        json.loads(body)
    except ValueError as exc:
        return "failed", f"body is not valid JSON ({exc}); Shopify will not resend it, so it was kept for review"
    return "pending", None


_INSERT = insert_ignoring_conflicts(WebhookEvent.__table__, ("shop_id", "delivery_key"))
_EXISTING = select(WebhookEvent.id, WebhookEvent.status).where(
    WebhookEvent.shop_id == bindparam("shop_id"), WebhookEvent.delivery_key == bindparam("delivery_key"))


def record_delivery(db: "Database", shop_id: int, *, topic: str, headers: Mapping[str, str], body: bytes,
                    known_topics: Iterable[str], now: datetime) -> Delivery:
    """The one write of the acknowledgement path (Core, one short transaction): the delivery is
    durable when this returns. A delivery key already stored is a duplicate, not an error."""
    key = delivery_key(headers, topic, body)
    status, error = _initial_status(topic, body, known_topics)
    values = dict(shop_id=shop_id, topic=topic[:64], delivery_key=key,
                  event_id=(headers.get("X-Shopify-Event-Id") or None),
                  triggered_at=_parse_time(headers.get("X-Shopify-Triggered-At")),
                  api_version=(headers.get("X-Shopify-API-Version") or None), body=body, status=status, attempts=0,
                  last_error=error, received_at=now, next_attempt_at=None, locked_by=None, locked_until=None,
                  processed_at=None, body_erased_at=None)
    with db.engine.connect() as connection:
        inserted_id = connection.execute(_INSERT, values).scalar()
        if inserted_id is None:  # a duplicate delivery: report the row we already hold
            row = connection.execute(_EXISTING, {"shop_id": shop_id, "delivery_key": key}).one()
            connection.commit()
            return Delivery(event_id=row.id, is_new=False, status=row.status)
        connection.commit()
    if error:
        log.warning("webhook %s for shop %s recorded as failed: %s", topic, shop_id, error)
    return Delivery(event_id=inserted_id, is_new=True, status=status)


def _claimable(now: datetime):
    due = and_(WebhookEvent.status == "pending",
               or_(WebhookEvent.next_attempt_at.is_(None), WebhookEvent.next_attempt_at <= now))
    abandoned = and_(WebhookEvent.status == "processing", WebhookEvent.locked_until < now)
    return or_(due, abandoned)


def claim_event(session: Session, event_id: int, worker_id: str, now: datetime) -> bool:
    result = session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id, _claimable(now)).values(
        status="processing", locked_by=worker_id, locked_until=now + LEASE, attempts=WebhookEvent.attempts + 1))
    session.commit()
    return result.rowcount == 1


def due_event_ids(session: Session, now: datetime, limit: int = 100) -> list[int]:
    return list(session.scalars(select(WebhookEvent.id).where(_claimable(now))
                                .order_by(WebhookEvent.received_at, WebhookEvent.id).limit(limit)))


def _finish(session: Session, event_id: int, worker_id: str, **values: Any) -> bool:
    result = session.execute(update(WebhookEvent).where(
        WebhookEvent.id == event_id, WebhookEvent.status == "processing", WebhookEvent.locked_by == worker_id
    ).values(locked_by=None, locked_until=None, **values))
    return result.rowcount == 1


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 10 * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2))


def process_webhook_event(t: "Tessera", event_id: int, worker_id: str,
                          handlers: Mapping[str, Callable[[HandlerContext], None]]) -> str:
    """Claim and process one inbox row; returns what happened (done, retry, failed, skipped)."""
    with t.db.scope() as session:
        if not claim_event(session, event_id, worker_id, t.clock()):
            return "skipped"
    with t.db.scope() as session:
        event = session.get(WebhookEvent, event_id)
        ctx = HandlerContext(session=session, shop=session.get(Shop, event.shop_id), topic=event.topic,
                             payload=None, event=event, now=t.clock(), tessera=t)
        try:
            ctx.payload = _payload(event)
            _check_body_matches_headers(event, ctx.payload, ctx.shop)
            if event.topic not in handlers:
                raise UnprocessableEvent(f"no handler for topic '{event.topic}'")
            handlers[event.topic](ctx)
            if not _finish(session, event_id, worker_id, status="done", processed_at=ctx.now, last_error=None):
                session.rollback()
                log.warning("webhook event %s: lease lost before commit; left to its new owner", event_id)
                return "skipped"
            session.commit()
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
            _rollback_quietly(session)
            return _record_failure_when_reachable(t, event_id, worker_id, exc)
    return "done"


def _rollback_quietly(session: Session) -> None:
    try:
        session.rollback()
    except DBAPIError:  # the connection is gone (database restarting): nothing to roll back
        log.warning("rollback failed on a lost database connection", exc_info=True)


FAILURE_RECORDING_SECONDS = 30


def _record_failure_when_reachable(t: "Tessera", event_id: int, worker_id: str, exc: Exception) -> str:
    """The failure is often the database itself restarting; recording it needs the database too.
    Keep trying for a while: a row left "processing" would otherwise wait out its whole lease."""
    deadline = time.monotonic() + FAILURE_RECORDING_SECONDS
    while True:
        try:
            return _record_failure(t, event_id, worker_id, exc)
        except DBAPIError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _payload(event: WebhookEvent) -> Any:
    if event.body_erased_at is not None:
        raise UnprocessableEvent("the body was erased (customer redacted or retention period over); "
                                 "it cannot be applied")
    try:
        return json.loads(event.body)
    except ValueError as exc:
        raise UnprocessableEvent(f"body is not valid JSON ({exc})") from exc


def _check_body_matches_headers(event: WebhookEvent, payload: Any, shop: Shop) -> None:
    """The HMAC does not cover the topic and shop headers: a body replayed under another topic
    or shop is authentic but not this delivery, so it is refused before anything is applied."""
    problem = payload_mismatch(event.topic, payload, shop.domain)
    if problem:
        raise UnprocessableEvent(f"the body does not match the delivery's headers: {problem}. Nothing was applied.")


def _record_failure(t: "Tessera", event_id: int, worker_id: str, exc: Exception) -> str:
    with t.db.scope() as session:
        event = session.get(WebhookEvent, event_id)
        permanent = isinstance(exc, UnprocessableEvent) or event.attempts >= MAX_ATTEMPTS
        message = f"{type(exc).__name__}: {exc}"[:2000]
        if permanent:
            _finish(session, event_id, worker_id, status="failed", last_error=message)
        else:
            _finish(session, event_id, worker_id, status="pending", last_error=message,
                    next_attempt_at=t.clock() + retry_delay(event.attempts))
        session.commit()
    log.log(logging.ERROR if permanent else logging.WARNING, "webhook event %s %s: %s", event_id,
            "failed for good" if permanent else "will be retried", message, exc_info=not permanent)
    return "failed" if permanent else "retry"


def retry_failed_event(session: Session, shop: Shop, event_id: int, now: datetime) -> WebhookEvent | None:
    """Owner's "retry" from the activity page: put a failed delivery back in the queue."""
    event = session.scalar(select(WebhookEvent).where(WebhookEvent.shop_id == shop.id, WebhookEvent.id == event_id))
    if event is None or event.status != "failed" or event.body_erased_at is not None:
        return event
    event.status, event.next_attempt_at, event.attempts = "pending", now, 0
    session.commit()
    return event


RETENTION_BATCH = 1000


def erase_old_delivery_bodies(db: "Database", now: datetime, retention_days: int) -> int:
    """Raw bodies are kept only while they may be needed (processing, retries, a support question):
    processed ones older than the retention period are blanked, a batch per short transaction so
    webhook acknowledgements never wait long for the write lock. Returns how many were blanked."""
    cutoff = now - timedelta(days=retention_days)
    expired = select(WebhookEvent.id).where(
        WebhookEvent.status == "done", WebhookEvent.processed_at < cutoff,
        WebhookEvent.body_erased_at.is_(None)).limit(RETENTION_BATCH)
    erased = 0
    while True:
        with db.scope() as session:
            ids = list(session.scalars(expired))
            if not ids:
                return erased
            session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(ids), WebhookEvent.status == "done")
                            .values(body=b"", body_erased_at=now))
            session.commit()
        erased += len(ids)
