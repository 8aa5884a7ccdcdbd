"""What an RQ worker calls (`app.jobs.rq_entry.run`, the name RQQueue enqueues). The worker
process is `flask --app wsgi worker`, which built the app and hands its runtime over here before
working the queue (workers.run_rq_worker); this module builds nothing and imports no app module."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.runtime import Tessera

_tessera: "Tessera | None" = None


class NoRuntime(RuntimeError):
    """An RQ job ran in a process that is not `flask --app wsgi worker`."""


def use_runtime(t: "Tessera") -> None:
    """`flask worker` hands over the runtime it already built, so jobs do not build another."""
    global _tessera
    _tessera = t


def run(task: str, *args: Any) -> Any:
    t = _tessera
    if t is None:
        raise NoRuntime("Tessera's RQ jobs run in `flask --app wsgi worker` (see Procfile), not in a bare `rq worker`")
    if not args and hasattr(t.queue, "taken"):
        t.queue.taken(task)  # a coalesced wake-up: the next arrival may ring again
    return t.run_task(task, *args)
