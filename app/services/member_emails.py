"""Which emails to send, written as `member_emails` rows (the outbox): from member events (the
consumer in event_consumers.CONSUMERS), from the hourly look at expiry reminders, birthdays and
tiers about to lapse, and the member's one-click unsubscribe. Sending is mail_delivery.py's.

Every row's key comes from its cause, so a cause seen twice (a retried event batch, two
schedulers) queues one email."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, extract, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.loyalty.emails import FEEDBACK_REQUEST_AFTER, FEEDBACK_REQUEST_UNTIL, GATHER_DELAY, MailStatus, MessageKind, birthday_today, member_locale, \
    rewards_newly_within_reach, tier_rises
from app.loyalty.program import Program
from app.loyalty.tiers import qualifying_tier
from app.models import FeedbackAnswer, Member, MemberEmail, MemberNotification, Order, Reward, RewardReadyMark, Shop
from app.services.program import current_program
from app.services.tiers import tier_metric

# Rewards a balance can "reach": a fixed cost (a points slider has no single price).
CROSSING_KINDS_EXCLUDED = ("points_slider",)
# Expiry reminders and events older than this are history, not news: an import of last year's
# orders must not email every member about tiers they reached months ago.
REMINDER_FRESHNESS = timedelta(days=2)
EVENT_FRESHNESS = timedelta(days=2)


class MemberEventLike(Protocol):
    id: int
    shop_id: int
    member_id: int
    kind: str
    occurred_at: datetime
    data: dict
    balance: Any  # app.loyalty.ledger.Balance


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def queue_email(session: Session, *, shop_id: int, member_id: int | None, kind: str, key: str, data: dict,
                now: datetime, delay: timedelta = GATHER_DELAY) -> bool:
    """One row in the outbox; a key already there is left alone (False)."""
    statement = _insert(session)(MemberEmail).values(
        shop_id=shop_id, member_id=member_id, kind=str(kind), message_key=key, status=MailStatus.QUEUED.value,
        attempts=0, next_attempt_at=now + delay, data=data, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["shop_id", "message_key"]).returning(MemberEmail.id)
    return session.execute(statement).first() is not None


# ---- the member events consumer ---------------------------------------------------------------

def queue_emails_for_events(session: Session, events: list[MemberEventLike], *, now: datetime) -> None:
    """The consumer of member events: writes outbox rows only (no sending, no commit)."""
    by_shop: dict[int, list[MemberEventLike]] = defaultdict(list)
    for event in events:
        by_shop[event.shop_id].append(event)
    for shop_id, shop_events in by_shop.items():
        shop = session.get(Shop, shop_id)
        if shop is None or not shop.is_installed:
            continue
        _, program = current_program(session, shop)
        for event in shop_events:
            _queue_for_event(session, shop, program, event, now)
        latest = {e.member_id: e for e in sorted(shop_events, key=lambda e: (e.occurred_at, e.id))}
        note_reward_crossings(session, shop, program, latest.values(), now=now)


def is_news(event: MemberEventLike, now: datetime) -> bool:
    return event.occurred_at is None or now - event.occurred_at <= EVENT_FRESHNESS


def _queue_for_event(session: Session, shop: Shop, program: Program, event: MemberEventLike, now: datetime) -> None:
    data, messages = event.data or {}, program.mail.messages
    kind = str(event.kind)
    if not is_news(event, now):
        return
    if kind == "points.earned" and messages[MessageKind.POINTS_EARNED].enabled and int(data.get("points") or 0) > 0:
        _add_to_points_digest(session, shop, event, int(data["points"]), now)
    elif kind == "reward.redeemed" and data.get("redemption_id"):
        queue_email(session, shop_id=shop.id, member_id=event.member_id, kind=MessageKind.CODE_ISSUED,
                    key=f"code_issued:redemption:{data['redemption_id']}",
                    data={"redemption_id": int(data["redemption_id"])}, now=now, delay=timedelta(0))
    elif kind == "tier.changed" and tier_rises([t.key for t in program.tiers.levels], data.get("tier_from"),
                                               data.get("tier_to")):
        queue_email(session, shop_id=shop.id, member_id=event.member_id, kind=MessageKind.TIER_REACHED,
                    key=f"tier_reached:event:{event.id}", data={"tier_key": data["tier_to"]}, now=now)
    elif kind == "referral.completed":
        key = f"referral_completed:{data.get('referral_id') or 'event:' + str(event.id)}"
        queue_email(session, shop_id=shop.id, member_id=event.member_id, kind=MessageKind.REFERRAL_COMPLETED,
                    key=key, data={"points": int(data.get("points") or 0)}, now=now)


def _add_to_points_digest(session: Session, shop: Shop, event: MemberEventLike, points: int, now: datetime) -> None:
    """A day's points-earned messages gather into one row while it waits to be sent."""
    key = f"points_earned:{event.member_id}:{now.date().isoformat()}"
    row = session.scalar(select(MemberEmail).where(MemberEmail.shop_id == shop.id, MemberEmail.message_key == key))
    if row is None:
        queue_email(session, shop_id=shop.id, member_id=event.member_id, kind=MessageKind.POINTS_EARNED, key=key,
                    data={"points": points, "event_ids": [event.id]}, now=now)
    elif row.status == MailStatus.QUEUED and event.id not in (row.data or {}).get("event_ids", []):
        row.data = {"points": int(row.data["points"]) + points, "event_ids": [*row.data["event_ids"], event.id]}
    elif row.status != MailStatus.QUEUED:
        queue_email(session, shop_id=shop.id, member_id=event.member_id, kind=MessageKind.POINTS_EARNED,
                    key=f"points_earned:event:{event.id}", data={"points": points, "event_ids": [event.id]}, now=now)


