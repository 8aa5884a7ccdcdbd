"""Outbound webhooks: the owner's endpoints, the deliveries member events put on them, and the
job that sends them (signed per Standard Webhooks, retried with backoff for a day, after which
the endpoint is disabled and the owner told)."""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.crypto import TokenCipher
from app.integrations.public_address import Resolver, UnsafeDestination, check_webhook_url, resolve_host
from app.integrations.standard_webhooks import new_signing_secret, signed_headers
from app.loyalty.errors import InvalidInput, NotFound
from app.loyalty.events import EventKind, MemberEvent
from app.models import Shop, WebhookDelivery, WebhookEndpoint

# The member event kinds are the webhook types (a public contract: app/loyalty/events.py).
WEBHOOK_EVENT_TYPES = tuple(str(kind) for kind in EventKind)
MAX_ENDPOINTS_PER_SHOP = 20
MAX_URL_LENGTH = 2000
# Retries double from 30 s up to 6 h apart; a delivery still failing a day after its event gives
# up, and so does its endpoint (Standard Webhooks suggests retrying for about a day).
FIRST_RETRY_DELAY = timedelta(seconds=30)
LONGEST_RETRY_DELAY = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(hours=24)
# A claimed delivery is not claimed again meanwhile, even if its worker dies mid-send.
SEND_LEASE = timedelta(minutes=2)
# Connect, read: a slow receiver holds one worker for at most this long.
SEND_TIMEOUT_SECONDS = (5, 10)
ERROR_TEXT_LIMIT = 500
DELIVERY_BATCH = 50


# ---- endpoints -------------------------------------------------------------------------

def _endpoint_input(body: dict, *, allow_private: bool, resolve: Resolver) -> tuple[str, list[str]]:
    problems: dict[str, str] = {}
    url, events = body.get("url"), body.get("events")
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL_LENGTH:
        problems["url"] = "an https:// URL of your server (at most 2000 characters)"
    else:
        try:
            check_webhook_url(url.strip(), allow_private=allow_private, resolve=resolve)
        except UnsafeDestination as exc:
            problems["url"] = str(exc)
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        problems["events"] = f"a non-empty list of event types from: {', '.join(WEBHOOK_EVENT_TYPES)}"
    elif unknown := sorted(set(events) - set(WEBHOOK_EVENT_TYPES)):
        problems["events"] = f"unknown event type {', '.join(unknown)}; choose from {', '.join(WEBHOOK_EVENT_TYPES)}"
    if problems:
        raise InvalidInput("The webhook endpoint is not valid.", problems)
    return url.strip(), [e for e in WEBHOOK_EVENT_TYPES if e in events]


