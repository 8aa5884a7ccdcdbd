"""The two queues: InProcessQueue (a thread of the web process) and RQQueue (Redis + rq workers).
A queue only carries task names; the runtime runs them (`Tessera.run_task`), so this module
imports no task, service or app module."""
from __future__ import annotations

import heapq
import logging
import os
import queue as stdlib_queue
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from app.jobs.schedule import Scheduler

if TYPE_CHECKING:
    from app.runtime import Tessera

log = logging.getLogger(__name__)

RETRY_DELAYS = (5, 30, 120, 600, 1800)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:64]


class Queue(Protocol):
    def enqueue(self, task: str, *args: Any) -> None: ...

    def enqueue_once(self, task: str) -> None:
        """Enqueue `task` unless it is already waiting (a coalesced wake-up)."""


class InProcessQueue:
    def __init__(self, sweep_interval: float = 2.0):
        self._jobs: stdlib_queue.Queue[tuple[str, tuple, int]] = stdlib_queue.Queue()
        self._delayed: list[tuple[float, int, str, tuple, int]] = []
        self._delayed_lock = threading.Lock()
        self._sequence = 0
        self._sweep_interval = sweep_interval
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._waiting_once: set[str] = set()
        self._once_lock = threading.Lock()

    def enqueue(self, task: str, *args: Any) -> None:
        self._jobs.put((task, args, 0))

    def enqueue_once(self, task: str) -> None:
        with self._once_lock:
            if task in self._waiting_once:
                return
            self._waiting_once.add(task)
        self._jobs.put((task, (), 0))

    def _taken(self, task: str) -> None:
        # Taken off the queue: whatever arrives from now on needs a new wake-up.
        with self._once_lock:
            self._waiting_once.discard(task)

    def pending(self) -> int:
        return self._jobs.qsize()

    def waiting(self) -> int:
        """Jobs waiting for the worker thread (the one running now not counted), as RQQueue."""
        return self._jobs.qsize()

    def drain(self, t: "Tessera", *, include_delayed: bool = False,
              on_error: Callable[[str, Exception], None] | None = None) -> int:
        """Run queued tasks in this thread until none is left; returns how many ran.
        With `on_error`, a failing task is reported to it instead of being scheduled again."""
        ran = 0
        while True:
            if include_delayed:
                self._release_delayed(float("inf"))
            try:
                task, args, attempt = self._jobs.get_nowait()
            except stdlib_queue.Empty:
                return ran
            self._taken(task)
            if on_error is None:
                self._run(t, task, args, attempt)
            else:
                try:
                    t.run_task(task, *args)
                except Exception as exc:  # noqa: BLE001 - handed to the caller
                    on_error(task, exc)
            ran += 1

    def _run(self, t: "Tessera", task: str, args: tuple, attempt: int) -> None:
        try:
            t.run_task(task, *args)
        except Exception:  # noqa: BLE001 - a failed task is retried later, never lost silently
            if attempt < len(RETRY_DELAYS):
                log.warning("task %s%r failed; retry %d in %ss", task, args, attempt + 1, RETRY_DELAYS[attempt],
                            exc_info=True)
                with self._delayed_lock:
                    self._sequence += 1
                    heapq.heappush(self._delayed, (time.monotonic() + RETRY_DELAYS[attempt], self._sequence,
                                                   task, args, attempt + 1))
            else:
                log.exception("task %s%r failed for good after %d attempts", task, args, attempt + 1)

    def _release_delayed(self, now: float) -> None:
        with self._delayed_lock:
            while self._delayed and self._delayed[0][0] <= now:
                _, _, task, args, attempt = heapq.heappop(self._delayed)
                self._jobs.put((task, args, attempt))

    def start(self, t: "Tessera") -> None:
        """Run tasks, the inbox sweep and the periodic schedule in a daemon thread."""
        if self._thread is not None:
            return
        scheduler = Scheduler(self)
        self.enqueue("sweep_inbox")  # pick up deliveries left pending by a previous process

        def loop() -> None:
            next_sweep = time.monotonic()
            while not self._stop.is_set():
                try:
                    task, args, attempt = self._jobs.get(timeout=self._sweep_interval)
                    self._taken(task)
                    self._run(t, task, args, attempt)
                except stdlib_queue.Empty:
                    pass
                now = time.monotonic()
                self._release_delayed(now)
                if now >= next_sweep:
                    next_sweep = now + self._sweep_interval
                    scheduler.tick(t.clock())

        self._thread = threading.Thread(target=loop, name="tessera-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)


class RQQueue:
    """Tasks on Redis for `rq` workers. A task that raises is retried with backoff; the delayed
    retries are released by RQ's scheduler, which the workers run (`work(with_scheduler=True)`)."""

    def __init__(self, redis_url: str, name: str = "tessera"):
        from redis import Redis
        from rq import Queue as RQ

        self.redis = Redis.from_url(redis_url)
        self.rq = RQ(name, connection=self.redis)

    def enqueue(self, task: str, *args: Any) -> None:
        from rq import Retry
        self.rq.enqueue("app.jobs.rq_entry.run", task, *args, retry=Retry(max=len(RETRY_DELAYS),
                                                                        interval=list(RETRY_DELAYS)))

    def enqueue_once(self, task: str) -> None:
        # One Redis round trip when a wake-up is already waiting; the key expires in case its
        # job was lost (a Redis restart without persistence), so a later wake-up gets through.
        if self.redis.set(self._once_key(task), 1, nx=True, ex=ONCE_KEY_SECONDS):
            self.enqueue(task)

    def taken(self, task: str) -> None:
        self.redis.delete(self._once_key(task))

    def _once_key(self, task: str) -> str:
        return f"{self.rq.name}:waiting-once:{task}"

    def waiting(self) -> int:
        """Jobs waiting for a worker (running ones not counted)."""
        return self.rq.count


ONCE_KEY_SECONDS = 30
