"""The webhook inbox: record deliveries durably, then process each exactly once.

Recording happens in the request (and commits before Shopify gets its 200), many deliveries
per commit (webhooks/intake.py). The inbox is the queue: a processor claims a batch of due rows
with a lease, runs each row's topic service under a savepoint and marks it done, and commits
the batch once. The "done" update only succeeds for the worker holding the lease, so a worker
that lost its lease (crashed, or too slow) can never commit a second set of effects; and a
crash between claim and commit leaves the row to be claimed again when the lease runs out.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, TextClause, and_, bindparam, or_, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.models import Shop, WebhookEvent
from app.shopify.webhook_payloads import payload_mismatch

if TYPE_CHECKING:
    from app.db import Database
    from app.shopify.admin_access import AdminAccess

Clock = Callable[[], datetime]

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
    # The shop's Admin API, for the topics whose service asks Shopify for more (None: no Shopify here).
    admin: "AdminAccess | None" = None


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


def _initial_status(topic: str, known_topics: Iterable[str]) -> tuple[str, str | None]:
    """Only what is free to decide on the acknowledgement path; the body is parsed in processing."""
    if topic not in known_topics:
        return "failed", (f"Tessera has no handler for topic '{topic}'; check the webhook subscriptions "
                          "in shopify.app.toml")
    return "pending", None


def delivery_row(shop_id: int, *, topic: str, headers: Mapping[str, str], body: bytes,
                 known_topics: Iterable[str], now: datetime) -> dict[str, Any]:
    """The inbox row for one verified delivery, ready for record_deliveries."""
    status, error = _initial_status(topic, known_topics)
    return dict(shop_id=shop_id, topic=topic[:64], delivery_key=delivery_key(headers, topic, body),
                event_id=(headers.get("X-Shopify-Event-Id") or None),
                triggered_at=_parse_time(headers.get("X-Shopify-Triggered-At")),
                api_version=(headers.get("X-Shopify-API-Version") or None), body=body, status=status, attempts=0,
                last_error=error, received_at=now, next_attempt_at=None, locked_by=None, locked_until=None,
                processed_at=None, body_erased_at=None)


_EXISTING = select(WebhookEvent.id, WebhookEvent.status).where(
    WebhookEvent.shop_id == bindparam("shop_id"), WebhookEvent.delivery_key == bindparam("delivery_key"))


@functools.cache
def _insert_ignoring_duplicates(row_count: int) -> TextClause:
    """The acknowledgement path's one statement for a group of `row_count` rows, as SQL text both
    databases take (SQLite 3.35+, PostgreSQL 9.5+), built once per group size. The dialects'
    insert().on_conflict_do_nothing() has no cache key in SQLAlchemy 2.0, so it was compiled again
    for every group: most of an acknowledgement's CPU (bench/intake_write.py). Text is cached; the
    typed bind parameters keep the columns' conversions (aware UTC datetimes, bytes)."""
    table = WebhookEvent.__table__
    columns = [c for c in table.columns if not c.primary_key]
    values = ", ".join("(" + ", ".join(f":{c.name}_{n}" for c in columns) + ")" for n in range(row_count))
    sql = (f"INSERT INTO {table.name} ({', '.join(c.name for c in columns)}) VALUES {values} "
           "ON CONFLICT (shop_id, delivery_key) DO NOTHING RETURNING id, shop_id, delivery_key")
    return text(sql).bindparams(*(bindparam(f"{c.name}_{n}", type_=c.type) for n in range(row_count)
                                  for c in columns)).columns(table.c.id, table.c.shop_id, table.c.delivery_key)


