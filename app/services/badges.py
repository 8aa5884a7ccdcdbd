"""Awarding badges: when a counted thing happens (an order settles, a referral completes, an
action earns) within that use case's transaction, and by a periodic catch-up for the badges
that need only time (a year as a member) or a profile fact (a birthday on file), set-based per
shop.

The counts behind a badge are read from the records themselves, never kept as counters that
could drift: orders paid and still standing, referrals completed, action entries earned.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.loyalty.badges import CAUGHT_UP, COUNTED_ACTIONS, BadgeRule, badge_reason, badges_due
from app.loyalty.ledger import EntryKind, badge_bonus_key
from app.loyalty.program import Program
from app.loyalty.wording import reason_fields
from app.models import LedgerEntry, Member, MemberBadge, Order, Referral, Shop
from app.services.ledger import NewEntry, post_entry
from app.services.program import current_program
from app.upsert import insert_ignoring_conflicts

_INSERT_BADGE = insert_ignoring_conflicts(MemberBadge.__table__, ("shop_id", "member_id", "badge_key"))


def standing_orders(shop_id: int):
    """Paid, live orders: what "N orders" counts (a cancelled or fully refunded one does not)."""
    return (Order.shop_id == shop_id) & Order.paid_at.is_not(None) & Order.cancelled_at.is_(None) & \
        Order.is_test.is_(False) & ((Order.financial_status.is_(None)) | (Order.financial_status != "refunded"))


def member_since(member: Member) -> datetime:
    return member.customer_created_at or member.created_at


def member_counts(session: Session, shop: Shop, member: Member, actions: set[str], *, now: datetime) -> dict[str, int]:
    """The member's count of each counted thing the badge rules name."""
    counts: dict[str, int] = {}
    if "orders" in actions:
        counts["orders"] = session.scalar(select(func.count()).select_from(Order).where(
            standing_orders(shop.id), Order.member_id == member.id))
    if "referrals" in actions:
        counts["referrals"] = session.scalar(select(func.count()).select_from(Referral).where(
            Referral.shop_id == shop.id, Referral.referrer_member_id == member.id, Referral.status == "completed"))
    counts["birthday_set"] = int(member.birthday is not None)
    counts["membership_days"] = max(0, (now - member_since(member)).days)
    wanted = sorted(actions & set(COUNTED_ACTIONS))
    if wanted:
        counts.update(session.execute(select(LedgerEntry.cause_id, func.count()).where(
            LedgerEntry.shop_id == shop.id, LedgerEntry.member_id == member.id, LedgerEntry.cause_type == "action",
            LedgerEntry.kind == str(EntryKind.EARN), LedgerEntry.cause_id.in_(wanted)).group_by(LedgerEntry.cause_id)
        ).tuples().all())
    return counts


def earned_badges(session: Session, shop: Shop, member: Member) -> list[MemberBadge]:
    return list(session.scalars(select(MemberBadge).where(
        MemberBadge.shop_id == shop.id, MemberBadge.member_id == member.id).order_by(MemberBadge.earned_at,
                                                                                      MemberBadge.id)))


def award_badges(session: Session, shop: Shop, member: Member, program: Program, *, version_id: int | None,
                 now: datetime) -> list[BadgeRule]:
    """Within the caller's transaction: the badges the member's counts now reach, each once,
    with its bonus points. Returns the badges awarded now."""
    settings = program.badges
    if not settings.enabled or member.blocked_at is not None:
        return []
    counts = member_counts(session, shop, member, settings.counted_actions(), now=now)
    held = {b.badge_key for b in earned_badges(session, shop, member)}
    return [rule for rule in badges_due(settings, counts, held)
            if _award(session, member, rule, version_id=version_id, now=now)]


def _award(session: Session, member: Member, rule: BadgeRule, *, version_id: int | None, now: datetime) -> bool:
    inserted = session.execute(_INSERT_BADGE, dict(shop_id=member.shop_id, member_id=member.id, badge_key=rule.key,
                                                   name=rule.name, bonus_points=rule.bonus_points,
                                                   earned_at=now)).scalar()
    if inserted is None:
        return False  # another writer awarded it first
    post_entry(session, member, NewEntry(key=badge_bonus_key(member.id, rule.key), kind=EntryKind.EARN,
                                         points=rule.bonus_points, cause_type="badge", cause_id=rule.key,
                                         **reason_fields(badge_reason(rule)), program_version_id=version_id), now=now)
    return True


def award_badges_for(session: Session, shop: Shop, members: Mapping[int, Member] | list[Member], program: Program, *,
                     version_id: int | None, now: datetime) -> None:
    """award_badges for each member of a batch (an order batch's members), if badges are on."""
    if program.badges.enabled:
        for member in (members.values() if isinstance(members, Mapping) else members):
            award_badges(session, shop, member, program, version_id=version_id, now=now)


def catch_up_time_badges(session: Session, shop: Shop, *, now: datetime) -> int:
    """The periodic catch-up: members whose time as a member (or a birthday on file) reached a
    badge, found with one query per badge (set-based), then awarded. Commits; returns the number
    awarded (at most 1000 per badge a run; the next run takes the rest)."""
    version, program = current_program(session, shop)
    if not program.badges.enabled:
        return 0
    awarded = 0
    for rule in (r for r in program.badges.rules if r.action in CAUGHT_UP):
        for member in _members_due(session, shop, rule, now):
            awarded += _award(session, member, rule, version_id=version.id, now=now)
    session.commit()
    return awarded


def _members_due(session: Session, shop: Shop, rule: BadgeRule, now: datetime) -> list[Member]:
    held = select(MemberBadge.member_id).where(MemberBadge.shop_id == shop.id, MemberBadge.badge_key == rule.key)
    if rule.action == "birthday_set":
        reached = Member.birthday.is_not(None)
    else:
        reached = func.coalesce(Member.customer_created_at, Member.created_at) <= now - timedelta(days=rule.count)
    return list(session.scalars(select(Member).where(
        Member.shop_id == shop.id, Member.blocked_at.is_(None), Member.redacted_at.is_(None), reached,
        Member.id.not_in(held)).order_by(Member.id).limit(1000)))


def catch_up_badges_everywhere(db, *, now: datetime) -> int:
    """For the periodic job: every installed shop, one transaction each."""
    with db.scope(read_only=True) as session:
        shop_ids = session.scalars(select(Shop.id).where(Shop.uninstalled_at.is_(None))).all()
    awarded = 0
    for shop_id in shop_ids:
        with db.scope() as session:
            awarded += catch_up_time_badges(session, session.get(Shop, shop_id), now=now)
    return awarded
