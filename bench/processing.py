"""Benchmark 2: webhook processing throughput, inbox row -> ledger entries.

orders/paid deliveries (the real payload; distinct orders from a pool of repeat customers) are
recorded in the inbox, then processed by the worker as deployed, which claims batches of due
rows from the inbox (one transaction per batch, a savepoint per delivery):
- SQLite: the in-process worker (one thread: SQLite has one writer at a time), woken once;
- PostgreSQL: RQ workers (`flask --app wsgi worker`, one per core), woken by one `process_inbox`
  job each (Redis carries wake-ups only; a worker that finds a full batch rings for another).
Baseline, same run, same database, same durability (SQLite synchronous=FULL; PostgreSQL
fsync + synchronous_commit on): single-row INSERTs into ledger_entries, one transaction
each, from as many writers as there are workers.

    .venv/bin/python bench/processing.py [--events 3000] [--backend sqlite|postgresql|both] [--quick]
"""
from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from contextlib import ExitStack

import common
from sqlalchemy import func, select, text

WORKERS = os.cpu_count() or 2


def deliveries(count: int) -> list[bytes]:
    template = json.loads(common.payload_bytes("orders/paid"))
    bodies = []
    for n in range(count):
        body = dict(template, id=7_000_000 + n, name=f"#{10_000 + n}")
        body["customer"] = dict(template["customer"], id=5_000_000 + n % max(1, count // 4),
                                email=f"c{n % max(1, count // 4)}@example.com")
        bodies.append(json.dumps(body).encode())
    return bodies


def record(t, shop_id: int, bodies: list[bytes]) -> list[int]:
    from app.services import inbox
    from webhooks.topics import HANDLERS
    ids = []
    for n, body in enumerate(bodies):
        headers = {"X-Shopify-Webhook-Id": f"bench-{n}", "X-Shopify-Topic": "orders/paid"}
        ids.append(inbox.record_delivery(t.db, shop_id, topic="orders/paid", headers=headers, body=body,
                                         known_topics=HANDLERS.keys(), now=t.clock()).event_id)
    return ids


def ledger_count(t) -> int:
    from app.models import LedgerEntry
    with t.db.scope(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(LedgerEntry))


def pending_count(t) -> int:
    from app.models import WebhookEvent
    with t.db.scope(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.status != "done"))


def raw_inserts(url: str, count: int, start: int, synchronous: str = "FULL") -> None:
    """One writer: `count` single-row INSERTs into ledger_entries, each its own transaction,
    through the app's own engine settings (BEGIN IMMEDIATE and the PRAGMAs on SQLite)."""
    from app.db import make_engine
    engine = make_engine(url, sqlite_synchronous=synchronous)
    statement = text("INSERT INTO ledger_entries (shop_id, member_id, entry_key, kind, points, cause_type, reason, "
                     "shortfall_points, created_at) VALUES (1, 1, :key, 'earn', 110, 'order', :reason, 0, :at)")
    with engine.connect() as conn:
        for n in range(start, start + count):
            conn.execute(statement, {"key": f"raw:{n}", "reason": "Order #1042: 1 point per $1 on $110.00 = 110 points",
                                     "at": "2025-02-14 15:00:00"})
            conn.commit()
    engine.dispose()


def raw_rate(url: str, count: int, writers: int) -> float:
    with multiprocessing.get_context("fork").Pool(writers) as pool:
        begin = time.perf_counter()
        pool.starmap(raw_inserts, [(url, count // writers, 10_000_000 * (w + 1)) for w in range(writers)])
        return (count // writers * writers) / (time.perf_counter() - begin)


def member_for_raw_inserts(t, shop_id: int) -> None:
    from app.models import Member
    with t.db.scope() as session:
        session.add(Member(id=1, shop_id=shop_id, customer_id=1, referral_code="RAWBENCH"))
        session.commit()


def process_in_process(t, record_deliveries) -> float:
    record_deliveries()
    begin = time.perf_counter()
    t.queue.enqueue_once("process_inbox")
    t.queue.drain(t)
    return time.perf_counter() - begin


def process_with_rq(t, config: dict, record_deliveries) -> float:
    from rq import Worker

    from app.jobs import RQQueue
    queue = RQQueue(config["REDIS_URL"])
    queue.redis.flushdb()
    env = dict(common.environment(config), INPROCESS_WORKER="0")
    workers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=common.PROJECT_ROOT,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(WORKERS)]
    try:
        while len(Worker.all(queue=queue.rq)) < WORKERS:
            time.sleep(0.05)
        time.sleep(0.5)  # the start-up sweeps have run: nothing wakes the workers but us
        record_deliveries()
        begin = time.perf_counter()
        for _ in range(WORKERS):
            queue.enqueue("process_inbox")
        while pending_count(t):
            time.sleep(0.05)
        return time.perf_counter() - begin
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)


def measure(backend: str, events: int) -> list:
    with ExitStack() as stack:
        url = stack.enter_context(common.database(backend))
        redis_url = stack.enter_context(common.redis_server()) if backend == "postgresql" else ""
        config = common.settings(url, redis_url)
        app, t = common.build_app({**config, "REDIS_URL": ""})
        shop_id = common.install_shop(t)
        member_for_raw_inserts(t, shop_id)
        writers = 1 if backend == "sqlite" else WORKERS
        raw = raw_rate(url, events, writers)
        bodies = deliveries(events)
        before = ledger_count(t)
        record_deliveries = lambda: record(t, shop_id, bodies)  # noqa: E731
        elapsed = (process_in_process(t, record_deliveries) if backend == "sqlite"
                   else process_with_rq(t, config, record_deliveries))
        entries = ledger_count(t) - before
        t.db.engine.dispose()
    worker = "in-process worker, 1 thread" if backend == "sqlite" else f"{WORKERS} RQ workers"
    return [backend, worker, events, entries, f"{events / elapsed:.0f}", f"{entries / elapsed:.0f}",
            f"{raw:.0f} ({writers} writer{'s' if writers > 1 else ''})", f"{entries / elapsed / raw:.2f}"]


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], events=(3000, "deliveries to process"),
                            backend=("both", "sqlite, postgresql or both"))
    events = 100 if args.quick else args.events
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows = [measure(backend, events) for backend in backends]
    common.print_table("Processing: orders/paid deliveries -> ledger entries (target >= 0.25 x raw inserts)",
                       ["database", "worker", "events", "ledger entries", "events/s", "entries/s",
                        "raw inserts/s", "entries vs raw"], rows)


if __name__ == "__main__":
    main()
