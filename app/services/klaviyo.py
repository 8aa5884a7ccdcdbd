"""Klaviyo: the owner's private API key (encrypted like the shop tokens), the member events that
become Klaviyo events, and members' profile properties kept current (points balance, pending,
tier, referral link, next reward).

A consumer of member events writes work rows (klaviyo_syncs); the `sync_klaviyo` job sends them.
A member's profile row is re-armed by every change and sent a little later, so a burst of
changes becomes one update, and profiles go to Klaviyo in batches.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crypto import TokenCipher
from app.integrations.klaviyo import (PROFILES_PER_IMPORT, KlaviyoClient, KlaviyoError, KlaviyoRateLimited,
                                      event_body, profile_resource)
from app.loyalty.errors import InvalidInput
from app.loyalty.events import MemberEvent
from app.loyalty.reward_goals import RewardGoal, next_reward, rewards_reached
from app.models import KlaviyoAccount, KlaviyoSync, Member, MemberNotification, Reward, Shop
from app.services.ledger import balance_of
from app.services.program import current_program

# The Klaviyo metrics (event names) Tessera sends; owners build flows on them.
METRIC_POINTS_EARNED = "Tessera Points Earned"
METRIC_REWARD_READY = "Tessera Reward Ready"
METRIC_CODE_ISSUED = "Tessera Reward Code Issued"
METRIC_TIER_REACHED = "Tessera Tier Reached"
METRIC_POINTS_EXPIRED = "Tessera Points Expired"
METRIC_POINTS_EXPIRING = "Tessera Points Expiring"
METRIC_REFERRAL_COMPLETED = "Tessera Referral Completed"
METRIC_OF_EVENT = {"points.earned": METRIC_POINTS_EARNED, "reward.redeemed": METRIC_CODE_ISSUED,
                   "points.expired": METRIC_POINTS_EXPIRED, "referral.completed": METRIC_REFERRAL_COMPLETED}
# A profile waits this long after a change, gathering the changes that follow it.
PROFILE_COALESCE_DELAY = timedelta(seconds=30)
SEND_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
SYNC_BATCH = 500
# Expiry reminders are not member events (nothing changed yet): the job picks up recent ones.
REMINDER_LOOKBACK = timedelta(days=2)


# ---- the connection -------------------------------------------------------------------

def klaviyo_key_input(value: Any) -> str:
    key = value.strip() if isinstance(value, str) else ""
    if not key.startswith("pk_") or not 10 <= len(key) <= 200 or any(c.isspace() for c in key):
        raise InvalidInput("The Klaviyo key is not valid.",
                           {"api_key": "a Klaviyo private API key (pk_…): Klaviyo > Settings > API keys > Create "
                                       "Private API Key, with Events and Profiles write access"})
    return key


def connect_klaviyo(session: Session, shop: Shop, api_key: str, *, now: datetime, cipher: TokenCipher) -> None:
    account = klaviyo_account(session, shop.id) or KlaviyoAccount(shop_id=shop.id)
    account.api_key_ciphertext = cipher.encrypt(api_key)
    account.key_hint = f"{api_key[:5]}…{api_key[-4:]}"
    account.connected_at, account.last_error = now, None
    session.add(account)
    session.commit()


def disconnect_klaviyo(session: Session, shop: Shop) -> None:
    """Forgets the key and whatever was still waiting to be sent."""
    account = klaviyo_account(session, shop.id)
    if account is not None:
        session.delete(account)
        session.query(KlaviyoSync).filter(KlaviyoSync.shop_id == shop.id).delete()
        session.commit()


def klaviyo_account(session: Session, shop_id: int) -> KlaviyoAccount | None:
    return session.scalar(select(KlaviyoAccount).where(KlaviyoAccount.shop_id == shop_id))


def klaviyo_status(session: Session, shop: Shop) -> dict[str, Any] | None:
    account = klaviyo_account(session, shop.id)
    if account is None:
        return None
    waiting = session.query(KlaviyoSync).filter(KlaviyoSync.shop_id == shop.id,
                                                KlaviyoSync.status == "pending").count()
    return {"key_hint": account.key_hint, "connected_at": account.connected_at.isoformat(),
            "last_synced_at": account.last_synced_at.isoformat() if account.last_synced_at else None,
            "last_error": account.last_error, "waiting": waiting}


# ---- member events -> work rows ----------------------------------------------------------

def _reward_goals(session: Session, shop_ids: set[int]) -> dict[int, list[RewardGoal]]:
    goals: dict[int, list[RewardGoal]] = defaultdict(list)
    for r in session.scalars(select(Reward).where(Reward.shop_id.in_(shop_ids), Reward.enabled.is_(True),
                                                  Reward.deleted_at.is_(None))):
        goals[r.shop_id].append(RewardGoal(r.id, r.name, r.min_points or r.points_cost, tuple(r.tier_keys or ())))
    return goals


def _is_promotion(program, tier_from: str | None, tier_to: str | None) -> bool:
    """A move up the program's ladder (levels are ordered by threshold); a tier lost is not news
    a member is congratulated on."""
    keys = [tier.key for tier in program.tiers.levels]
    return tier_to in keys and (tier_from not in keys or keys.index(tier_to) > keys.index(tier_from))


def _klaviyo_events_for(event: MemberEvent, program) -> list[tuple[MemberEvent, str, str, dict]]:
    """(event, key, metric, properties) of the Klaviyo events one member event becomes."""
    facts = {k: v for k, v in event.data.items() if v is not None}
    kind = str(event.kind)
    found = []
    if kind in METRIC_OF_EVENT:
        found.append((event, f"event:{event.id}", METRIC_OF_EVENT[kind], facts))
    if kind == "tier.changed" and _is_promotion(program, facts.get("tier_from"), facts.get("tier_to")):
        tier = program.tier(facts["tier_to"])
        found.append((event, f"event:{event.id}", METRIC_TIER_REACHED, {**facts, "tier_name": tier.name}))
    return found


def _spendable_change(event: MemberEvent) -> int:
    """Points an entry event moved in or out of the spendable balance (pending points, which
    vest later, did not)."""
    points = event.data.get("points")
    if "entry_id" not in event.data or not isinstance(points, int) or event.data.get("vests_at"):
        return 0
    return points


def _rewards_ready(events: list[MemberEvent], goals: list[RewardGoal], tier_key: str | None):
    """(event, key, metric, properties) for each reward one member's balance reached in this batch, keyed
    by the event that crossed its cost. The balance is the member's at dispatch, so the walk
    starts from it minus everything the batch moved."""
    ordered = sorted(events, key=lambda e: e.id)
    balance = ordered[-1].balance.balance - sum(_spendable_change(e) for e in ordered)
    found = []
    for event in ordered:
        after = balance + _spendable_change(event)
        for goal in rewards_reached(goals, balance, after, tier_key):
            found.append((event, f"event:{event.id}:ready:{goal.reward_id}", METRIC_REWARD_READY,
                          {"reward_id": goal.reward_id, "reward_name": goal.name, "points_cost": goal.points_cost,
                           "points_balance": after}))
        balance = after
    return found


def queue_klaviyo_syncs(session: Session, events: Sequence[MemberEvent], *, now: datetime) -> int:
    """Member events consumer: Klaviyo events and profile refreshes for shops connected to
    Klaviyo. Idempotent per event (rows are keyed by it); writes only, the caller commits."""
    connected = set(session.scalars(select(KlaviyoAccount.shop_id).where(
        KlaviyoAccount.shop_id.in_({e.shop_id for e in events})))) if events else set()
    events = [e for e in events if e.shop_id in connected]
    if not events:
        return 0
    goals = _reward_goals(session, connected)
    programs = {shop_id: current_program(session, session.get(Shop, shop_id))[1] for shop_id in connected}
    tiers = dict(session.execute(select(Member.id, Member.tier_key).where(
        Member.id.in_({e.member_id for e in events}))).tuples().all())
    by_member: dict[int, list[MemberEvent]] = defaultdict(list)
    for event in events:
        by_member[event.member_id].append(event)
    wanted: dict[tuple[int, str], KlaviyoSync] = {}
    for member_id, own in by_member.items():
        shop_id = own[0].shop_id
        found = [found for e in own for found in _klaviyo_events_for(e, programs[shop_id])]
        found += _rewards_ready(own, goals[shop_id], tiers.get(member_id))
        for event, key, metric, properties in found:
            wanted[(shop_id, key)] = KlaviyoSync(
                shop_id=shop_id, member_id=member_id, sync_key=key, kind="event", metric=metric,
                properties={**properties, "event_type": str(event.kind)}, occurred_at=event.occurred_at,
                status="pending", attempts=0, next_attempt_at=now, created_at=now)
        wanted[(shop_id, f"profile:{member_id}")] = KlaviyoSync(
            shop_id=shop_id, member_id=member_id, sync_key=f"profile:{member_id}", kind="profile",
            status="pending", attempts=0, next_attempt_at=now + PROFILE_COALESCE_DELAY, created_at=now)
    return _merge_sync_rows(session, wanted, now=now)


def _merge_sync_rows(session: Session, wanted: dict[tuple[int, str], KlaviyoSync], *, now: datetime) -> int:
    """New rows are added; an event row already there is left alone (a re-dispatched batch); a
    profile row is re-armed unless it already waits."""
    existing = {(row.shop_id, row.sync_key): row for row in session.scalars(select(KlaviyoSync).where(
        KlaviyoSync.shop_id.in_({shop_id for shop_id, _ in wanted}),
        KlaviyoSync.sync_key.in_({key for _, key in wanted})))}
    added = 0
    for ident, row in wanted.items():
        current = existing.get(ident)
        if current is None:
            session.add(row)
            added += 1
        elif current.kind == "profile" and current.status != "pending":
            current.status, current.attempts, current.last_error = "pending", 0, None
            current.next_attempt_at = now + PROFILE_COALESCE_DELAY
    session.flush()
    return added


def queue_expiry_reminders(session: Session, *, now: datetime) -> int:
    """"Points expiring" reminders (member_notifications, written by the expiry sweep) of
    connected shops, raised since the shop connected, become Klaviyo events once each."""
    found = session.execute(
        select(MemberNotification, KlaviyoAccount.connected_at)
        .join(KlaviyoAccount, KlaviyoAccount.shop_id == MemberNotification.shop_id)
        .where(MemberNotification.kind == "points_expiring", MemberNotification.created_at >= now - REMINDER_LOOKBACK,
               MemberNotification.created_at >= KlaviyoAccount.connected_at)).all()
    wanted = {(n.shop_id, f"reminder:{n.id}"): KlaviyoSync(
        shop_id=n.shop_id, member_id=n.member_id, sync_key=f"reminder:{n.id}", kind="event",
        metric=METRIC_POINTS_EXPIRING, occurred_at=n.created_at, status="pending", attempts=0, next_attempt_at=now,
        created_at=now, properties={"points": n.points, "expires_at": n.due_at.isoformat() if n.due_at else None})
        for n, _ in found}
    return _merge_sync_rows(session, wanted, now=now) if wanted else 0


# ---- sending ---------------------------------------------------------------------------

def referral_url(shop: Shop, member: Member) -> str:
    return f"https://{shop.domain}/?ref={member.referral_code}"


def profile_properties(session: Session, shop: Shop, member: Member, *, now: datetime,
                       goals: list[RewardGoal], program) -> dict[str, Any]:
    balance = balance_of(session, member, now)
    tier = program.tier(member.tier_key) if member.tier_key else None
    goal = next_reward(goals, balance.balance, member.tier_key)
    return {"tessera_points_balance": balance.balance, "tessera_points_pending": balance.pending,
            "tessera_points_lifetime": balance.lifetime_earned, "tessera_tier": tier.name if tier else "",
            "tessera_referral_url": referral_url(shop, member),
            "tessera_next_reward": goal.name if goal else "",
            "tessera_points_to_next_reward": goal.points_cost - balance.balance if goal else 0}


def _profile_identity(member: Member) -> dict[str, Any]:
    return {"email": member.email, "phone_number": member.phone if member.phone and member.phone.startswith("+")
            else None, "external_id": None}


def _due_rows(session: Session, *, now: datetime, limit: int) -> list[KlaviyoSync]:
    rows = session.scalars(select(KlaviyoSync).where(KlaviyoSync.status == "pending",
                                                     KlaviyoSync.next_attempt_at <= now)
                           .order_by(KlaviyoSync.shop_id, KlaviyoSync.id).limit(limit)
                           .with_for_update(skip_locked=True)).all()
    for row in rows:
        row.next_attempt_at = now + SEND_LEASE
    return list(rows)


def _payloads(session: Session, shop: Shop, rows: list[KlaviyoSync], *, now: datetime):
    """Profile resources (one per member) and event bodies of a shop's claimed rows; rows of a
    member with no email or phone cannot be matched in Klaviyo and are skipped."""
    _, program = current_program(session, shop)
    goals = _reward_goals(session, {shop.id})[shop.id]
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_({r.member_id for r in rows})))}
    profiles, events, skipped = [], [], []
    for row in rows:
        member = members.get(row.member_id)
        identity = _profile_identity(member) if member else {}
        if not identity.get("email") and not identity.get("phone_number"):
            skipped.append(row.id)
        elif row.kind == "profile":
            profiles.append((row.id, profile_resource(**identity, properties=profile_properties(
                session, shop, member, now=now, goals=goals, program=program))))
        else:
            profile = profile_resource(**identity, properties={})
            events.append((row.id, event_body(metric=row.metric, profile=profile, properties=row.properties or {},
                                              time=row.occurred_at or row.created_at,
                                              unique_id=f"tessera-{shop.id}-{row.sync_key}")))
    return profiles, events, skipped


def has_klaviyo_accounts(session: Session) -> bool:
    """A read-only look first: on SQLite a claim takes the write lock even when there is no work."""
    return session.scalar(select(KlaviyoAccount.id).limit(1)) is not None


def claim_klaviyo_work(session: Session, *, now: datetime, cipher: TokenCipher, limit: int = SYNC_BATCH):
    """Per shop: its API key and the payloads of its due rows (computed now, so a profile shows
    the member's state at send time). Commits the lease."""
    queue_expiry_reminders(session, now=now)
    by_shop: dict[int, list[KlaviyoSync]] = defaultdict(list)
    for row in _due_rows(session, now=now, limit=limit):
        by_shop[row.shop_id].append(row)
    work = []
    for shop_id, rows in by_shop.items():
        account, shop = klaviyo_account(session, shop_id), session.get(Shop, shop_id)
        if account is None or shop is None or not shop.is_installed:
            continue
        profiles, events, skipped = _payloads(session, shop, rows, now=now)
        for row in rows:
            if row.id in skipped:
                row.status, row.last_error, row.next_attempt_at = "skipped", "the member has no email or phone", None
        work.append((shop_id, cipher.decrypt(account.api_key_ciphertext), profiles, events))
    session.commit()
    return work


def _send(client: KlaviyoClient, profiles, events) -> dict[int, Exception | None]:
    """Outcome per row id: None when Klaviyo accepted it. After a long 429 the rest waits too:
    Klaviyo's limit is per account, so asking again at once only earns another 429."""
    calls = [([row_id for row_id, _ in profiles[start:start + PROFILES_PER_IMPORT]],
              lambda batch=profiles[start:start + PROFILES_PER_IMPORT]: client.import_profiles(
                  [resource for _, resource in batch]))
             for start in range(0, len(profiles), PROFILES_PER_IMPORT)]
    calls += [([row_id], lambda body=body: client.create_event(body)) for row_id, body in events]
    outcomes: dict[int, Exception | None] = {}
    throttled: KlaviyoRateLimited | None = None
    for row_ids, call in calls:
        error = throttled or _attempt(call)
        throttled = error if isinstance(error, KlaviyoRateLimited) else throttled
        outcomes.update({row_id: error for row_id in row_ids})
    return outcomes


def _attempt(call: Callable[[], None]) -> Exception | None:
    try:
        call()
    except KlaviyoError as exc:
        return exc
    return None


def record_klaviyo_outcomes(session: Session, shop_id: int, outcomes: dict[int, Exception | None], *,
                            now: datetime) -> None:
    rows = session.scalars(select(KlaviyoSync).where(KlaviyoSync.shop_id == shop_id,
                                                     KlaviyoSync.id.in_(outcomes))).all()
    for row in rows:
        _record(row, outcomes[row.id], now=now)
    account = klaviyo_account(session, shop_id)
    if account is not None:
        errors = [e for e in outcomes.values() if e is not None]
        account.last_error = str(errors[-1]) if errors else None
        if len(errors) < len(outcomes):
            account.last_synced_at = now
    session.commit()


def _record(row: KlaviyoSync, error: Exception | None, *, now: datetime) -> None:
    if error is None:
        row.status, row.sent_at, row.next_attempt_at, row.last_error = "sent", now, None, None
        return
    row.last_error = str(error)[:500]
    if isinstance(error, KlaviyoRateLimited):  # not the row's fault: no attempt is counted
        row.next_attempt_at = now + timedelta(seconds=error.retry_after_seconds)
        return
    row.attempts += 1
    if getattr(error, "permanent", False) or row.attempts >= MAX_ATTEMPTS:
        row.status, row.next_attempt_at = "failed", None
    else:
        row.next_attempt_at = now + timedelta(minutes=2 ** row.attempts)


def sync_klaviyo(session_factory: Callable[[], Session], *, clock: Callable[[], datetime], http: requests.Session,
                 cipher: TokenCipher, base_url: str, sleep: Callable[[float], None] | None = None) -> int:
    """Sends what is due to Klaviyo, shop by shop; returns how many rows were attempted. No
    transaction is open while Klaviyo is being waited for."""
    with session_factory() as session:
        work = claim_klaviyo_work(session, now=clock(), cipher=cipher)
    attempted = 0
    for shop_id, api_key, profiles, events in work:
        outcomes = _send(KlaviyoClient(http, base_url, api_key, sleep=sleep), profiles, events)
        with session_factory() as session:
            record_klaviyo_outcomes(session, shop_id, outcomes, now=clock())
        attempted += len(outcomes)
    return attempted
