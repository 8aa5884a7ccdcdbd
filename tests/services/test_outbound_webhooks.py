"""Outbound webhooks end to end: a paid order's member events reach the owner's server on
127.0.0.1, signed per Standard Webhooks (checked with the reference library); failures are
retried with backoff under the same webhook-id, and a day of failures disables the endpoint."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from app.models import WebhookDelivery, WebhookEndpoint
from app.services import member_events
from app.services.outbound_webhooks import deliver_due_webhooks, queue_webhook_deliveries
from tests.admin.helpers import bearer
from tests.support import CUSTOMER_ID, payload
from tests.support.ledger import deliver


class Receiver:
    """The owner's server: records each request, answers with the next queued status (200 after)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tessera-hooks"


@pytest.fixture
def receiver():
    instance = Receiver()
    thread = threading.Thread(target=instance.server.serve_forever, daemon=True)
    thread.start()
    yield instance
    instance.server.shutdown()
    instance.server.server_close()


@pytest.fixture
def endpoint(client, t, shop, receiver):
    t.config["OUTBOUND_WEBHOOKS_ALLOW_PRIVATE"] = True
    response = client.post("/api/v1/webhook-endpoints", headers=bearer(),
                           json={"url": receiver.url, "events": ["member.enrolled", "points.earned"]})
    assert response.status_code == 201
    return response.json


def paid_order_events(client, t):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    member_events.dispatch_member_events(t.db.session, now=t.clock())


def send(t) -> int:
    return deliver_due_webhooks(t.db.session, clock=t.clock, http=t.http, cipher=t.cipher, allow_private=True)


def deliveries(t) -> list[WebhookDelivery]:
    with t.db.scope(read_only=True) as session:
        return session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()


@pytest.mark.both_backends
def test_a_paid_order_reaches_the_owners_server_signed_per_standard_webhooks(client, t, shop, endpoint, receiver):
    paid_order_events(client, t)
    assert send(t) == 2
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    assert [b["type"] for b in bodies] == ["member.enrolled", "points.earned"]
    earned = bodies[1]
    assert earned["data"]["customer_id"] == CUSTOMER_ID and earned["data"]["balance"] == 110
    assert earned["data"]["points"] == 110 and earned["timestamp"] == t.clock().isoformat()
    for request in receiver.requests:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), timezone.utc)
        assert sent_at == t.clock()
        expected = Webhook(endpoint["secret"]).sign(headers["webhook-id"], sent_at, request["body"])
        assert headers["webhook-signature"] == expected and headers["webhook-id"].startswith("msg_")
    assert [d.status for d in deliveries(t)] == ["delivered", "delivered"]
    log = client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=bearer()).json["deliveries"]
    assert {(d["type"], d["status"], d["attempts"], d["response_status"]) for d in log} == {
        ("member.enrolled", "delivered", 1, 200), ("points.earned", "delivered", 1, 200)}


def test_events_the_endpoint_did_not_ask_for_are_not_sent_and_a_redispatch_adds_nothing(client, t, shop, receiver):
    t.config["OUTBOUND_WEBHOOKS_ALLOW_PRIVATE"] = True
    client.post("/api/v1/webhook-endpoints", headers=bearer(), json={"url": receiver.url, "events": ["tier.changed"]})
    paid_order_events(client, t)
    assert deliveries(t) == [] and send(t) == 0


def test_the_same_event_handed_over_twice_is_delivered_once(client, t, shop, endpoint, receiver, monkeypatch):
    heard = []
    monkeypatch.setattr(member_events, "CONSUMERS",
                        (lambda session, events, now: heard.extend(events),) + tuple(member_events.CONSUMERS))
    paid_order_events(client, t)
    with t.db.scope() as session:
        assert queue_webhook_deliveries(session, heard, now=t.clock()) == 0
        session.commit()
    assert len(deliveries(t)) == 2


def test_a_failing_server_gets_retries_with_backoff_under_the_same_webhook_id(client, t, shop, endpoint, receiver,
                                                                             clock):
    receiver.statuses = [503]
    paid_order_events(client, t)
    send(t)
    assert [d.status for d in deliveries(t)] == ["pending", "delivered"]
    failed = deliveries(t)[0]
    assert (failed.attempts, failed.response_status) == (1, 503)
    assert (failed.next_attempt_at - clock()).total_seconds() == 30
    assert send(t) == 0  # not due yet
    clock.advance(seconds=30)
    assert send(t) == 1
    ids = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert ids[0] == ids[2] != ids[1] and [d.status for d in deliveries(t)] == ["delivered", "delivered"]


def test_a_day_of_failures_disables_the_endpoint_and_the_owner_is_told(client, t, shop, endpoint, receiver, clock):
    receiver.statuses = [500] * 100
    paid_order_events(client, t)
    attempts = 0
    while any(d.status == "pending" for d in deliveries(t)) and attempts < 60:
        send(t)
        clock.advance(hours=6)
        attempts += 1
    with t.db.scope(read_only=True) as session:
        disabled = session.scalar(select(WebhookEndpoint))
    assert disabled.disabled_at is not None and "failed for 24 hours" in disabled.disabled_reason
    assert {d.status for d in deliveries(t)} == {"failed"}
    assert max(d.attempts for d in deliveries(t)) <= 14
    listed = client.get("/api/v1/webhook-endpoints", headers=bearer()).json["webhook_endpoints"][0]
    assert listed["disabled_at"] and "HTTP 500" in listed["disabled_reason"]
    deliver(client, t, "orders/paid", {**payload("orders/paid"), "id": 820982911946154600, "name": "#1002"})
    member_events.dispatch_member_events(t.db.session, now=t.clock())
    assert send(t) == 0  # nothing more is queued for a disabled endpoint


def test_a_host_that_now_resolves_to_a_private_address_is_not_contacted(client, t, shop, monkeypatch):
    monkeypatch.setattr("socket.getaddrinfo", lambda host, port, *a, **k: [(2, 1, 6, "", ("93.184.215.14", port))])
    response = client.post("/api/v1/webhook-endpoints", headers=bearer(),
                           json={"url": "https://hooks.example.com/x", "events": ["points.earned"]})
    assert response.status_code == 201
    paid_order_events(client, t)
    monkeypatch.setattr("socket.getaddrinfo", lambda host, port, *a, **k: [(2, 1, 6, "", ("10.0.0.5", port))])
    calls = []
    monkeypatch.setattr(t.http, "post", lambda *a, **k: calls.append(a))
    deliver_due_webhooks(t.db.session, clock=t.clock, http=t.http, cipher=t.cipher, allow_private=False)
    [delivery] = deliveries(t)
    assert calls == [] and delivery.status == "pending" and "10.0.0.5" in delivery.last_error
