"""The task registry: name -> function(tessera, *args). Tasks are idempotent."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.jobs import worker_id
from app.models import Shop
from app.services import inbox, shops

if TYPE_CHECKING:
    from app.runtime import Tessera

log = logging.getLogger(__name__)
TASKS: dict[str, Callable[..., Any]] = {}


def task(fn: Callable[..., Any]) -> Callable[..., Any]:
    TASKS[fn.__name__] = fn
    return fn


@task
def process_webhook_event(t: "Tessera", event_id: int) -> str:
    from webhooks.topics import HANDLERS
    return inbox.process_webhook_event(t, event_id, worker_id(), HANDLERS)


@task
def sweep_inbox(t: "Tessera") -> int:
    """Process deliveries that are due: new ones whose job was lost, retries, abandoned leases."""
    processed = 0
    while True:
        with t.db.scope(read_only=True) as session:
            due = inbox.due_event_ids(session, t.clock())
        if not due:
            return processed
        for event_id in due:
            process_webhook_event(t, event_id)
            processed += 1


@task
def finish_install(t: "Tessera", shop_id: int) -> None:
    """After the token is stored: read the shop's currency and settings, subscribe webhooks."""
    from webhooks.topics import REGISTERED_TOPICS

    with t.db.scope() as session:
        shop = session.get(Shop, shop_id)
        if shop is None or not shop.is_installed:
            return
        shops.sync_shop_details(t, session, shop)
        if t.config.get("WEBHOOK_REGISTRATION", "api") == "api":
            created = shops.register_webhooks(t, session, shop, REGISTERED_TOPICS)
            log.info("shop %s: subscribed to %s", shop.domain, ", ".join(created) or "nothing new")
