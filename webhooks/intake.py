"""Group commit for webhook acknowledgements.

Every acknowledged delivery must be durable before its 200, and a durable commit (an fsync) is
the costliest thing on that path. Concurrent requests therefore share commits: a request that
finds no commit in progress leads, writing every row that is waiting in one INSERT and one
commit, then releases the requests whose rows it wrote and hands the lead to the next waiting
one. Rows pile up while a commit runs, so the group grows with the load by itself; a lone
request commits its own row in its own thread, with no hand-over to another thread (on a busy
machine each thread wake-up costs milliseconds of scheduling).
"""
from __future__ import annotations

import logging
import os
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
# A request never waits longer than this for its commit; past it Shopify gets a 503 and retries.
ACK_TIMEOUT_SECONDS = 20


class IntakeUnavailable(Exception):
    """The delivery could not be made durable; nothing was acknowledged."""


@dataclass
class _Waiting:
    row: dict[str, Any]
    wake: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    delivery: inbox.Delivery | None = None
    error: BaseException | None = None


class IntakeWriter:
    def __init__(self, t: "Tessera", on_committed: Callable[[list[inbox.Delivery]], None]):
        self._t = t
        self._on_committed = on_committed
        self._lock = threading.Lock()
        self._waiting: list[_Waiting] = []
        self._leading = False
        self._pid = os.getpid()
        self._connection = None  # the leaders' connection, kept while groups follow each other
        self.groups_committed = 0

    def record(self, row: dict[str, Any]) -> inbox.Delivery:
        """Blocks until the row is committed (or found to be a duplicate); raises IntakeUnavailable."""
        me = _Waiting(row)
        with self._lock:
            self._forget_parent_process()
            self._waiting.append(me)
            me.leads = not self._leading
            self._leading = True
        if not me.leads:
            self._wait_for_leader(me)
        if me.leads and me.delivery is None and me.error is None:
            self._lead()
        if me.error is not None:
            raise IntakeUnavailable(str(me.error)) from me.error
        return me.delivery

    def _forget_parent_process(self) -> None:
        # gunicorn may fork after the app is built: a child starts with nothing in flight.
        if self._pid != os.getpid():
            self._pid, self._waiting, self._leading, self._connection = os.getpid(), [], False, None

    def _wait_for_leader(self, me: _Waiting) -> None:
        if me.wake.wait(ACK_TIMEOUT_SECONDS):
            return
        with self._lock:
            if me in self._waiting and not me.leads:
                self._waiting.remove(me)
                raise IntakeUnavailable("the inbox write did not finish in time")
        me.wake.wait()  # taken into a group or handed the lead just now: see it through

    def _lead(self) -> None:
        with self._lock:
            group, self._waiting = self._waiting[:MAX_GROUP_ROWS], self._waiting[MAX_GROUP_ROWS:]
        self._commit_group(group)
        with self._lock:
            if self._waiting:
                successor = self._waiting[0]
                successor.leads = True
                successor.wake.set()
            else:
                self._leading = False
                self._release_connection()

    def _commit_group(self, group: list[_Waiting]) -> None:
        try:
            if self._connection is None or self._connection.invalidated or self._connection.closed:
                self._connection = self._t.db.engine.connect()
            deliveries = inbox.record_deliveries(self._t.db, [w.row for w in group], self._connection)
        except Exception as exc:  # noqa: BLE001 - every request of the group answers 503; nothing was kept
            log.exception("inbox write of %d deliveries failed; Shopify will send them again", len(group))
            self._discard_connection()
            for waiting in group:
                waiting.error = exc
                waiting.wake.set()
            return
        self.groups_committed += 1
        # Woken before the 200s go out, so every acknowledged delivery has a processor coming.
        self._wake_processors(deliveries)
        for waiting, delivery in zip(group, deliveries):
            waiting.delivery = delivery
            waiting.wake.set()

    def _release_connection(self) -> None:
        # Idle: give the connection back (PostgreSQL counts them; tests drop their database).
        if self._connection is not None:
            self._connection.close()
            self._connection = None

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
