"""Processing the inbox off the request: exactly once, retried with backoff, crash-safe."""
import json
import os
import signal
import subprocess
import sys
import threading

import pytest
from sqlalchemy import func, select

from app.jobs.tasks import sweep_inbox
from app.models import Member, WebhookEvent
from app.services import inbox
from tests.support import PROJECT_ROOT, payload, send_webhook
from webhooks.topics import HANDLERS

pytestmark = pytest.mark.both_backends


def customer(customer_id: int, **fields) -> dict:
    body = payload("customers/create")
    body.update(id=customer_id, email=f"c{customer_id}@example.com", **fields)
    return body


def events(t):
    with t.db.scope(read_only=True) as session:
        return {e.id: e for e in session.scalars(select(WebhookEvent))}


def member_count(t, customer_id: int) -> int:
    with t.db.scope(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(Member).where(Member.customer_id == customer_id))


def test_delivery_is_processed_by_the_worker_not_the_request(client, t, shop):
    send_webhook(client, "customers/create", customer(1))
    assert member_count(t, 1) == 0
    t.queue.drain(t)
    assert member_count(t, 1) == 1
    [event] = events(t).values()
    assert (event.status, event.attempts, event.processed_at) == ("done", 1, t.clock())


def test_duplicate_and_out_of_order_deliveries_end_in_one_member_with_latest_data(client, t, shop):
    update = customer(5, first_name="Updated")
    send_webhook(client, "customers/update", update, webhook_id="u1")
    send_webhook(client, "customers/create", customer(5), webhook_id="c1")
    send_webhook(client, "customers/create", customer(5), webhook_id="c1")
    t.queue.drain(t)
    assert member_count(t, 5) == 1
    assert all(e.status == "done" for e in events(t).values()) and len(events(t)) == 2


def test_failure_is_retried_with_backoff_and_stays_visible(client, t, shop, monkeypatch):
    calls = []

    original = HANDLERS["customers/create"]

    def flaky(ctx):
        calls.append(ctx.event.id)
        if len(calls) == 1:
            raise RuntimeError("database hiccup")
        original(ctx)

    monkeypatch.setitem(HANDLERS, "customers/create", flaky)
    send_webhook(client, "customers/create", customer(9))
    t.queue.drain(t)
    [event] = events(t).values()
    assert event.status == "pending" and event.attempts == 1
    assert "database hiccup" in event.last_error and event.next_attempt_at > t.clock()
    assert sweep_inbox(t) == 0  # not due yet
    t.clock.advance(minutes=1)
    assert sweep_inbox(t) == 1
    [event] = events(t).values()
    assert (event.status, event.attempts, event.last_error) == ("done", 2, None)


def test_a_delivery_that_keeps_failing_ends_failed_with_its_error(client, t, shop, monkeypatch):
    def broken(ctx):
        raise ValueError("unexpected shape")

    monkeypatch.setitem(HANDLERS, "customers/create", broken)
    send_webhook(client, "customers/create", customer(10))
    for _ in range(inbox.MAX_ATTEMPTS + 2):
        t.queue.drain(t)
        t.clock.advance(hours=2)
        sweep_inbox(t)
    [event] = events(t).values()
    assert event.status == "failed" and event.attempts == inbox.MAX_ATTEMPTS
    assert "unexpected shape" in event.last_error


def test_owner_retry_puts_a_failed_delivery_back(client, t, shop, monkeypatch):
    monkeypatch.setitem(HANDLERS, "customers/create", lambda ctx: (_ for _ in ()).throw(inbox.UnprocessableEvent("x")))
    send_webhook(client, "customers/create", customer(11))
    t.queue.drain(t)
    [event] = events(t).values()
    assert event.status == "failed"
    monkeypatch.undo()
    with t.db.scope() as session:
        inbox.retry_failed_event(session, shop, event.id, t.clock())
    sweep_inbox(t)
    assert events(t)[event.id].status == "done" and member_count(t, 11) == 1


def test_worker_that_lost_its_lease_cannot_commit_a_second_time(client, t, shop):
    send_webhook(client, "customers/create", customer(12))
    [event_id] = events(t)
    with t.db.scope() as session:
        assert inbox.claim_event(session, event_id, "slow-worker", t.clock())
    t.clock.advance(minutes=10)  # the slow worker's lease runs out; another worker takes over
    second_worker = inbox.Processor(db=t.db, clock=t.clock, worker_id="second-worker", handlers=HANDLERS)
    assert inbox.process_webhook_event(second_worker, event_id) == "done"
    with t.db.scope() as session:
        assert not inbox._finish(session, event_id, "slow-worker", status="done")
    assert member_count(t, 12) == 1


def test_two_workers_never_process_the_same_row(client, t, shop, monkeypatch):
    seen: list[int] = []
    lock = threading.Lock()
    original = HANDLERS["customers/create"]

    def counting(ctx):
        original(ctx)
        with lock:
            seen.append(ctx.event.id)

    monkeypatch.setitem(HANDLERS, "customers/create", counting)
    for i in range(30):
        send_webhook(client, "customers/create", customer(100 + i))
    workers = [threading.Thread(target=sweep_inbox, args=(t,)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(seen) == sorted(events(t)) and len(seen) == 30
    assert all(e.status == "done" for e in events(t).values())


CRASHING_WORKER = """
import json, os, sys, time
from datetime import datetime
from app import create_app
from app.services import inbox
from webhooks.topics import HANDLERS

app = create_app(json.loads(os.environ["TEST_SETTINGS"]))
t = app.extensions["tessera"]
t.clock = lambda: datetime.fromisoformat(os.environ["TEST_NOW"])

def hang(ctx):
    print("claimed", flush=True)
    time.sleep(600)

handlers = dict(HANDLERS, **{"customers/create": hang})
doomed = inbox.Processor(db=t.db, clock=t.clock, worker_id="doomed-worker", handlers=handlers)
inbox.process_webhook_event(doomed, int(sys.argv[1]))
"""


def test_worker_killed_mid_job_loses_nothing_and_processes_everything_once(client, t, shop, app_settings):
    for i in range(3):
        send_webhook(client, "customers/create", customer(200 + i))
    first = min(events(t))
    env = dict(os.environ, TEST_SETTINGS=json.dumps(app_settings), TEST_NOW=t.clock().isoformat(),
               PYTHONPATH=str(PROJECT_ROOT))
    worker = subprocess.Popen([sys.executable, "-c", CRASHING_WORKER, str(first)], env=env, cwd=PROJECT_ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == "claimed"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    crashed = events(t)[first]
    assert (crashed.status, crashed.locked_by) == ("processing", "doomed-worker")
    sweep_inbox(t)  # a restarted worker: the other rows go through; the crashed one is still leased
    assert events(t)[first].status == "processing"
    t.clock.advance(minutes=6)  # lease over
    sweep_inbox(t)
    after = events(t)
    assert all(e.status == "done" for e in after.values())
    assert after[first].attempts == 2
    assert [member_count(t, 200 + i) for i in range(3)] == [1, 1, 1]
    assert sweep_inbox(t) == 0
