"""What an RQ worker calls. The app is built on first use in the worker process, not at import."""
from __future__ import annotations

from typing import Any

_tessera = None


def _runtime():
    global _tessera
    if _tessera is None:
        from app import create_app
        _tessera = create_app().extensions["tessera"]
    return _tessera


def use_runtime(t) -> None:
    """`flask worker` hands over the runtime it already built, so jobs do not build another."""
    global _tessera
    _tessera = t


def run(task: str, *args: Any) -> Any:
    from app.jobs import run_task
    t = _runtime()
    if not args and hasattr(t.queue, "taken"):
        t.queue.taken(task)  # a coalesced wake-up: the next arrival may ring again
    return run_task(t, task, *args)
