"""Periodic tasks: what runs how often. Shared by the in-process worker and the RQ scheduler."""
from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.jobs.queues import Queue

# (task, seconds between runs). Every task is idempotent, so two schedulers overlapping (two
# web processes in the default mode) cost duplicate work, never duplicate effects.
PERIODIC: list[tuple[str, float]] = [
    ("sweep_inbox", 5),
    ("dispatch_member_events", 5),  # hand new member events to emails, webhooks, Flow, metafields
    ("expire_points", 3600),  # expiry, reminders
    ("maintain_tiers", 3600),  # downgrades at the end of a period, birthdays
    ("reconcile_all_shops", 86400),  # repair missed webhooks from the last two days
    ("resume_stale_redemptions", 60),  # finish sagas a crash left half-way
    ("grant_tier_benefits", 60),  # entry rewards and free-shipping perks of members' tiers
    ("catch_up_badges", 3600),  # badges that need only time (a year as a member)
    ("grant_challenge_rewards", 60),  # free codes of completed challenges rewarded with a catalog item
    ("grant_win_back_rewards", 60),  # free codes of win-back entries when a catalog reward is chosen
    ("resume_stalled_imports", 60),  # imports whose next slice was lost with a worker
    ("expire_reward_codes", 3600),
    ("restore_webhook_subscriptions", 86400),  # ones Shopify removed after failed deliveries
    ("erase_old_delivery_bodies", 3600),  # WEBHOOK_BODY_RETENTION_DAYS
    ("deliver_outbound_webhooks", 5),  # owners' webhook endpoints: first tries and retries
    ("sync_klaviyo", 15),  # Klaviyo profile properties (coalesced) and events
    ("write_customer_metafields", 30),  # members changed a minute ago or more ($app:loyalty)
    ("send_flow_triggers", 10),
    ("ensure_customer_metafield_definitions", 86400),
    ("send_member_emails", 60),  # the email outbox: due messages and retries (codes within a minute)
    ("queue_scheduled_member_emails", 3600),  # expiry reminders, birthdays, tiers about to lapse
    ("raise_owner_notices", 3600),  # weekly summary and alerts to the shop owner
    ("pay_due_cashback", 60),  # store credit of orders whose pending period ended, clawbacks
    ("grant_membership_shipping", 3600),  # paid members' monthly free-shipping code
    ("maintain_segments", 3600),  # member metrics and lifecycle stages, win-back, segment sizes
]


class Scheduler:
    def __init__(self, queue: "Queue", periodic: list[tuple[str, float]] | None = None):
        self.queue = queue
        self.periodic = periodic if periodic is not None else PERIODIC
        start = time.monotonic()
        # The inbox sweep runs at once; longer jobs wait one interval after start-up.
        self._next = {task: start if interval < 60 else start + interval for task, interval in self.periodic}

    def tick(self, now: datetime) -> list[str]:
        enqueued = []
        current = time.monotonic()
        for task, interval in self.periodic:
            if current >= self._next[task]:
                self._next[task] = current + interval
                self.queue.enqueue(task)
                enqueued.append(task)
        return enqueued
