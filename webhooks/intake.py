"""Group commit for webhook acknowledgements.

Every acknowledged delivery must be durable before its 200, and a durable commit (an fsync) is
the costliest thing on that path. Request threads therefore hand their row to one writer thread
per process; the writer takes everything that queued up while it was committing the previous
group, INSERTs it in one statement and commits once, then releases every waiting request. Under
load the group grows by itself (arrivals pile up during a commit); a lone request waits for
nothing but its own commit.
"""
from __future__ import annotations

import logging
import os
import queue as stdlib_queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.services import inbox

if TYPE_CHECKING:
    from app.runtime import Tessera

log = logging.getLogger(__name__)

MAX_GROUP_ROWS = 200
# While more requests are on their way to the writer than it has gathered, it waits this long
# for them: they share the next commit instead of each paying for one.
GATHER_SECONDS = 0.0015
# A request never waits longer than this for its commit; past it Shopify gets a 503 and retries.
ACK_TIMEOUT_SECONDS = 20


class IntakeUnavailable(Exception):
    """The delivery could not be made durable; nothing was acknowledged."""


@dataclass
class _Waiting:
    row: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    delivery: inbox.Delivery | None = None
    error: BaseException | None = None


class IntakeWriter:
    def __init__(self, t: "Tessera", on_committed: Callable[[list[inbox.Delivery]], None]):
        self._t = t
        self._on_committed = on_committed
        self._arrivals: stdlib_queue.Queue[_Waiting] = stdlib_queue.Queue()
        self._in_flight = 0
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._connection = None  # the writer thread's own, kept between groups
        self.groups_committed = 0

    def record(self, row: dict[str, Any]) -> inbox.Delivery:
        """Blocks until the row is committed (or refused as a duplicate); raises IntakeUnavailable."""
        waiting = _Waiting(row)
        with self._lock:
            self._ensure_running()
            self._in_flight += 1
        try:
            self._arrivals.put(waiting)
            if not waiting.done.wait(ACK_TIMEOUT_SECONDS):
                raise IntakeUnavailable("the inbox write did not finish in time")
        finally:
            with self._lock:
                self._in_flight -= 1
        if waiting.error is not None:
            raise IntakeUnavailable(str(waiting.error)) from waiting.error
        return waiting.delivery

    def _ensure_running(self) -> None:
        # gunicorn forks workers after the app may have been built: each process needs its own thread.
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._arrivals = stdlib_queue.Queue()
            self._connection = None  # a parent's connection is not this process's to use
            threading.Thread(target=self._write_forever, name="tessera-intake", daemon=True).start()

    def _write_forever(self) -> None:
        arrivals = self._arrivals
        while True:
            group = self._gather(arrivals)
            self._commit_group(group)

    def _gather(self, arrivals: stdlib_queue.Queue) -> list[_Waiting]:
        group = [arrivals.get()]
        deadline = time.monotonic() + GATHER_SECONDS
        while len(group) < MAX_GROUP_ROWS:
            try:
                group.append(arrivals.get_nowait())
                continue
            except stdlib_queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if self._in_flight <= len(group) or remaining <= 0:
                break
            try:
                group.append(arrivals.get(timeout=remaining))
            except stdlib_queue.Empty:
                break
        return group

    def _commit_group(self, group: list[_Waiting]) -> None:
        try:
            if self._connection is None or self._connection.invalidated or self._connection.closed:
                self._connection = self._t.db.engine.connect()
            deliveries = inbox.record_deliveries(self._t.db, [w.row for w in group], self._connection)
        except Exception as exc:  # noqa: BLE001 - every waiting request answers 503; nothing was kept
            log.exception("inbox write of %d deliveries failed; Shopify will send them again", len(group))
            self._discard_connection()
            for waiting in group:
                waiting.error = exc
                waiting.done.set()
            return
        self.groups_committed += 1
        # Woken before the 200s go out, so every acknowledged delivery has a processor coming.
        self._wake_processors(deliveries)
        if self._arrivals.empty():  # idle: give the connection back (PostgreSQL counts them)
            self._connection.close()
            self._connection = None
        for waiting, delivery in zip(group, deliveries):
            waiting.delivery = delivery
            waiting.done.set()

    def _discard_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except Exception:  # noqa: BLE001 - it is being thrown away
                log.debug("closing a failed intake connection", exc_info=True)
        self._connection = None

    def _wake_processors(self, deliveries: list[inbox.Delivery]) -> None:
        try:
            self._on_committed(deliveries)
        except Exception:  # noqa: BLE001 - the rows are stored: the periodic sweep picks them up
            log.exception("could not wake the inbox processors; the inbox sweep will pick the deliveries up")


_CREATION = threading.Lock()


def intake_writer(extensions: dict, t: "Tessera") -> IntakeWriter:
    """The app's writer, made on first use (nothing starts at import or app creation)."""
    writer = extensions.get("tessera_intake")
    if writer is None:
        with _CREATION:
            writer = extensions.setdefault("tessera_intake", IntakeWriter(t, lambda d: _wake(t, d)))
    return writer


def _wake(t: "Tessera", deliveries: list[inbox.Delivery]) -> None:
    if any(d.is_new and d.status == "pending" for d in deliveries):
        t.queue.enqueue_once("process_inbox")


# How long an installed shop is believed installed without asking the database. An uninstall
# seen by this process (its app/uninstalled delivery) ends the belief at once; one handled
# elsewhere is noticed within this time, like a delivery already in flight when it happened.
INSTALLED_SHOP_SECONDS = 1.0


class InstalledShops:
    """The shop lookup of the acknowledgement path, cached for installed shops only: a shop that
    installs or reinstalls is seen at its first delivery, never a second later."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._installed: dict[str, tuple[int, float]] = {}

    def look_up(self, domain: str, topic: str, read: Callable[[], tuple[int, bool] | None]):
        if topic == "app/uninstalled":
            self._installed.pop(domain, None)
        cached = self._installed.get(domain)
        if cached and cached[1] > self._clock():
            return cached[0], True
        recipient = read()
        if recipient is not None and recipient[1] and topic != "app/uninstalled":
            self._installed[domain] = (recipient[0], self._clock() + INSTALLED_SHOP_SECONDS)
        return recipient
