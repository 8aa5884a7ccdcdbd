"""Feedback and donation reports for the owner (read-only): NPS and CSAT per month with answer
counts, the comments, and what is owed to each cause per month.

Months are the shop's calendar months (its time zone, UTC when unknown), as on the leaderboard.
`members` narrows every report to a set of members (a subquery of member ids, e.g. a segment's),
so a per-segment report is the same query with a filter.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.loyalty.feedback import scores
from app.loyalty.money import to_decimal
from app.models import Donation, FeedbackAnswer, Order, Shop
from app.queries.exports import _csv_lines as csv_lines, safe_text
from app.queries.leaderboard import shop_zone


def _answers(shop: Shop, since: datetime | None, until: datetime | None, members: Select | None) -> Select:
    query = select(FeedbackAnswer).where(FeedbackAnswer.shop_id == shop.id)
    if since is not None:
        query = query.where(FeedbackAnswer.created_at >= since)
    if until is not None:
        query = query.where(FeedbackAnswer.created_at < until)
    if members is not None:
        query = query.where(FeedbackAnswer.member_id.in_(members))
    return query


def _month(shop: Shop, at: datetime) -> str:
    return f"{at.astimezone(shop_zone(shop)):%Y-%m}"


def feedback_report(session: Session, shop: Shop, *, since: datetime | None = None, until: datetime | None = None,
                    members: Select | None = None) -> dict[str, Any]:
    """Per month (newest first) and overall: answers, promoters, passives, detractors, NPS, CSAT."""
    by_month: dict[str, list[tuple[int, int]]] = defaultdict(list)
    pairs = session.execute(_answers(shop, since, until, members).with_only_columns(
        FeedbackAnswer.created_at, FeedbackAnswer.nps, FeedbackAnswer.csat)).all()
    for at, nps, csat in pairs:
        by_month[_month(shop, at)].append((nps, csat))
    months = [{"month": month, **_scores_json(scores(rows))} for month, rows in sorted(by_month.items(), reverse=True)]
    return {"months": months, "overall": _scores_json(scores((n, c) for _, n, c in pairs))}


def _scores_json(s) -> dict[str, Any]:
    return {"answers": s.answers, "promoters": s.promoters, "passives": s.passives, "detractors": s.detractors,
            "nps": None if s.nps is None else str(s.nps), "csat": None if s.csat is None else str(s.csat)}


def feedback_comments(session: Session, shop: Shop, *, since: datetime | None = None, until: datetime | None = None,
                      members: Select | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Answers with their comments, newest first (for reading and the CSV export)."""
    query = _answers(shop, since, until, members).where(FeedbackAnswer.comment.is_not(None)).with_only_columns(
        FeedbackAnswer, Order.name).outerjoin(Order, (Order.shop_id == shop.id) &
                                              (Order.order_id == FeedbackAnswer.order_id)).order_by(
        FeedbackAnswer.created_at.desc(), FeedbackAnswer.id.desc())
    rows = session.execute(query.limit(limit) if limit else query).all()
    return [{"at": a.created_at.isoformat(), "order": name or str(a.order_id), "nps": a.nps, "csat": a.csat,
             "comment": a.comment} for a, name in rows]


def donation_totals(session: Session, shop: Shop, *, since: datetime | None = None,
                    until: datetime | None = None) -> list[dict[str, Any]]:
    """What the shop owes each cause per month: the members' points' value plus the matching."""
    query = select(Donation).where(Donation.shop_id == shop.id)
    if since is not None:
        query = query.where(Donation.created_at >= since)
    if until is not None:
        query = query.where(Donation.created_at < until)
    totals: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    names: dict[str, str] = {}
    for d in session.scalars(query.order_by(Donation.id)):
        row = totals[(_month(shop, d.created_at), d.cause_key, d.currency)]
        for index, value in enumerate((1, d.points, d.amount_minor, d.matched_minor)):
            row[index] += value
        names[d.cause_key] = d.cause_name
    return [{"month": month, "cause": cause, "cause_name": names[cause], "donations": n, "points": points,
             "currency": currency, "donated": str(to_decimal(amount, currency)),
             "matched": str(to_decimal(matched, currency)), "owed": str(to_decimal(amount + matched, currency))}
            for (month, cause, currency), (n, points, amount, matched) in sorted(
                totals.items(), key=lambda item: (_newest_first(item[0][0]), item[0][1]))]


def _newest_first(month: str) -> int:
    return -int(month.replace("-", ""))


FEEDBACK_COLUMNS = ("answered_at", "order", "nps", "csat", "comment")
DONATION_COLUMNS = ("month", "cause", "cause_name", "donations", "points", "currency", "donated", "matched", "owed")


def feedback_csv(session: Session, shop: Shop) -> Iterator[str]:
    """Every answer (with or without a comment), newest first."""
    query = _answers(shop, None, None, None).with_only_columns(FeedbackAnswer, Order.name).outerjoin(
        Order, (Order.shop_id == shop.id) & (Order.order_id == FeedbackAnswer.order_id)).order_by(
        FeedbackAnswer.created_at.desc(), FeedbackAnswer.id.desc())
    return csv_lines(FEEDBACK_COLUMNS, ((a.created_at.isoformat(), safe_text(name or str(a.order_id)), a.nps, a.csat,
                                         safe_text(a.comment)) for a, name in session.execute(query)))


def donations_csv(session: Session, shop: Shop) -> Iterator[str]:
    return csv_lines(DONATION_COLUMNS, ((row["month"], row["cause"], safe_text(row["cause_name"]), row["donations"],
                                         row["points"], row["currency"], row["donated"], row["matched"], row["owed"])
                                        for row in donation_totals(session, shop)))
