"""The task registry: name -> function(tessera, *args). Tasks are idempotent.

This is the one place (with the web handlers) that unpacks the runtime: each task hands a
service the session factory, Admin API access, queue and clock it takes, never `t` itself."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from app.jobs.queues import RQQueue, worker_id
from app.models import Shop
from app.services import customer_metafields, flow, inbox, member_events, shops
from app.shopify.admin_access import ShopNeedsReauth
from app.shopify.graphql import ShopifyError

if TYPE_CHECKING:
    from app.runtime import Tessera

log = logging.getLogger(__name__)
TASKS: dict[str, Callable[..., Any]] = {}


def task(fn: Callable[..., Any]) -> Callable[..., Any]:
    TASKS[fn.__name__] = fn
    return fn


@task
def process_webhook_event(t: "Tessera", event_id: int) -> str:
    """One delivery by id (the owner's retry from the activity page)."""
    return inbox.process_webhook_event(_inbox_processor(t), event_id)


def _inbox_processor(t: "Tessera") -> inbox.Processor:
    from webhooks.topics import HANDLERS
    return inbox.Processor(db=t.db, clock=t.clock, worker_id=worker_id(), handlers=HANDLERS, admin=t.shopify)


@task
def process_inbox(t: "Tessera") -> int:
    """The wake-up: process batches of due deliveries until none is left; returns how many.
    A full batch means a backlog: ring again first, so another worker joins in."""
    from webhooks.topics import BATCH_HANDLERS
    processor, processed = _inbox_processor(t), 0
    while True:
        outcomes = inbox.process_due_events(processor, batch_handlers=BATCH_HANDLERS)
        processed += sum(1 for outcome in outcomes.values() if outcome != "skipped")
        if len(outcomes) < inbox.BATCH_SIZE:
            return processed
        if isinstance(t.queue, RQQueue):
            _ring_quietly(t)


def _ring_quietly(t: "Tessera") -> None:
    try:
        t.queue.enqueue_once("process_inbox")
    except Exception:  # noqa: BLE001 - this worker carries on alone
        log.warning("could not ask for a second inbox worker", exc_info=True)


@task
def sweep_inbox(t: "Tessera") -> int:
    """Deliveries that are due: retries, abandoned leases, ones whose wake-up was lost.
    In-process they are processed here; on RQ the sweep only rings the wake-up for the workers."""
    if isinstance(t.queue, RQQueue):
        with t.db.scope(read_only=True) as session:
            due = len(inbox.due_event_ids(session, t.clock(), limit=1))
        if due:
            t.queue.enqueue_once("process_inbox")
        return due
    return process_inbox(t)


def registers_webhooks_by_api(mode: str, token_source: str | None) -> bool:
    """`auto`: own-store apps (`shops add`: legacy custom apps and Dev Dashboard apps on client
    credentials) subscribe by API; apps deployed with the Shopify CLI get the subscriptions of
    shopify.app.toml, and subscribing again would double every delivery."""
    return mode == "api" or (mode == "auto" and token_source in ("custom_app", shops.CLIENT_CREDENTIALS))


@task
def finish_install(t: "Tessera", shop_id: int) -> None:
    """After the token is stored: read the shop's currency and settings, subscribe webhooks."""
    from webhooks.topics import REGISTERED_TOPICS

    with t.db.scope() as session:
        shop = session.get(Shop, shop_id)
        if shop is None or not shop.is_installed:
            return
        shops.sync_shop_details(t.shopify, session, shop)
        if registers_webhooks_by_api(t.config.get("WEBHOOK_REGISTRATION", "auto"), shop.token_source):
            created = shops.register_webhooks(t.shopify, session, shop, REGISTERED_TOPICS, app_url=t.app_url)
            log.info("shop %s: subscribed to %s", shop.domain, ", ".join(created) or "nothing new")
    t.queue.enqueue("ensure_customer_metafield_definitions", shop_id)


@task
def restore_webhook_subscriptions(t: "Tessera") -> dict[str, list[str]]:
    """Shopify deletes a subscription whose deliveries kept failing (e.g. during an outage of
    Tessera); re-create the ones Tessera made by API. shopify.app.toml subscriptions are
    Shopify's to keep, so CLI-deployed shops are left alone."""
    from app.shopify.graphql import ShopifyError
    from app.shopify.oauth import OAuthError
    from webhooks.topics import REGISTERED_TOPICS

    mode = t.config.get("WEBHOOK_REGISTRATION", "auto")
    with t.db.scope(read_only=True) as session:
        shop_ids = [shop.id for shop in session.scalars(select(Shop).where(
            Shop.uninstalled_at.is_(None), Shop.reauth_required_at.is_(None)))
            if registers_webhooks_by_api(mode, shop.token_source)]
    restored = {}
    for shop_id in shop_ids:
        with t.db.scope() as session:
            shop = session.get(Shop, shop_id)
            try:
                restored[shop.domain] = shops.register_webhooks(t.shopify, session, shop, REGISTERED_TOPICS,
                                                                app_url=t.app_url)
            except (shops.ShopNeedsReauth, ShopifyError, OAuthError) as exc:
                log.warning("webhook upkeep of %s skipped until tomorrow: %s", shop.domain, exc)
                continue
        if restored[shop.domain]:
            log.warning("shop %s: re-created webhook subscriptions %s", shop.domain, ", ".join(restored[shop.domain]))
    return restored


@task
def resume_after_reconnect(t: "Tessera", shop_id: int, flagged_at: str) -> None:
    """Work that waited while the shop needed re-authentication (see services.reconnect)."""
    from datetime import datetime

    from app.services.reconnect import resume_after_reconnect as resume
    try:
        resume(t.db, t.shopify, t.queue, shop_id, datetime.fromisoformat(flagged_at), clock=t.clock)
    except shops.ShopNeedsReauth as exc:
        log.warning("resuming after reconnect stopped: %s", exc)


@task
def expire_points(t: "Tessera") -> list:
    from app.services.expiry import expire_points_everywhere
    reports = expire_points_everywhere(t.db, now=t.clock())
    for report in reports:
        if report.points_expired or report.reminders:
            log.info("expiry %s: %d points from %d members, %d reminders", report.shop, report.points_expired,
                     report.members_expired, report.reminders)
    return reports


@task
def reconcile_all_shops(t: "Tessera", days: int = 2) -> None:
    from datetime import timedelta

    from app.services.reconcile import reconcile_shop
    with t.db.scope(read_only=True) as session:
        shop_ids = session.scalars(select(Shop.id).where(Shop.uninstalled_at.is_(None),
                                                         Shop.reauth_required_at.is_(None))).all()
    for shop_id in shop_ids:
        with t.db.scope() as session:
            try:
                report = reconcile_shop(t.shopify, session, session.get(Shop, shop_id),
                                        since=t.clock() - timedelta(days=days), clock=t.clock)
            except shops.ShopNeedsReauth as exc:
                log.warning("reconcile skipped: %s", exc)
                continue
            for line in report.lines():
                log.info("reconcile %s", line)


@task
def maintain_tiers(t: "Tessera") -> None:
    from app.services.maintenance import maintain_members
    with t.db.scope(read_only=True) as session:
        shop_ids = session.scalars(select(Shop.id).where(Shop.uninstalled_at.is_(None))).all()
    for shop_id in shop_ids:
        with t.db.scope() as session:
            report = maintain_members(session, session.get(Shop, shop_id), now=t.clock())
            if report.birthdays or report.tier_changes:
                log.info("members %s: %d birthdays, %d tier changes", report.shop, report.birthdays,
                         report.tier_changes)


@task
def resume_stale_redemptions(t: "Tessera") -> int:
    from app.services.redemptions import resume_stale_redemptions as resume
    return resume(t.db, admin=t.shopify, queue=t.queue, clock=t.clock)


@task
def finish_redemption(t: "Tessera", shop_id: int, redemption_id: int) -> str | None:
    """A redemption the shopper's request ran out of time for (it answered 202)."""
    from app.services.redemptions import finish_redemption as finish
    return finish(t.db, shop_id, redemption_id, admin=t.shopify, queue=t.queue, clock=t.clock)


@task
def expire_reward_codes(t: "Tessera") -> int:
    from app.services.redemptions import expire_unused_codes
    return expire_unused_codes(t.db, now=t.clock())


@task
def deactivate_reward_codes(t: "Tessera", shop_id: int, reward_id: int) -> int:
    from app.services.redemptions import deactivate_reward_codes as deactivate
    return deactivate(t.db, shop_id, reward_id, admin=t.shopify, clock=t.clock)


@task
def resolve_campaign_collections(t: "Tessera", shop_id: int) -> None:
    from app.services.program import resolve_campaign_collections as resolve
    with t.db.scope() as session:
        resolve(t.shopify, session, session.get(Shop, shop_id))


@task
def erase_old_delivery_bodies(t: "Tessera") -> int:
    days = int(t.config.get("WEBHOOK_BODY_RETENTION_DAYS") or 30)
    erased = inbox.erase_old_delivery_bodies(t.db, t.clock(), days)
    if erased:
        log.info("inbox: blanked %d processed webhook bodies older than %d days", erased, days)
    return erased


@task
def grant_tier_benefits(t: "Tessera") -> int:
    from app.services.tier_benefits import grant_tier_benefits as grant
    return grant(t.db, admin=t.shopify, queue=t.queue, clock=t.clock)


@task
def catch_up_badges(t: "Tessera") -> int:
    from app.services.badges import catch_up_badges_everywhere
    return catch_up_badges_everywhere(t.db, now=t.clock())


@task
def grant_challenge_rewards(t: "Tessera") -> int:
    from app.services.challenge_rewards import grant_challenge_rewards as grant
    return grant(t.db, admin=t.shopify, queue=t.queue, clock=t.clock)


@task
def grant_win_back_rewards(t: "Tessera") -> int:
    from app.services.win_back_rewards import grant_win_back_rewards as grant
    return grant(t.db, admin=t.shopify, queue=t.queue, clock=t.clock)


@task
def resume_stalled_imports(t: "Tessera") -> int:
    """Imports whose next slice was lost (a killed worker, a restarted web process and its
    in-process queue) carry on without the owner pressing Resume. Only when no job is waiting,
    as for the inbox: then no slice of theirs can still be queued. A slice queued twice anyway
    is harmless: each one claims the job first."""
    from app.queries.imports import stalled_imports
    if t.queue.waiting():
        return 0
    with t.db.scope(read_only=True) as session:
        stalled = stalled_imports(session, t.clock())
    for shop_id, job_id in stalled:
        t.queue.enqueue("run_import", shop_id, job_id)
    return len(stalled)


@task
def run_import(t: "Tessera", shop_id: int, job_id: int) -> None:
    """A slice (~20 s) of an Admin API import (customers or historical orders), resumable from
    its cursor; the next slice is queued behind whatever else waits, so one long import never
    holds the in-process worker (and the webhooks behind it) for minutes."""
    from app.services.import_jobs import run_import as run
    if run(t.db, t.shopify, shop_id, job_id, clock=t.clock):
        t.queue.enqueue("run_import", shop_id, job_id)


@task
def dispatch_member_events(t: "Tessera") -> int:
    """Every committed member event to its consumers, a batch at a time, until none is left."""
    dispatched = 0
    while True:
        count = member_events.dispatch_member_events(t.db.session, now=t.clock())
        dispatched += count
        if count < member_events.DISPATCH_BATCH:
            return dispatched


@task
def deliver_outbound_webhooks(t: "Tessera") -> int:
    """Owners' webhook endpoints: due deliveries (first tries and retries), batch after batch."""
    from app.services.outbound_webhooks import DELIVERY_BATCH, deliver_due_webhooks, has_due_deliveries
    with t.db.scope(read_only=True) as session:
        if not has_due_deliveries(session, now=t.clock()):
            return 0
    total = 0
    while True:
        sent = deliver_due_webhooks(t.db.session, clock=t.clock, http=t.http, cipher=t.cipher,
                                    allow_private=bool(t.config.get("OUTBOUND_WEBHOOKS_ALLOW_PRIVATE")))
        total += sent
        if sent < DELIVERY_BATCH:
            return total


@task
def sync_klaviyo(t: "Tessera") -> int:
    """Klaviyo: members' profile properties (coalesced, batched) and loyalty events."""
    from app.services.klaviyo import has_klaviyo_accounts, sync_klaviyo as sync
    with t.db.scope(read_only=True) as session:
        if not has_klaviyo_accounts(session):
            return 0
    return sync(t.db.session, clock=t.clock, http=t.http, cipher=t.cipher, base_url=t.config["KLAVIYO_API_URL"],
                sleep=t.sleep)


# ---- customer metafields and Shopify Flow ----------------------------------------------------

@task
def ensure_customer_metafield_definitions(t: "Tessera", shop_id: int | None = None) -> dict[str, list[str]]:
    """At install (one shop) and in the daily upkeep (every installed shop): the definitions
    Shopify lacks are created, for instance after the owner deleted one."""
    with t.db.scope(read_only=True) as session:
        query = select(Shop.id).where(Shop.uninstalled_at.is_(None), Shop.reauth_required_at.is_(None))
        shop_ids = [shop_id] if shop_id is not None else session.scalars(query).all()
    created = {}
    for one_shop_id in shop_ids:
        with t.db.scope() as session:
            shop = session.get(Shop, one_shop_id)
            try:
                created[shop.domain] = customer_metafields.ensure_metafield_definitions(t.shopify, session, shop)
            except (ShopNeedsReauth, ShopifyError) as exc:
                log.warning("metafield definitions of %s left for tomorrow: %s", shop.domain, exc)
    return created


@task
def write_customer_metafields(t: "Tessera") -> int:
    return customer_metafields.write_due_metafields(t.shopify, t.db, now=t.clock())


@task
def send_flow_triggers(t: "Tessera") -> int:
    with t.db.scope() as session:
        flow.queue_expiring_points_triggers(session, now=t.clock())
    return flow.send_due_flow_triggers(t.shopify, t.db, now=t.clock())


@task
def send_member_emails(t: "Tessera") -> int:
    """The outbox of member emails and owner notices (retries wait their backoff). Without
    MAIL_URL nothing is sent; the rows wait and the admin's Emails page says why."""
    from app.mail.envelope import mail_context_from_config
    from app.mail.transport import transport_from_config
    from app.services.mail_delivery import send_due_emails
    transport = transport_from_config(t.config)
    if transport is None:
        return 0
    report = send_due_emails(t.db, transport, mail_context_from_config(t.config), now=t.clock())
    for error in report.errors:
        log.warning("mail: %s", error)
    return report.sent


@task
def queue_scheduled_member_emails(t: "Tessera") -> int:
    from app.services.member_emails import queue_scheduled_member_emails_everywhere
    return queue_scheduled_member_emails_everywhere(t.db, now=t.clock())


@task
def raise_owner_notices(t: "Tessera") -> int:
    from app.services.owner_notices import raise_owner_notices_everywhere
    return raise_owner_notices_everywhere(t.db, now=t.clock())


@task
def pay_due_cashback(t: "Tessera") -> int:
    from app.services.cashback import pay_due_cashback as pay
    return pay(t.db.scope, t.shopify, t.clock())


@task
def grant_membership_shipping(t: "Tessera") -> int:
    from app.services.membership_perks import grant_membership_shipping as grant
    return grant(t.db, admin=t.shopify, queue=t.queue, clock=t.clock)


@task
def maintain_segments(t: "Tessera") -> None:
    """Member metrics (lifecycle stages move as days pass), win-back, daily segment sizes."""
    from app.services.segments import maintain_segments as maintain
    with t.db.scope(read_only=True) as session:
        shop_ids = session.scalars(select(Shop.id).where(Shop.uninstalled_at.is_(None))).all()
    for shop_id in shop_ids:
        with t.db.scope() as session:
            report = maintain(session, session.get(Shop, shop_id), now=t.clock())
            log.info("segments %s: %d members, win-back %s, %d segment sizes", report.shop, report.members,
                     report.win_back, report.segments)


@task
def sync_segment_tags(t: "Tessera", shop_id: int, segment_id: int) -> str | None:
    """Tag the segment's members in Shopify (and untag who left), resumable (services/segment_sync.py)."""
    from app.services.segment_sync import sync_segment_tags as sync
    return sync(t.db, t.shopify, shop_id, segment_id, now=t.clock())
