"""Completing challenges: after an order settles, a referral completes or a review earns, the
member's running challenges are measured from the records (orders, referrals, review entries)
and each completed window is recorded once, with its points in the ledger. A challenge whose
reward is a catalog item gets a free code from grant_challenge_rewards (a periodic job, like a
tier's entry reward, services/challenge_rewards.py): Shopify is called outside the order's
transaction.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.challenges import (Challenge, QualifyingEvent, Window, challenge_reason, completions_due,
                                    windows)
from app.loyalty.ledger import EntryKind, challenge_reward_key, order_earn_key
from app.loyalty.program import Program
from app.loyalty.wording import reason_fields
from app.models import ChallengeCompletion, LedgerEntry, Member, Order, Referral, Shop
from app.services.badges import standing_orders
from app.services.ledger import NewEntry, post_entry
from app.upsert import insert_ignoring_conflicts

_INSERT_COMPLETION = insert_ignoring_conflicts(ChallengeCompletion.__table__,
                                               ("shop_id", "member_id", "challenge_key", "window_start"))


def qualifying_events(session: Session, shop: Shop, member: Member, kind: str) -> list[QualifyingEvent]:
    """What counts towards a challenge of this kind, from the member's records."""
    if kind in ("orders", "spend"):
        placed = Order.processed_at
        rows = session.execute(select(placed, Order.order_id, Order.earning_base_minor - Order.refunded_base_minor,
                                      Order.currency).where(standing_orders(shop.id), Order.member_id == member.id,
                                                            placed.is_not(None)))
        if kind == "orders":
            return [QualifyingEvent(at, 1, order_id) for at, order_id, _, _ in rows]
        # Spend is counted in the shop's currency only: amounts in another are not comparable.
        return [QualifyingEvent(at, max(0, spent), order_id) for at, order_id, spent, currency in rows
                if currency == shop.currency]
    if kind == "referrals":
        return [QualifyingEvent(at, 1) for at in session.scalars(select(Referral.completed_at).where(
            Referral.shop_id == shop.id, Referral.referrer_member_id == member.id, Referral.status == "completed",
            Referral.completed_at.is_not(None)))]
    return [QualifyingEvent(at, 1) for at in session.scalars(select(LedgerEntry.created_at).where(
        LedgerEntry.shop_id == shop.id, LedgerEntry.member_id == member.id, LedgerEntry.cause_type == "action",
        LedgerEntry.cause_id == "product_review", LedgerEntry.kind == str(EntryKind.EARN)))]


def challenge_windows(session: Session, shop: Shop, member: Member, challenge: Challenge) -> list[Window]:
    return windows(challenge, qualifying_events(session, shop, member, challenge.kind),
                   challenge.goal_units(shop.currency))


def complete_challenges(session: Session, shop: Shop, member: Member, program: Program, *, version_id: int | None,
                        now: datetime) -> list[ChallengeCompletion]:
    """Within the caller's transaction: record the member's newly completed windows, once each."""
    if member.blocked_at is not None:
        return []
    done = []
    for challenge in program.challenges.running():
        for window in completions_due(challenge_windows(session, shop, member, challenge), now=now):
            completion = _record(session, shop, member, challenge, window, version_id=version_id, now=now)
            if completion is not None:
                done.append(completion)
    return done


def complete_challenges_for(session: Session, shop: Shop, members, program: Program, *, version_id: int | None,
                            now: datetime) -> None:
    if program.challenges.running():
        for member in members:
            complete_challenges(session, shop, member, program, version_id=version_id, now=now)


def _record(session: Session, shop: Shop, member: Member, challenge: Challenge, window: Window, *,
            version_id: int | None, now: datetime) -> ChallengeCompletion | None:
    order_id = window.completed_by.order_id if window.completed_by else None
    values = dict(shop_id=shop.id, member_id=member.id, challenge_key=challenge.key, window_start=window.start,
                  ends_at=window.ends_at, completed_at=window.completed_at, order_id=order_id,
                  reward_points=challenge.reward_points, reward_id=challenge.reward_id, created_at=now)
    completion_id = session.execute(_INSERT_COMPLETION, values).scalar()
    if completion_id is None:
        return None
    # Carrying the order id, the bonus is taken back with the order's points if it is voided.
    post_entry(session, member, NewEntry(
        key=challenge_reward_key(member.id, challenge.key, window.start), kind=EntryKind.EARN,
        points=challenge.reward_points, cause_type="challenge", cause_id=challenge.key, order_id=order_id,
        **reason_fields(challenge_reason(challenge, shop.currency)), program_version_id=version_id,
        vests_at=_order_vests_at(session, shop, order_id)), now=now)
    return ChallengeCompletion(id=completion_id, **values)


def _order_vests_at(session: Session, shop: Shop, order_id: int | None) -> datetime | None:
    """A bonus an order completed is pending as long as that order's points are."""
    if order_id is None:
        return None
    return session.scalar(select(LedgerEntry.vests_at).where(LedgerEntry.shop_id == shop.id,
                                                             LedgerEntry.entry_key == order_earn_key(order_id)))