def note_reward_crossings(session: Session, shop: Shop, program: Program, events: Iterable[MemberEventLike], *,
                          now: datetime) -> int:
    """Reward ready, once per crossing: a reward is marked when the balance first reaches its
    cost and unmarked when the balance falls below it, so only the next crossing tells again."""
    events = list(events)
    if not events:
        return 0
    rewards = _reachable_rewards(session, shop)
    members = {m.id: m for m in session.scalars(select(Member).where(
        Member.shop_id == shop.id, Member.id.in_([e.member_id for e in events])))}
    marks = defaultdict(set)
    for member_id, reward_id in session.execute(select(RewardReadyMark.member_id, RewardReadyMark.reward_id).where(
            RewardReadyMark.shop_id == shop.id, RewardReadyMark.member_id.in_(list(members)))):
        marks[member_id].add(reward_id)
    queued = 0
    for event in events:
        member = members.get(event.member_id)
        if member is not None:
            queued += _cross(session, shop, program, member, event, rewards, marks[member.id], now)
    return queued


def _reachable_rewards(session: Session, shop: Shop) -> list[Reward]:
    return session.scalars(select(Reward).where(
        Reward.shop_id == shop.id, Reward.enabled.is_(True), Reward.deleted_at.is_(None),
        Reward.kind.not_in(CROSSING_KINDS_EXCLUDED), Reward.points_cost > 0)).all()


def _cross(session: Session, shop: Shop, program: Program, member: Member, event: MemberEventLike,
           rewards: list[Reward], marked: set[int], now: datetime) -> int:
    available = {r.id: r for r in rewards if not r.tier_keys or member.tier_key in r.tier_keys}
    reached, rearmed = rewards_newly_within_reach(int(event.balance.balance),
                                                  {rid: r.points_cost for rid, r in available.items()}, marked)
    if rearmed:
        session.execute(delete(RewardReadyMark).where(RewardReadyMark.shop_id == shop.id,
                                                      RewardReadyMark.member_id == member.id,
                                                      RewardReadyMark.reward_id.in_(rearmed)))
    for reward_id in reached:
        session.add(RewardReadyMark(shop_id=shop.id, member_id=member.id, reward_id=reward_id, reached_at=now))
    session.flush()
    if not reached or not program.mail.messages[MessageKind.REWARD_READY].enabled or not is_news(event, now):
        return 0
    best = available[reached[0]]  # the most valuable reward newly within reach
    return int(queue_email(session, shop_id=shop.id, member_id=member.id, kind=MessageKind.REWARD_READY,
                           key=f"reward_ready:{member.id}:{best.id}:event:{event.id}",
                           data={"reward_id": best.id, "reward_name": best.name, "reward_points": best.points_cost},
                           now=now))


