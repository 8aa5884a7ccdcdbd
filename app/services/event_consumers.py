"""Who hears member events: one callable per consumer, `(session, events, *, now) -> None`.

A consumer writes only its own durable work rows in the given session (no commit, no network
call) and is idempotent per event id, because a batch that fails is handed over again. The slow
part (SMTP, HTTP) belongs to the consumer's own background job reading those rows.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from app.services.klaviyo import queue_klaviyo_syncs
from app.services.outbound_webhooks import queue_webhook_deliveries
from app.services.customer_metafields import mark_members_for_metafields
from app.services.flow import queue_flow_triggers
from app.services.member_emails import queue_emails_for_events

Consumer = Callable[..., Any]

# Append one line per consumer (emails, outbound webhooks, Flow, Klaviyo, customer metafields).
CONSUMERS: Sequence[Consumer] = (
    queue_webhook_deliveries,
    queue_klaviyo_syncs,
    mark_members_for_metafields,
    queue_flow_triggers,
    queue_emails_for_events,  # member emails (app/services/member_emails.py)
)
