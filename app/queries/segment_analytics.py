"""Analytics by lifecycle stage and by segment (read-only), each figure with its definition.

One aggregate statement per grouping: the stages in one GROUP BY, each custom segment in one
statement with its own WHERE (queries/segments.py). Figures per group:
- members: members in the group;
- repeat_purchase_rate: members with 2+ paid orders / members with 1+ paid order;
- aov: money of paid orders / paid orders (average order value, shop currency, minor units);
- clv: money of paid orders / members with 1+ paid order (historical customer lifetime value);
- churn_rate: members with a paid order whose last one was at least at_risk_days ago / members
  with a paid order;
- retention_rate: members who first ordered more than 12 months ago and ordered again within the
  last 12 months / members who first ordered more than 12 months ago;
- points_outstanding and liability_minor: spendable points, and their money value at the shop's
  best money-per-point rate (the analytics page's definition; None without a money reward);
- redemption_rate: points spent on rewards / points earned (lifetime).
The funnel: members per stage (awareness -> engagement -> conversion -> loyalty, then at_risk
and lapsed), now and at the first daily snapshot of each of the last months.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.loyalty.lifecycle import FUNNEL, STAGES
from app.loyalty.ledger import EARNING_KINDS
from app.loyalty.money import exponent
from app.models import LedgerEntry, Member, MemberMetrics, SegmentSnapshot, Shop
from app.queries.analytics import point_value
from app.queries.segments import SegmentQuery, _stage_column, members_in_segment

DEFINITIONS = {
    "members": "Members in the group (redacted members excluded).",
    "repeat_purchase_rate": "Members with 2 or more paid orders divided by members with at least one.",
    "aov": "Average order value: money of paid orders (less refunds) divided by paid orders.",
    "clv": "Customer lifetime value so far: money of paid orders (less refunds) per member with a paid order.",
    "churn_rate": "Members with a paid order whose last one is at least the program's at-risk days old, divided "
                  "by members with a paid order.",
    "retention_rate": "Members who first ordered more than 12 months ago and ordered again in the last 12 months, "
                      "divided by members who first ordered more than 12 months ago.",
    "points_outstanding": "Spendable points of the group's members.",
    "liability_minor": "Points outstanding x the money value of one point (best rate among enabled money rewards).",
    "redemption_rate": "Points spent on rewards divided by points earned, lifetime.",
}


def _ledger_totals(shop: Shop, now: datetime):
    vested = LedgerEntry.vests_at.is_(None) | (LedgerEntry.vests_at <= now)
    return (select(LedgerEntry.member_id.label("member_id"),
                   func.sum(case((vested, LedgerEntry.points), else_=0)).label("balance"),
                   func.sum(case((LedgerEntry.kind.in_([str(k) for k in EARNING_KINDS]) & (LedgerEntry.points > 0),
                                  LedgerEntry.points), else_=0)).label("earned"),
                   func.sum(case((LedgerEntry.kind == "redeem", -LedgerEntry.points), else_=0)).label("redeemed"))
            .where(LedgerEntry.shop_id == shop.id).group_by(LedgerEntry.member_id).subquery())


def _figure_columns(ledger, now: datetime, at_risk_days: int):
    year_ago = now - timedelta(days=365)
    orders = func.coalesce(MemberMetrics.orders_count, 0)
    old = MemberMetrics.first_order_at < year_ago
    return (func.count().label("members"), func.sum(case((orders >= 1, 1), else_=0)).label("buyers"),
            func.sum(case((orders >= 2, 1), else_=0)).label("repeat"), func.sum(orders).label("orders"),
            func.sum(func.coalesce(MemberMetrics.total_spent_minor, 0)).label("spent"),
            func.sum(case((MemberMetrics.last_order_at <= now - timedelta(days=at_risk_days), 1), else_=0))
            .label("churned"), func.sum(case((old, 1), else_=0)).label("old"),
            func.sum(case((old & (MemberMetrics.last_order_at >= year_ago), 1), else_=0)).label("retained"),
            func.sum(func.coalesce(ledger.c.balance, 0)).label("balance"),
            func.sum(func.coalesce(ledger.c.earned, 0)).label("earned"),
            func.sum(func.coalesce(ledger.c.redeemed, 0)).label("redeemed"))


def _ratio(part: Any, whole: Any) -> str | None:
    return None if not whole else str((Decimal(int(part or 0)) / Decimal(int(whole))).quantize(Decimal("0.0001")))


def _figures(row, rate: Decimal | None) -> dict[str, Any]:
    """`rate`: money (minor units) per point."""
    balance = int(row.balance or 0)
    return {"members": int(row.members or 0), "repeat_purchase_rate": _ratio(row.repeat, row.buyers),
            "aov": None if not row.orders else int(Decimal(int(row.spent or 0)) / int(row.orders)),
            "clv": None if not row.buyers else int(Decimal(int(row.spent or 0)) / int(row.buyers)),
            "churn_rate": _ratio(row.churned, row.buyers), "retention_rate": _ratio(row.retained, row.old),
            "points_outstanding": balance,
            "liability_minor": None if rate is None else int((balance * rate).to_integral_value(ROUND_HALF_UP)),
            "redemption_rate": _ratio(row.redeemed, row.earned)}


def stage_analytics(session: Session, shop: Shop, *, now: datetime, at_risk_days: int) -> dict[str, dict]:
    ledger, stage = _ledger_totals(shop, now), _stage_column()
    rows = session.execute(select(stage.label("stage"), *_figure_columns(ledger, now, at_risk_days))
                           .select_from(Member).outerjoin(MemberMetrics, MemberMetrics.member_id == Member.id)
                           .outerjoin(ledger, ledger.c.member_id == Member.id)
                           .where(Member.shop_id == shop.id, Member.redacted_at.is_(None)).group_by(stage))
    rate = _money_per_point(session, shop)
    found = {row.stage: _figures(row, rate) for row in rows}
    empty = {"members": 0, "buyers": 0, "repeat": 0, "orders": 0, "spent": 0, "churned": 0, "old": 0,
             "retained": 0, "balance": 0, "earned": 0, "redeemed": 0}
    return {s: found.get(s) or _figures(type("Row", (), empty), rate) for s in STAGES}


def segment_figures(session: Session, query: SegmentQuery, *, at_risk_days: int) -> dict[str, Any]:
    ledger = _ledger_totals(query.shop, query.now)
    statement = members_in_segment(query, *_figure_columns(ledger, query.now, at_risk_days)).outerjoin(
        ledger, ledger.c.member_id == Member.id)
    return _figures(session.execute(statement).one(), _money_per_point(session, query.shop))


def _money_per_point(session: Session, shop: Shop) -> Decimal | None:
    """Minor units per point (analytics.point_value gives major units per point)."""
    rate, _ = point_value(session, shop)
    return None if rate is None else rate * 10 ** exponent(shop.currency)


def stage_funnel(session: Session, shop: Shop, *, now: datetime, current: dict[str, dict],
                 months: int = 6) -> list[dict[str, Any]]:
    """Members per stage at the first snapshot of each month, oldest first, and now."""
    keys = [f"lifecycle:{s}" for s in STAGES]
    since = (now - timedelta(days=31 * months)).date()
    rows = session.execute(select(SegmentSnapshot.day, SegmentSnapshot.segment_key, SegmentSnapshot.members).where(
        SegmentSnapshot.shop_id == shop.id, SegmentSnapshot.segment_key.in_(keys), SegmentSnapshot.day >= since)
        .order_by(SegmentSnapshot.day)).all()
    by_month: dict[str, dict[str, int]] = {}
    for day, key, members in rows:
        month = by_month.setdefault(day.strftime("%Y-%m"), {"day": day.isoformat()})
        if month["day"] == day.isoformat():
            month[key.removeprefix("lifecycle:")] = members
    points = [{"month": m, **{s: v.get(s, 0) for s in STAGES}} for m, v in by_month.items()]
    return points + [{"month": "now", **{s: current[s]["members"] for s in STAGES}}]


FUNNEL_ORDER = (*FUNNEL, "at_risk", "lapsed")
