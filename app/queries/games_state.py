"""The games part of a member's widget state (read-only): badges earned and next, running
challenges with progress, orders awaiting feedback, the leaderboard choice and the causes open
for donations. Each part is empty while its module is off."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.badges import next_badges
from app.loyalty.challenges import Challenge, Window, current_window
from app.loyalty.money import to_decimal
from app.loyalty.program import Program
from app.models import FeedbackAnswer, LeaderboardChoice, Member, Order, Shop
from app.services.badges import earned_badges, member_counts
from app.services.challenges import challenge_windows

GUEST_STATE = {"badges": [], "next_badges": [], "challenges": [], "feedback_due": [], "leaderboard": None,
               "charity": None}


def member_games_state(session: Session, shop: Shop, customer_id: int, *, now: datetime) -> dict[str, Any]:
    from app.services.members import find_member
    from app.services.program import current_program
    _, program = current_program(session, shop)
    return games_state(session, shop, find_member(session, shop, customer_id), program, now=now)


def games_state(session: Session, shop: Shop, member: Member | None, program: Program, *,
                now: datetime) -> dict[str, Any]:
    if member is None:
        return {**GUEST_STATE, "leaderboard": _leaderboard(session, shop, None, program),
                "charity": _charity(shop, program)}
    return {**_badges(session, shop, member, program, now), "challenges": _challenges(session, shop, member, program,
                                                                                       now),
            "feedback_due": _feedback_due(session, shop, member, program, now),
            "leaderboard": _leaderboard(session, shop, member, program), "charity": _charity(shop, program)}


def _badges(session: Session, shop: Shop, member: Member, program: Program, now: datetime) -> dict[str, Any]:
    held = earned_badges(session, shop, member)
    earned = [{"key": b.badge_key, "name": b.name, "earned_at": b.earned_at.isoformat()} for b in held]
    if not program.badges.enabled:
        return {"badges": earned, "next_badges": []}
    counts = member_counts(session, shop, member, program.badges.counted_actions(), now=now)
    ahead = next_badges(program.badges, counts, {b.badge_key for b in held})
    return {"badges": earned, "next_badges": [{"key": b.key, "name": b.name, "progress": b.progress, "goal": b.goal,
                                               "bonus_points": b.bonus_points} for b in ahead]}


def _challenges(session: Session, shop: Shop, member: Member, program: Program, now: datetime) -> list[dict]:
    shown = []
    for challenge in program.challenges.running():
        window = current_window(challenge, challenge_windows(session, shop, member, challenge), now=now)
        shown.append(_challenge_json(challenge, window, shop.currency))
    return shown


def _challenge_json(challenge: Challenge, window: Window | None, currency: str) -> dict[str, Any]:
    goal, progress = challenge.goal_units(currency), min(window.progress if window else 0,
                                                         challenge.goal_units(currency))
    money = challenge.kind == "spend"
    return {"key": challenge.key, "name": challenge.name, "kind": challenge.kind,
            "progress": str(to_decimal(progress, currency)) if money else progress,
            "goal": str(to_decimal(goal, currency)) if money else goal, "currency": currency if money else None,
            "days": challenge.days, "ends_at": window.ends_at.isoformat() if window and window.ends_at else None,
            "completed_at": window.completed_at.isoformat() if window and window.completed_at else None,
            "reward_points": challenge.reward_points, "reward_id": challenge.reward_id}


def _feedback_due(session: Session, shop: Shop, member: Member, program: Program, now: datetime) -> list[dict]:
    """The member's paid orders of the last days the owner set, not answered yet, newest first."""
    settings = program.feedback
    if not settings.enabled:
        return []
    answered = select(FeedbackAnswer.order_id).where(FeedbackAnswer.shop_id == shop.id,
                                                     FeedbackAnswer.member_id == member.id)
    orders = session.execute(select(Order.order_id, Order.name, Order.paid_at).where(
        Order.shop_id == shop.id, Order.member_id == member.id, Order.paid_at >= now - timedelta(
            days=settings.ask_within_days), Order.is_test.is_(False), Order.cancelled_at.is_(None),
        Order.order_id.not_in(answered)).order_by(Order.paid_at.desc()).limit(5)).all()
    return [{"order_id": str(order_id), "name": name or str(order_id), "paid_at": paid_at.isoformat(),
             "points": settings.points} for order_id, name, paid_at in orders]


def _leaderboard(session: Session, shop: Shop, member: Member | None, program: Program) -> dict[str, Any] | None:
    if not program.leaderboard.enabled:
        return None
    opted_in = member is not None and bool(session.scalar(select(LeaderboardChoice.opted_in).where(
        LeaderboardChoice.shop_id == shop.id, LeaderboardChoice.member_id == member.id)))
    return {"opted_in": opted_in}


def _charity(shop: Shop, program: Program) -> dict[str, Any] | None:
    settings = program.charity
    causes = settings.active_causes()
    if not causes:
        return None
    return {"causes": [{"key": c.key, "name": c.name, "description": c.description} for c in causes],
            "points_per_unit": settings.points_per_unit, "currency": shop.currency,
            "matching_percent": str(settings.matching_percent.normalize()), "min_points": settings.min_points}