# ---- scheduled: expiry reminders, birthdays, tiers about to lapse -----------------------------

def queue_scheduled_member_emails(session: Session, shop: Shop, *, now: datetime) -> int:
    """The hourly pass for one shop (idempotent: each row's key names its day or its cause)."""
    _, program = current_program(session, shop)
    messages = program.mail.messages
    queued = 0
    if messages[MessageKind.POINTS_EXPIRING].enabled:
        queued += _queue_expiry_reminders(session, shop, now)
    if messages[MessageKind.BIRTHDAY].enabled:
        queued += _queue_birthdays(session, shop, now)
    if messages[MessageKind.TIER_LOSS_WARNING].enabled and program.tiers.enabled:
        queued += _queue_tier_warnings(session, shop, program, now)
    if messages[MessageKind.FEEDBACK_REQUEST].enabled and program.feedback.enabled:
        queued += _queue_feedback_requests(session, shop, program, now)
    session.commit()
    return queued


def _queue_expiry_reminders(session: Session, shop: Shop, now: datetime) -> int:
    """The `points_expiring` notifications the expiry sweep raises (services/expiry.py)."""
    reminders = session.scalars(select(MemberNotification).where(
        MemberNotification.shop_id == shop.id, MemberNotification.kind == "points_expiring",
        MemberNotification.created_at >= now - REMINDER_FRESHNESS)).all()
    return sum(queue_email(session, shop_id=shop.id, member_id=n.member_id, kind=MessageKind.POINTS_EXPIRING,
                           key=f"points_expiring:notification:{n.id}",
                           data={"points": n.points, "expires_on": _day(n.due_at)}, now=now)
               for n in reminders)


def _queue_birthdays(session: Session, shop: Shop, now: datetime) -> int:
    candidates = session.scalars(select(Member).where(
        Member.shop_id == shop.id, Member.birthday.is_not(None), Member.blocked_at.is_(None),
        Member.redacted_at.is_(None), extract("month", Member.birthday) == now.month)).all()
    return sum(queue_email(session, shop_id=shop.id, member_id=m.id, kind=MessageKind.BIRTHDAY,
                           key=f"birthday:{m.id}:{now.year}", data={}, now=now)
               for m in candidates if birthday_today(m.birthday, now.date()))


def _queue_tier_warnings(session: Session, shop: Shop, program: Program, now: datetime) -> int:
    """Members whose kept tier ends within the warning window and who would not qualify for it
    on that day with what they have done so far."""
    horizon = now + timedelta(days=program.mail.tier_warning_days)
    members = session.scalars(select(Member).where(
        Member.shop_id == shop.id, Member.tier_key.is_not(None), Member.tier_retained_until > now,
        Member.tier_retained_until <= horizon, Member.redacted_at.is_(None))).all()
    levels = [t.key for t in program.tiers.levels]
    queued = 0
    for member in members:
        ends = member.tier_retained_until
        kept = qualifying_tier(program.tiers, tier_metric(session, shop, member, program, ends))
        if member.tier_key in levels and (kept is None or levels.index(kept.key) < levels.index(member.tier_key)):
            queued += queue_email(session, shop_id=shop.id, member_id=member.id, kind=MessageKind.TIER_LOSS_WARNING,
                                  key=f"tier_loss_warning:{member.id}:{_day(ends)}",
                                  data={"tier_key": member.tier_key, "period_ends_on": _day(ends)}, now=now)
    return queued


def _queue_feedback_requests(session: Session, shop: Shop, program: Program, now: datetime) -> int:
    """Members' paid orders of a day or more ago that nobody answered yet: one request per order
    (its key names the order). Asked here, not on the order's points event, because an order
    that earns no points is still worth asking about, and a day later the parcel may be there."""
    newest = now - FEEDBACK_REQUEST_AFTER
    oldest = max(now - FEEDBACK_REQUEST_UNTIL, now - timedelta(days=program.feedback.ask_within_days))
    answered = select(FeedbackAnswer.order_id).where(FeedbackAnswer.shop_id == shop.id)
    orders = session.execute(select(Order.order_id, Order.name, Order.member_id).where(
        Order.shop_id == shop.id, Order.member_id.is_not(None), Order.paid_at > oldest, Order.paid_at <= newest,
        Order.is_test.is_(False), Order.cancelled_at.is_(None), Order.order_id.not_in(answered))).all()
    return sum(queue_email(session, shop_id=shop.id, member_id=member_id, kind=MessageKind.FEEDBACK_REQUEST,
                           key=f"feedback_request:order:{order_id}",
                           data={"order_id": str(order_id), "order_name": name or str(order_id)}, now=now)
               for order_id, name, member_id in orders)


