"""The RQ worker loop of `flask --app wsgi worker`, and its fallback while Redis is down."""
from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

from app.jobs import rq_entry

if TYPE_CHECKING:
    from app.runtime import Tessera

log = logging.getLogger(__name__)


def run_rq_worker(t: "Tessera", *, burst: bool = False) -> None:
    """Work the RQ queue in this process. rq's SimpleWorker runs each job in place: our jobs are
    short transactions, and forking a work horse per job (rq's default Worker) would cost more
    than the job itself. A crashed worker loses nothing: its inbox rows come back when their
    lease runs out, and the process manager starts a new worker."""
    from redis.exceptions import RedisError
    from rq import SimpleWorker

    rq_entry.use_runtime(t)
    # rq forks its scheduler; a forked child must not reuse the parent's pooled connections.
    os.register_at_fork(after_in_child=lambda: t.db.engine.dispose(close=False))
    while True:
        worker = None
        try:
            worker = SimpleWorker([t.queue.rq], connection=t.queue.redis)  # names itself in Redis
            worker.work(burst=burst, with_scheduler=True)
        except RedisError:  # Redis down at start, or rq's own teardown while it is still down
            log.warning("RQ worker could not reach Redis", exc_info=True)
        # rq quits its loop when Redis drops a connection mid-job (a Redis restart); only a stop
        # signal (rq notes when one came, busy or idle) or burst mode means the worker should end.
        if burst or (worker is not None and worker._shutdown_requested_date is not None):
            return
        log.error("RQ worker lost its Redis connection; polling the inbox until it is back")
        _poll_inbox_without_redis(t)


def _poll_inbox_without_redis(t: "Tessera") -> None:
    """Redis only rings the wake-up: deliveries keep being processed while it is down."""
    deadline = time.monotonic() + REDIS_RECONNECT_SECONDS
    while time.monotonic() < deadline:
        try:
            if not t.run_task("process_inbox"):
                time.sleep(INBOX_POLL_SECONDS)
        except Exception:  # noqa: BLE001 - the database may be restarting too; try again shortly
            log.warning("inbox poll failed", exc_info=True)
            time.sleep(INBOX_POLL_SECONDS)


REDIS_RECONNECT_SECONDS = 2
INBOX_POLL_SECONDS = 0.2