def create_webhook_endpoint(session: Session, shop: Shop, body: dict, *, now: datetime, cipher: TokenCipher,
                            allow_private: bool, resolve: Resolver = resolve_host) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its signing secret (returned once; kept encrypted, to sign with)."""
    url, events = _endpoint_input(body, allow_private=allow_private, resolve=resolve)
    if len(webhook_endpoints_of(session, shop)) >= MAX_ENDPOINTS_PER_SHOP:
        raise InvalidInput(f"A shop can have at most {MAX_ENDPOINTS_PER_SHOP} webhook endpoints; delete one first.",
                           {"url": "one endpoint too many"})
    secret = new_signing_secret()
    endpoint = WebhookEndpoint(shop_id=shop.id, url=url, events=events, secret_ciphertext=cipher.encrypt(secret),
                               created_at=now)
    session.add(endpoint)
    session.commit()
    return endpoint, secret


def webhook_endpoints_of(session: Session, shop: Shop) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.shop_id == shop.id)
                                .order_by(WebhookEndpoint.id)))


def find_webhook_endpoint(session: Session, shop: Shop, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id,
                                                            WebhookEndpoint.shop_id == shop.id))
    if endpoint is None:
        raise NotFound(f"There is no webhook endpoint {endpoint_id} in this shop; list them with "
                       "GET /api/v1/webhook-endpoints.")
    return endpoint


def delete_webhook_endpoint(session: Session, shop: Shop, endpoint_id: int) -> None:
    """Its deliveries go with it (nothing more is sent there)."""
    session.delete(find_webhook_endpoint(session, shop, endpoint_id))
    session.commit()


def disabled_endpoints_of(session: Session, shop_id: int) -> list[WebhookEndpoint]:
    """What the owner must be told about (admin banner, owner notifications)."""
    return list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.shop_id == shop_id,
                                                              WebhookEndpoint.disabled_at.is_not(None))
                                .order_by(WebhookEndpoint.id)))


def recent_deliveries(session: Session, shop: Shop, endpoint_id: int, *, limit: int = 100) -> list[WebhookDelivery]:
    find_webhook_endpoint(session, shop, endpoint_id)
    return list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.shop_id == shop.id,
                                                              WebhookDelivery.endpoint_id == endpoint_id)
                                .order_by(WebhookDelivery.id.desc()).limit(limit)))


def endpoint_json(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"id": endpoint.id, "url": endpoint.url, "events": endpoint.events,
            "created_at": endpoint.created_at.isoformat(),
            "disabled_at": endpoint.disabled_at.isoformat() if endpoint.disabled_at else None,
            "disabled_reason": endpoint.disabled_reason}


def delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value else None
    return {"id": delivery.id, "message_id": delivery.message_id, "type": delivery.event_type,
            "status": delivery.status, "attempts": delivery.attempts, "response_status": delivery.response_status,
            "error": delivery.last_error, "created_at": when(delivery.created_at),
            "last_attempt_at": when(delivery.last_attempt_at),
            "next_attempt_at": when(delivery.next_attempt_at) if delivery.status == "pending" else None,
            "delivered_at": when(delivery.delivered_at)}


# ---- deliveries from member events -------------------------------------------------------

def webhook_body(event: MemberEvent) -> str:
    """`{"type", "timestamp", "data"}`: data carries the event's facts, the Shopify customer id
    and the member's points (`balance` spendable now, `pending`, `lifetime_earned`)."""
    data = {key: value for key, value in event.data.items() if value is not None}
    data.update(customer_id=event.customer_id, balance=event.balance.balance, pending=event.balance.pending,
                lifetime_earned=event.balance.lifetime_earned)
    return json.dumps({"type": str(event.kind), "timestamp": event.occurred_at.isoformat(), "data": data},
                      separators=(",", ":"), sort_keys=True)


def queue_webhook_deliveries(session: Session, events: Sequence[MemberEvent], *, now: datetime) -> int:
    """Member events consumer: one delivery per (subscribed, enabled endpoint, event). Idempotent
    per event id: a batch dispatched again adds nothing twice. Writes only; the caller commits."""
    if not events:
        return 0
    endpoints = session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.shop_id.in_({e.shop_id for e in events}), WebhookEndpoint.disabled_at.is_(None))).all()
    if not endpoints:
        return 0
    existing = set(session.execute(select(WebhookDelivery.endpoint_id, WebhookDelivery.event_id).where(
        WebhookDelivery.endpoint_id.in_([e.id for e in endpoints]),
        WebhookDelivery.event_id.in_([e.id for e in events]))).tuples())
    added = 0
    for event in events:
        for endpoint in endpoints:
            if endpoint.shop_id != event.shop_id or str(event.kind) not in endpoint.events or \
                    (endpoint.id, event.id) in existing:
                continue
            session.add(WebhookDelivery(shop_id=event.shop_id, endpoint_id=endpoint.id, event_id=event.id,
                                        message_id=f"msg_{uuid.uuid4().hex}", event_type=str(event.kind),
                                        body=webhook_body(event), status="pending", attempts=0,
                                        next_attempt_at=now, created_at=now))
            added += 1
    session.flush()
    return added


# ---- sending --------------------------------------------------------------------------

@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    endpoint_id: int
    url: str
    secret: str
    message_id: str
    body: str


@dataclass(frozen=True)
class SendOutcome:
    delivered: bool
    response_status: int | None = None
    error: str | None = None


def retry_delay(attempts: int) -> timedelta:
    """After the n-th failed attempt: 30 s, 1 min, 2 min ... doubling, at most 6 h."""
    return min(FIRST_RETRY_DELAY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY_DELAY)


def has_due_deliveries(session: Session, *, now: datetime) -> bool:
    """A read-only look first: on SQLite a claim takes the write lock even when nothing is due."""
    return session.scalar(select(WebhookDelivery.id).where(WebhookDelivery.status == "pending",
                                                           WebhookDelivery.next_attempt_at <= now).limit(1)) is not None


