"""RQ workers on a real redis-server: every inbox row is processed exactly once, whatever
happens to the workers and to the jobs in Redis."""
from __future__ import annotations

import os
import signal
import socket
from datetime import timedelta

import pytest
from rq import Worker
from rq.job import Job
from sqlalchemy import func, select, update

from app import create_app
from app.models import LedgerEntry, Member, WebhookEvent
from app.runtime import utc_now
from tests.jobs.conftest import start_worker, stop_worker, wait_for
from tests.support import payload, send_webhook



@pytest.fixture
def database_url(postgres_database_url):
    """Worker processes take a second each to start, so these run on the production pairing
    only; the claim they rely on is tested on both databases in tests/webhooks."""
    return postgres_database_url


HANGING_WORKER = """
import time
from app import create_app
from app.jobs import run_rq_worker
from webhooks.topics import HANDLERS

handle_customer = HANDLERS["customers/create"]

def hang_on_customer_400(ctx):
    if ctx.payload["id"] == 400:
        print("claimed", ctx.event.id, flush=True)
        time.sleep(600)
    handle_customer(ctx)

HANDLERS["customers/create"] = hang_on_customer_400
app = create_app()
with app.app_context():
    run_rq_worker(app.extensions["tessera"])
"""


def customer(customer_id: int) -> dict:
    body = payload("customers/create")
    body.update(id=customer_id, email=f"c{customer_id}@example.com", state="enabled")  # enabled: signup points
    return body


def inbox_rows(t) -> dict[int, WebhookEvent]:
    with t.db.scope(read_only=True) as session:
        return {e.id: e for e in session.scalars(select(WebhookEvent))}


def signup_entries_by_customer(t) -> dict[int, int]:
    with t.db.scope(read_only=True) as session:
        rows = session.execute(select(Member.customer_id, func.count(LedgerEntry.id))
                               .join(LedgerEntry, LedgerEntry.member_id == Member.id)
                               .where(LedgerEntry.entry_key.like("%:action:signup")).group_by(Member.customer_id))
        return dict(rows.all())


def all_done(t) -> bool:
    return all(e.status == "done" for e in inbox_rows(t).values())


def read_until_claimed(worker) -> int:
    for line in worker.stdout:
        if line.startswith("claimed "):
            return int(line.split()[1])
    raise AssertionError("the worker exited before it claimed the delivery")


def test_two_workers_woken_together_never_process_the_same_inbox_row_twice(client, rq_t, app_settings):
    workers = [start_worker(app_settings) for _ in range(2)]
    try:
        wait_for(lambda: len(Worker.all(queue=rq_t.queue.rq)) == 2, what="two RQ workers")
        for i in range(40):
            send_webhook(client, "customers/create", customer(300 + i))
            # A second wake-up right behind the coalesced one (a sweep or an RQ retry can do
            # that): the two workers claim from the inbox at the same time.
            rq_t.queue.enqueue("process_inbox")
        wait_for(lambda: rq_t.queue.waiting() == 0 and all_done(rq_t), what="every row done")
    finally:
        for worker in workers:
            stop_worker(worker)
    assert {e.attempts for e in inbox_rows(rq_t).values()} == {1}  # each row was claimed once
    assert signup_entries_by_customer(rq_t) == {300 + i: 1 for i in range(40)}
    jobs = [j for j in Job.fetch_many(rq_t.queue.rq.finished_job_registry.get_job_ids(), connection=rq_t.queue.redis)
            if j]
    assert {j.args[0] for j in jobs} <= {"process_inbox", "sweep_inbox"}  # no job per delivery
    assert sum(j.return_value() for j in jobs if j.args[0] == "process_inbox") == 40
    assert len({j.worker_name for j in jobs if j.args[0] == "process_inbox"}) == 2


def test_killed_worker_job_and_lost_jobs_are_processed_once_by_the_next_worker(client, rq_t, app_settings):
    hanging = send_webhook(client, "customers/create", customer(400)).get_json()["id"]
    waiting = send_webhook(client, "customers/create", customer(401)).get_json()["id"]
    worker = start_worker(app_settings, script=HANGING_WORKER)
    try:
        assert read_until_claimed(worker) == hanging
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    assert inbox_rows(rq_t)[hanging].status == "processing"
    [started] = rq_t.queue.rq.started_job_registry.get_job_ids()
    rq_t.queue.rq.started_job_registry.cleanup(timestamp=utc_now().timestamp() + 3600)  # rq's heartbeat runs out
    assert Job.fetch(started, connection=rq_t.queue.redis).get_status() == "scheduled"  # rq retries it
    rq_t.queue.redis.flushdb()  # and then Redis restarts without persistence: every job is gone
    assert inbox_rows(rq_t)[waiting].locked_by == inbox_rows(rq_t)[hanging].locked_by  # one claimed batch
    with rq_t.db.scope() as session:  # the dead worker's five-minute lease runs out
        session.execute(update(WebhookEvent).where(WebhookEvent.id.in_([hanging, waiting]))
                        .values(locked_until=utc_now() - timedelta(seconds=1)))
        session.commit()

    restarted = start_worker(app_settings, "--burst")  # sweeps the inbox at start, then works the queue
    assert restarted.wait(timeout=60) == 0, restarted.stdout.read()
    rows = inbox_rows(rq_t)
    assert (rows[hanging].status, rows[hanging].attempts) == ("done", 2)
    assert (rows[waiting].status, rows[waiting].attempts) == ("done", 2)  # its batch died with the worker
    assert signup_entries_by_customer(rq_t) == {400: 1, 401: 1}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_deliveries_are_processed_while_redis_is_down_because_workers_poll_the_inbox(app_settings, shop):
    settings = {**app_settings, "REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/0"}
    app = create_app(settings)
    t = app.extensions["tessera"]
    client = app.test_client()
    sent = [send_webhook(client, "customers/create", customer(450 + i)) for i in range(3)]
    assert [r.status_code for r in sent] == [200] * 3  # durable; only the wake-up was lost
    worker = start_worker(settings)
    try:
        done = wait_for_quietly(lambda: len(inbox_rows(t)) == 3 and all_done(t), timeout=30)
    finally:
        output = stop_worker(worker)
        t.db.engine.dispose()
    assert done, output
    assert signup_entries_by_customer(t) == {450: 1, 451: 1, 452: 1}


def wait_for_quietly(condition, timeout: float) -> bool:
    try:
        return wait_for(condition, timeout=timeout)
    except AssertionError:
        return False
