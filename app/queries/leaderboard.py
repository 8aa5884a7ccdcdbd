"""The monthly leaderboard (read-only): the top members by points earned this month, among those
who opted in, and the asking member's own place.

"Earned" is earn entries net of take-backs (clawbacks) created this month: redemptions,
adjustments by staff, imports and expiry do not move anyone up or down. The month is the
shop's calendar month in its time zone (Shopify's `ianaTimezone`), UTC when unknown.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from app.loyalty.ledger import EntryKind
from app.models import LeaderboardChoice, LedgerEntry, Member, Shop

TOP = 10
LEADERBOARD_KINDS = (str(EntryKind.EARN), str(EntryKind.CLAWBACK))


def shop_zone(shop: Shop):
    try:
        return ZoneInfo(shop.iana_timezone) if shop.iana_timezone else timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def month_bounds(shop: Shop, now: datetime) -> tuple[str, datetime, datetime]:
    """('2026-12', start, end) of the shop's current month, as UTC instants."""
    local = now.astimezone(shop_zone(shop))
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    return f"{start:%Y-%m}", start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def display_name(first_name: str | None, last_name: str | None) -> str:
    """"Alice M.": a first name and an initial, never an email; "Member" when there is no name."""
    first, last = (first_name or "").strip(), (last_name or "").strip()
    if not first:
        return "Member"
    return f"{first} {last[0].upper()}." if last else first


def _monthly_points(shop: Shop, start: datetime, end: datetime):
    return (select(LedgerEntry.member_id.label("member_id"), func.sum(LedgerEntry.points).label("points"))
            .where(LedgerEntry.shop_id == shop.id, LedgerEntry.created_at >= start, LedgerEntry.created_at < end,
                   LedgerEntry.kind.in_(LEADERBOARD_KINDS))
            .group_by(LedgerEntry.member_id).subquery())


def leaderboard(session: Session, shop: Shop, customer_id: int | None, *, now: datetime) -> dict[str, Any]:
    month, start, end = month_bounds(shop, now)
    points = _monthly_points(shop, start, end)
    ranked = (select(Member.id, Member.first_name, Member.last_name, Member.redacted_at, points.c.points)
              .join(points, points.c.member_id == Member.id)
              .join(LeaderboardChoice, and_(LeaderboardChoice.shop_id == shop.id,
                                            LeaderboardChoice.member_id == Member.id, LeaderboardChoice.opted_in))
              .where(Member.shop_id == shop.id, Member.blocked_at.is_(None), points.c.points > 0))
    rows = session.execute(ranked.order_by(points.c.points.desc(), Member.id).limit(TOP)).all()
    entries, rank, previous = [], 0, None
    for position, row in enumerate(rows, start=1):
        rank = rank if row.points == previous else position  # ties share a rank (1, 2, 2, 4)
        previous = row.points
        name = "Member" if row.redacted_at else display_name(row.first_name, row.last_name)
        entries.append({"rank": rank, "name": name, "points": int(row.points)})
    return {"month": month, "entries": entries, "me": _me(session, shop, customer_id, ranked, points)}


def _me(session: Session, shop: Shop, customer_id: int | None, ranked, points) -> dict[str, Any] | None:
    if customer_id is None:
        return None
    member = session.scalar(select(Member).where(Member.shop_id == shop.id, Member.customer_id == customer_id))
    if member is None:
        return {"rank": None, "points": 0, "opted_in": False}
    mine = int(session.scalar(select(points.c.points).where(points.c.member_id == member.id)) or 0)
    opted_in = bool(session.scalar(select(LeaderboardChoice.opted_in).where(
        LeaderboardChoice.shop_id == shop.id, LeaderboardChoice.member_id == member.id)))
    rank = None
    if opted_in and mine > 0 and member.blocked_at is None:
        ahead = ranked.with_only_columns(func.count()).where(points.c.points > mine)
        rank = 1 + session.scalar(ahead)
    return {"rank": rank, "points": mine, "opted_in": opted_in}