def claim_due_deliveries(session: Session, *, now: datetime, cipher: TokenCipher,
                         limit: int) -> list[ClaimedDelivery]:
    """Leases due deliveries of enabled endpoints (SKIP LOCKED: two workers take different ones)."""
    rows = session.execute(
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
               WebhookEndpoint.disabled_at.is_(None))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)).all()
    claimed = []
    for delivery, endpoint in rows:
        delivery.next_attempt_at = now + SEND_LEASE
        claimed.append(ClaimedDelivery(delivery.id, endpoint.id, endpoint.url,
                                       cipher.decrypt(endpoint.secret_ciphertext), delivery.message_id, delivery.body))
    session.commit()
    return claimed


def send_delivery(http: requests.Session, claimed: ClaimedDelivery, *, sent_at: datetime, allow_private: bool,
                  resolve: Resolver = resolve_host) -> SendOutcome:
    """One POST. Redirects are not followed: a redirect could point anywhere, past the check."""
    try:
        check_webhook_url(claimed.url, allow_private=allow_private, resolve=resolve)
    except UnsafeDestination as exc:
        return SendOutcome(False, error=f"refused to send: the URL must be {exc}")
    try:
        # Streamed: only the status is needed, and an excerpt of an error; never a whole body of
        # whatever size the receiver chooses to send.
        with http.post(claimed.url, data=claimed.body.encode(), allow_redirects=False, stream=True,
                       headers=signed_headers(claimed.secret, claimed.message_id, sent_at, claimed.body),
                       timeout=SEND_TIMEOUT_SECONDS) as response:
            if 200 <= response.status_code < 300:
                return SendOutcome(True, response.status_code)
            excerpt = response.raw.read(200, decode_content=True).decode(errors="replace")
            return SendOutcome(False, response.status_code, f"HTTP {response.status_code}: {excerpt}".strip())
    except requests.RequestException as exc:
        return SendOutcome(False, error=f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT])


def record_outcome(session: Session, delivery_id: int, outcome: SendOutcome, *, now: datetime) -> None:
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:  # its endpoint was deleted meanwhile
        return
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_status = outcome.response_status
    delivery.last_error = outcome.error
    if outcome.delivered:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
    elif now + retry_delay(delivery.attempts) - delivery.created_at > GIVE_UP_AFTER:
        delivery.status, delivery.next_attempt_at = "failed", None
        _disable_failing_endpoint(session, delivery, now=now)
    else:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
    session.commit()


def _disable_failing_endpoint(session: Session, delivery: WebhookDelivery, *, now: datetime) -> None:
    """A delivery failing for a day disables its endpoint, unless the endpoint has accepted
    another delivery since (it works, this one message is the trouble)."""
    succeeded_since = session.scalar(select(WebhookDelivery.id).where(
        WebhookDelivery.endpoint_id == delivery.endpoint_id, WebhookDelivery.status == "delivered",
        WebhookDelivery.delivered_at >= delivery.created_at).limit(1))
    if succeeded_since is not None:
        return
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    endpoint.disabled_at = now
    endpoint.disabled_reason = (f"Deliveries failed for 24 hours (last error: {delivery.last_error}). Fix the "
                                "receiving server, then delete this endpoint and add it again.")[:ERROR_TEXT_LIMIT * 2]
    session.execute(update(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id,
                                                  WebhookDelivery.status == "pending")
                    .values(status="failed", next_attempt_at=None, last_error="endpoint disabled"))


def deliver_due_webhooks(session_factory: Callable[[], Session], *, clock: Callable[[], datetime],
                         http: requests.Session, cipher: TokenCipher, allow_private: bool,
                         resolve: Resolver = resolve_host, limit: int = DELIVERY_BATCH) -> int:
    """Sends one batch of due deliveries; returns how many were attempted. No transaction is
    open while a receiver is being waited for."""
    with session_factory() as session:
        claimed = claim_due_deliveries(session, now=clock(), cipher=cipher, limit=limit)
    for delivery in claimed:
        outcome = send_delivery(http, delivery, sent_at=clock(), allow_private=allow_private, resolve=resolve)
        with session_factory() as session:
            record_outcome(session, delivery.id, outcome, now=clock())
    return len(claimed)
