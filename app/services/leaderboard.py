"""A member's choice to show on the monthly leaderboard (off until they opt in)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.errors import ActionNotAllowed, InvalidInput
from app.models import LeaderboardChoice, Shop
from app.services.members import get_or_create_member
from app.services.program import current_program
from app.upsert import insert_ignoring_conflicts

_INSERT = insert_ignoring_conflicts(LeaderboardChoice.__table__, ("shop_id", "member_id"))


def choose_leaderboard(session: Session, shop: Shop, customer_id: int, opted_in, *, now: datetime) -> bool:
    """Record the member's choice; commits and returns it."""
    if not isinstance(opted_in, bool):
        raise InvalidInput("Say whether to show you on the leaderboard.", {"opted_in": "true or false"})
    _, program = current_program(session, shop)
    if not program.leaderboard.enabled:
        raise ActionNotAllowed("This store has no leaderboard right now.")
    member = get_or_create_member(session, shop, customer_id, now=now)
    session.execute(_INSERT, dict(shop_id=shop.id, member_id=member.id, opted_in=opted_in, updated_at=now))
    choice = session.scalar(select(LeaderboardChoice).where(LeaderboardChoice.shop_id == shop.id,
                                                            LeaderboardChoice.member_id == member.id))
    choice.opted_in, choice.updated_at = opted_in, now
    session.commit()
    return opted_in