def _numbered(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {f"{name}_{n}": value for n, row in enumerate(rows) for name, value in row.items()}


def record_deliveries(db: "Database", rows: list[dict[str, Any]], connection: Connection | None = None
                      ) -> list[Delivery]:
    """The one write of the acknowledgement path: all rows in one INSERT and one commit, so they
    are durable when this returns. A delivery key already stored (before, or earlier in `rows`)
    is a duplicate, not an error. Returns one Delivery per row, in order. The intake writer
    passes the connection it keeps (no pool checkout and ping per group)."""
    if connection is None:
        with db.engine.connect() as connection:
            return record_deliveries(db, rows, connection)
    # One multi-row INSERT (a duplicate key later in `rows` is skipped by ON CONFLICT too).
    inserted = {(r.shop_id, r.delivery_key): r.id for r in
                connection.execute(_insert_ignoring_duplicates(len(rows)), _numbered(rows))}
    deliveries, claimed = [], set()
    for row in rows:
        key = (row["shop_id"], row["delivery_key"])
        if key in inserted and key not in claimed:
            claimed.add(key)
            deliveries.append(Delivery(event_id=inserted[key], is_new=True, status=row["status"]))
            continue
        existing = connection.execute(_EXISTING, {"shop_id": key[0], "delivery_key": key[1]}).one()
        deliveries.append(Delivery(event_id=existing.id, is_new=False, status=existing.status))
    _commit_or_discard(connection)
    for row in rows:
        if row["last_error"]:
            log.warning("webhook %s for shop %s recorded as failed: %s", row["topic"], row["shop_id"], row["last_error"])
    return deliveries


def _commit_or_discard(connection) -> None:
    """After a failed COMMIT the connection's state is unknown (still in a transaction, or
    broken): it is closed rather than handed to the next acknowledgement."""
    try:
        connection.commit()
    except Exception:
        connection.invalidate()
        raise


def record_delivery(db: "Database", shop_id: int, *, topic: str, headers: Mapping[str, str], body: bytes,
                    known_topics: Iterable[str], now: datetime) -> Delivery:
    """One delivery written on its own (CLI, tests, benchmarks); requests go through the intake writer."""
    [delivery] = record_deliveries(db, [delivery_row(shop_id, topic=topic, headers=headers, body=body,
                                                     known_topics=known_topics, now=now)])
    return delivery


def _claimable(now: datetime):
    due = and_(WebhookEvent.status == "pending",
               or_(WebhookEvent.next_attempt_at.is_(None), WebhookEvent.next_attempt_at <= now))
    abandoned = and_(WebhookEvent.status == "processing", WebhookEvent.locked_until < now)
    return or_(due, abandoned)


def claim_event(session: Session, event_id: int, worker_id: str, now: datetime) -> bool:
    return claim_events(session, [event_id], worker_id, now) == [event_id]


def claim_events(session: Session, event_ids: list[int], worker_id: str, now: datetime) -> list[int]:
    """Lease the given rows that are still claimable; returns the ids this worker now holds."""
    held = list(session.scalars(update(WebhookEvent).where(WebhookEvent.id.in_(event_ids), _claimable(now)).values(
        status="processing", locked_by=worker_id, locked_until=now + LEASE, attempts=WebhookEvent.attempts + 1)
        .returning(WebhookEvent.id)))
    session.commit()
    return sorted(held)


def claim_due_events(session: Session, worker_id: str, now: datetime, limit: int) -> list[int]:
    """Lease up to `limit` due rows, oldest first. On PostgreSQL two processors skip each other's
    locked rows instead of waiting (SKIP LOCKED); SQLite's write transaction (BEGIN IMMEDIATE)
    admits one claimer at a time. Either way no row is held by two processors."""
    due = (select(WebhookEvent.id).where(_claimable(now)).order_by(WebhookEvent.received_at, WebhookEvent.id)
           .limit(limit).with_for_update(skip_locked=True))
    ids = list(session.scalars(due))
    if not ids:
        session.commit()
        return []
    return claim_events(session, ids, worker_id, now)


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


Handlers = Mapping[str, Callable[[HandlerContext], None]]


@dataclass(frozen=True)
class Processor:
    """One worker's way of processing deliveries: the database it claims from, its clock, its
    lease name, the topic services, and the Admin API handed to those that need Shopify."""
    db: "Database"
    clock: Clock
    worker_id: str
    handlers: Handlers
    admin: "AdminAccess | None" = None


# A batch handler receives consecutive deliveries of one shop and topic, in arrival order, and
# returns what happened to each. The default applies them one by one (apply_events_one_by_one);
# a topic may register a set-based one that settles the whole run at once.
BatchHandler = Callable[[Processor, Session, list[WebhookEvent]], dict[int, str]]

BATCH_SIZE = 100


def process_due_events(processor: Processor, *, limit: int = BATCH_SIZE,
                       batch_handlers: Mapping[str, BatchHandler] | None = None) -> dict[int, str]:
    """Claim a batch of due deliveries and process it; returns event id -> outcome."""
    with processor.db.scope() as session:
        held = claim_due_events(session, processor.worker_id, processor.clock(), limit)
    return process_claimed_events(processor, held, batch_handlers=batch_handlers)


def process_webhook_event(processor: Processor, event_id: int) -> str:
    """Claim and process one inbox row; returns what happened (done, retry, failed, skipped)."""
    with processor.db.scope() as session:
        if not claim_event(session, event_id, processor.worker_id, processor.clock()):
            return "skipped"
    return process_claimed_events(processor, [event_id])[event_id]


def process_claimed_events(processor: Processor, event_ids: list[int], *,
                           batch_handlers: Mapping[str, BatchHandler] | None = None) -> dict[int, str]:
    """First deliveries share one transaction; a delivery that failed before is retried in a
    transaction of its own, so one poison event never holds up (or rolls back) the others."""
    if not event_ids:
        return {}
    with processor.db.scope(read_only=True) as session:
        attempts = dict(session.execute(select(WebhookEvent.id, WebhookEvent.attempts)
                                        .where(WebhookEvent.id.in_(event_ids))).all())
    first = [i for i in event_ids if attempts.get(i) == 1]
    outcomes = _process_in_one_transaction(processor, first, batch_handlers or {}) if first else {}
    for event_id in (i for i in event_ids if i not in outcomes):
        outcomes |= _process_in_one_transaction(processor, [event_id], batch_handlers or {})
    return outcomes


def _process_in_one_transaction(processor: Processor, event_ids: list[int],
                                batch_handlers: Mapping[str, BatchHandler]) -> dict[int, str]:
    with processor.db.scope() as session:
        try:
            outcomes = {}
            for topic, run in _runs_by_shop_and_topic(session, event_ids):
                batch_handler = batch_handlers.get(topic, apply_events_one_by_one)
                outcomes |= batch_handler(processor, session, run)
            session.commit()
            return outcomes
        except Exception as exc:  # noqa: BLE001 - the transaction itself failed (database lost)
            _rollback_quietly(session)
            return {event_id: _record_failure_when_reachable(processor, event_id, exc) for event_id in event_ids}


def _runs_by_shop_and_topic(session: Session, event_ids: list[int]):
    """Consecutive deliveries of one topic per shop, each shop's in arrival order: a batch handler
    may settle a run at once without reordering, say, an order's create and its later update."""
    events = session.scalars(select(WebhookEvent).where(WebhookEvent.id.in_(event_ids))
                             .order_by(WebhookEvent.shop_id, WebhookEvent.received_at, WebhookEvent.id)).all()
    run: list[WebhookEvent] = []
    for event in events:
        if run and (run[-1].shop_id, run[-1].topic) != (event.shop_id, event.topic):
            yield run[0].topic, run
            run = []
        run.append(event)
    if run:
        yield run[0].topic, run


def apply_events_one_by_one(processor: Processor, session: Session, events: list[WebhookEvent]) -> dict[int, str]:
    """Each delivery under its own SAVEPOINT: one that raises is undone alone and marked for a
    retry (or failed), in the same transaction that commits the others."""
    shop = session.get(Shop, events[0].shop_id)
    return {event.id: _apply_one(processor, session, shop, event) for event in events}


def settled_as_one_batch(parse: Callable[[str, Any], Any],
                         settle: Callable[..., Any]) -> BatchHandler:
    """A batch handler for topics whose service settles many deliveries set-based
    (`settle(session, shop, parsed_deliveries, now=...)`, e.g. orders.apply_orders). The run is
    tried as one unit under a SAVEPOINT; if anything in it fails, it is undone and the run goes
    one by one, so the failing delivery is found, retried alone, and the others still commit."""
    def settle_run(processor: Processor, session: Session, events: list[WebhookEvent]) -> dict[int, str]:
        if len(events) == 1:
            return apply_events_one_by_one(processor, session, events)
        shop, now = session.get(Shop, events[0].shop_id), processor.clock()
        savepoint = session.begin_nested()
        try:
            parsed = []
            for event in events:
                payload = _payload(event)
                _check_body_matches_headers(event, payload, shop)
                parsed.append(parse(event.topic, payload))
            settle(session, shop, parsed, now=now)
            for event in events:
                if not _finish(session, event.id, processor.worker_id, status="done", processed_at=now,
                               last_error=None):
                    raise _LeaseLost(f"webhook event {event.id}: lease lost before commit")
            savepoint.commit()
            return {event.id: "done" for event in events}
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise  # the database is gone: the whole batch is recorded as failed by the caller
            _undo(session, savepoint)
        except Exception:  # noqa: BLE001 - found and recorded below, delivery by delivery
            _undo(session, savepoint)
        log.info("a run of %d %s deliveries goes one by one after a failure", len(events), events[0].topic)
        return apply_events_one_by_one(processor, session, events)
    return settle_run


class _LeaseLost(RuntimeError):
    pass


def _apply_one(processor: Processor, session: Session, shop: Shop, event: WebhookEvent) -> str:
    handlers, worker_id = processor.handlers, processor.worker_id
    ctx = HandlerContext(session=session, shop=shop, topic=event.topic, payload=None, event=event,
                         now=processor.clock(), admin=processor.admin)
    savepoint = session.begin_nested()
    try:
        ctx.payload = _payload(event)
        _check_body_matches_headers(event, ctx.payload, shop)
        if event.topic not in handlers:
            raise UnprocessableEvent(f"no handler for topic '{event.topic}'")
        handlers[event.topic](ctx)
        if not _finish(session, event.id, worker_id, status="done", processed_at=ctx.now, last_error=None):
            _undo(session, savepoint)
            log.warning("webhook event %s: lease lost before commit; left to its new owner", event.id)
            return "skipped"
        if savepoint.is_active:
            savepoint.commit()
        return "done"
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise  # the database is gone: the whole batch is recorded as failed by the caller
        _undo(session, savepoint)
        return _mark_failed_attempt(session, event, worker_id, exc, now=processor.clock())
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
        _undo(session, savepoint)
        return _mark_failed_attempt(session, event, worker_id, exc, now=processor.clock())


def _undo(session: Session, savepoint) -> None:
    """Roll back this delivery's work. A service that had to commit itself (marking a shop for
    re-authentication before a Shopify call fails) ended the savepoint with the batch's outer
    transaction: what came before is committed, and only what followed is rolled back."""
    if savepoint.is_active:
        savepoint.rollback()
    else:
        session.rollback()


def _rollback_quietly(session: Session) -> None:
    try:
        session.rollback()
    except DBAPIError:  # the connection is gone (database restarting): nothing to roll back
        log.warning("rollback failed on a lost database connection", exc_info=True)


FAILURE_RECORDING_SECONDS = 30


def _record_failure_when_reachable(processor: Processor, event_id: int, exc: Exception) -> str:
    """The failure is often the database itself restarting; recording it needs the database too.
    Keep trying for a while: a row left "processing" would otherwise wait out its whole lease."""
    deadline = time.monotonic() + FAILURE_RECORDING_SECONDS
    while True:
        try:
            return _record_failure(processor, event_id, exc)
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


def _record_failure(processor: Processor, event_id: int, exc: Exception) -> str:
    with processor.db.scope() as session:
        outcome = _mark_failed_attempt(session, session.get(WebhookEvent, event_id), processor.worker_id, exc,
                                       now=processor.clock())
        session.commit()
    return outcome


def _mark_failed_attempt(session: Session, event: WebhookEvent, worker_id: str, exc: Exception, *,
                         now: datetime) -> str:
    """Back to pending with a backoff, or failed for good (unprocessable, or out of attempts)."""
    permanent = isinstance(exc, UnprocessableEvent) or event.attempts >= MAX_ATTEMPTS
    message = f"{type(exc).__name__}: {exc}"[:2000]
    if permanent:
        _finish(session, event.id, worker_id, status="failed", last_error=message)
    else:
        _finish(session, event.id, worker_id, status="pending", last_error=message,
                next_attempt_at=now + retry_delay(event.attempts))
    log.log(logging.ERROR if permanent else logging.WARNING, "webhook event %s %s: %s", event.id,
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