def _day(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    return (moment.date() if isinstance(moment, datetime) else moment).isoformat()


def queue_scheduled_member_emails_everywhere(db, *, now: datetime) -> int:
    with db.scope(read_only=True) as session:
        shop_ids = session.scalars(select(Shop.id).where(Shop.uninstalled_at.is_(None))).all()
    queued = 0
    for shop_id in shop_ids:
        with db.scope() as session:
            queued += queue_scheduled_member_emails(session, session.get(Shop, shop_id), now=now)
    return queued


# ---- the member's own choices -------------------------------------------------------------------

def unsubscribe_member(session: Session, shop_id: int, member_id: int, *, now: datetime) -> Member | None:
    """One-click unsubscribe: no more loyalty emails for this member; what is still queued for
    them is suppressed at once. Unsubscribing twice keeps the first moment."""
    member = session.scalar(select(Member).where(Member.shop_id == shop_id, Member.id == member_id))
    if member is None:
        return None
    member.email_unsubscribed_at = member.email_unsubscribed_at or now
    for row in session.scalars(select(MemberEmail).where(MemberEmail.shop_id == shop_id,
                                                         MemberEmail.member_id == member_id,
                                                         MemberEmail.status == MailStatus.QUEUED)):
        row.status, row.error, row.next_attempt_at = MailStatus.SUPPRESSED, "The member unsubscribed.", None
    session.commit()
    return member


def email_language(member: Member) -> str:
    return member_locale(member.locale)


# ---- the owner's settings -----------------------------------------------------------------------

def save_message_settings(session: Session, shop: Shop, kind: MessageKind, *, locale: str, enabled: bool,
                          subject: str, body: str, default_subject: str, default_body: str, staff_user_id: str,
                          now: datetime, segment_ids: list[int] | None = None,
                          lifecycle_stages: list[str] | None = None):
    """One message's switch and its wording in one language, as a new program version. Text
    left as Tessera's default is not stored, so later improvements to the default reach it."""
    from app.services.program import update_program
    _, program = current_program(session, shop)
    settings = program.as_settings()
    message = settings["mail"]["messages"][str(kind)]
    message["enabled"] = enabled
    # The audience (empty: everyone); checked against the shop's segments by update_program.
    message["segment_ids"], message["lifecycle_stages"] = segment_ids or None, lifecycle_stages or None
    for field_name, text, default in (("subject", subject, default_subject), ("body", body, default_body)):
        text = (text or "").replace("\r\n", "\n").strip()
        if text and text != default.strip():
            message[field_name][locale] = text
        else:
            message[field_name].pop(locale, None)
    return update_program(session, shop, settings, staff_user_id=staff_user_id, now=now)


def save_mail_preferences(session: Session, shop: Shop, changes: dict, *, staff_user_id: str, now: datetime):
    """Daily cap, tier warning days and the owner's notices, as a new program version."""
    from app.merge import deep_merge
    from app.services.program import update_program
    _, program = current_program(session, shop)
    settings = deep_merge(program.as_settings(), {"mail": changes})
    return update_program(session, shop, settings, staff_user_id=staff_user_id, now=now)


def forget_member_emails(session: Session, shop_id: int, member_id: int) -> None:
    """A customer's erasure (customers/redact): the emails to them (address, name in subjects)
    and their reward-ready marks go; within the caller's transaction."""
    session.execute(delete(MemberEmail).where(MemberEmail.shop_id == shop_id, MemberEmail.member_id == member_id))
    session.execute(delete(RewardReadyMark).where(RewardReadyMark.shop_id == shop_id,
                                                  RewardReadyMark.member_id == member_id))
