"""Benchmark: time from acknowledgement to spendable points on PostgreSQL, at a steady rate.

Production mode: PostgreSQL (fsync, synchronous_commit on), Redis, one RQ worker per core
(`flask --app wsgi worker`). A sender records orders/paid deliveries in the inbox at a fixed
rate, as the intake does (the committed row, then the coalesced `process_inbox` wake-up), for
`--seconds`. The rate is `--share` (default 0.25, the target of issue 15) of the database's raw
single-row commit rate, measured first in the same run. For each delivery: the time from its
commit (the acknowledgement) to the moment its earn entry is visible to another connection
(polled every 50 ms), which makes the points spendable (the default program has no pending
period). Both times are this machine's wall clock, read in this process.

    .venv/bin/python bench/ack_to_points.py [--seconds 20] [--share 0.25] [--quick]
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from datetime import datetime, timezone

import common
import processing
from sqlalchemy import select


def send_at_rate(t, shop_id: int, queue, bodies: list[bytes], rate: float) -> dict[int, datetime]:
    """order id -> when its delivery was acknowledged (committed)."""
    from app.services import inbox
    from webhooks.topics import HANDLERS
    acknowledged, begin = {}, time.perf_counter()
    for n, body in enumerate(bodies):
        time.sleep(max(0.0, begin + n / rate - time.perf_counter()))
        headers = {"X-Shopify-Webhook-Id": f"latency-{n}", "X-Shopify-Topic": "orders/paid"}
        inbox.record_delivery(t.db, shop_id, topic="orders/paid", headers=headers, body=body,
                              known_topics=HANDLERS.keys(), now=datetime.now(timezone.utc))
        acknowledged[7_000_000 + n] = datetime.now(timezone.utc)
        queue.enqueue_once("process_inbox")
    return acknowledged


class SpendableWatch:
    """Polls the ledger every POLL_SECONDS from its own thread and notes when each order's earn
    entry is first visible to another connection (committed): its points are spendable then.
    The entry's own created_at is the batch's start, before its commit, so it is not used."""

    POLL_SECONDS = 0.05

    def __init__(self, t):
        self.t, self.seen = t, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        from app.models import LedgerEntry
        while not self._stop.is_set():
            # All of them each time: two workers commit out of id order, so "ids above the last
            # seen" would miss an entry committed late with a lower id.
            with self.t.db.scope(read_only=True) as session:
                order_ids = session.scalars(select(LedgerEntry.order_id).where(
                    LedgerEntry.kind == "earn", LedgerEntry.cause_type == "order")).all()
            now = datetime.now(timezone.utc)
            for order_id in order_ids:
                self.seen.setdefault(order_id, now)
            time.sleep(self.POLL_SECONDS)

    def wait_for(self, order_ids: list[int], timeout: float = 120) -> dict[int, datetime]:
        deadline = time.monotonic() + timeout
        while len(set(order_ids) & set(self.seen)) < len(order_ids) and time.monotonic() < deadline:
            time.sleep(0.1)
        return dict(self.seen)


def measure(seconds: float, share: float) -> list:
    from rq import Worker

    from app.jobs.queues import RQQueue
    with ExitStack() as stack:
        url = stack.enter_context(common.database("postgresql"))
        redis_url = stack.enter_context(common.redis_server())
        config = common.settings(url, redis_url)
        app, t = common.build_app({**config, "REDIS_URL": ""})
        shop_id = common.install_shop(t)
        processing.member_for_raw_inserts(t, shop_id)
        raw = processing.raw_rate(url, 1000, processing.WORKERS)
        rate = raw * share
        bodies = processing.deliveries(max(1, int(rate * seconds)))
        queue = RQQueue(redis_url)
        queue.redis.flushdb()
        env = dict(common.environment(config), INPROCESS_WORKER="0")
        workers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                                    cwd=common.PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL) for _ in range(processing.WORKERS)]
        try:
            while len(Worker.all(queue=queue.rq)) < processing.WORKERS:
                time.sleep(0.05)
            with SpendableWatch(t) as watch:
                acknowledged = send_at_rate(t, shop_id, queue, bodies, rate)
                done = watch.wait_for(list(acknowledged))
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(timeout=30)
        t.db.engine.dispose()
    latencies = [(done[o] - acknowledged[o]).total_seconds() for o in acknowledged if o in done]
    summary = common.summary_ms(latencies) if latencies else {"p50": float("nan"), "p99": float("nan")}
    return ["postgresql", f"{raw:.0f}", f"{rate:.0f} ({share:.2f} x raw)", len(bodies), len(latencies),
            f"{summary['p50']:.0f}", f"{summary['p99']:.0f}", f"{max(latencies) * 1000:.0f}" if latencies else "-"]


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], seconds=(20.0, "seconds of sending"),
                            share=(0.25, "sending rate as a share of the raw commit rate"))
    row = measure(2.0 if args.quick else args.seconds, args.share)
    common.print_table("Acknowledgement -> spendable points, PostgreSQL + RQ workers (target p99 <= 2000 ms)",
                       ["database", "raw commits/s", "sent/s", "sent", "settled", "p50 ms", "p99 ms", "max ms"], [row])


if __name__ == "__main__":
    main()
