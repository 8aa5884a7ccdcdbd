"""The games' part of a customer's data: in the data-request export, and erased on redact (the
feedback comment is free text a customer may have put anything in; the leaderboard shows names)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import Donation, FeedbackAnswer, LeaderboardChoice, Member, MemberBadge, Shop


def games_data_export(session: Session, shop: Shop, member: Member) -> dict[str, Any]:
    def rows(model):
        return session.scalars(select(model).where(model.shop_id == shop.id, model.member_id == member.id)
                               .order_by(model.id)).all()
    return {
        "badges": [{"badge": b.badge_key, "earned_at": b.earned_at.isoformat()} for b in rows(MemberBadge)],
        "feedback": [{"order_id": a.order_id, "nps": a.nps, "csat": a.csat, "comment": a.comment,
                      "answered_at": a.created_at.isoformat()} for a in rows(FeedbackAnswer)],
        "donations": [{"cause": d.cause_key, "points": d.points, "created_at": d.created_at.isoformat()}
                      for d in rows(Donation)],
        "leaderboard_opted_in": any(c.opted_in for c in rows(LeaderboardChoice)),
    }


def redact_games_data(session: Session, shop: Shop, member: Member) -> None:
    """Scores and donations stay (anonymous figures the owner reports on); what could name the
    customer goes."""
    session.execute(update(FeedbackAnswer).where(FeedbackAnswer.shop_id == shop.id,
                                                 FeedbackAnswer.member_id == member.id).values(comment=None))
    session.execute(update(LeaderboardChoice).where(LeaderboardChoice.shop_id == shop.id,
                                                    LeaderboardChoice.member_id == member.id).values(opted_in=False))
