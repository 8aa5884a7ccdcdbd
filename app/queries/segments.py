"""Segments as SQL (read-only): a validated segment (loyalty/segments.py) becomes ONE WHERE
clause over members joined to their metrics row (and to their ledger balances when a condition
needs points), so counts, pages of customer ids, samples and exports are single set-based
queries; no member is filtered in Python.

Members erased for privacy (redacted) are in no segment. A member whose metrics row has not been
computed yet (the periodic recompute and each order or customer event write it) has no order
figures: they count as having no paid order.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Integer, and_, case, cast, extract, func, or_, select
from sqlalchemy.orm import Session

from app.loyalty.errors import InvalidInput, NotFound
from app.loyalty.money import exponent
from app.loyalty.segments import Condition, MemberAudience, in_audience, parse_stored_conditions
from app.loyalty.ledger import EARNING_KINDS
from app.models import LedgerEntry, Member, MemberMetrics, Segment, Shop

ENROLLED_STATE = "enabled"
_POINT_FIELDS = ("points_balance", "lifetime_points")


@dataclass(frozen=True)
class SegmentQuery:
    """A segment's conditions ready to run for one shop at one moment."""

    shop: Shop
    match: str
    conditions: tuple[Condition, ...]
    now: datetime

    @property
    def needs_points(self) -> bool:
        return any(c.field in _POINT_FIELDS for c in self.conditions)


def _stage_column():
    """The stored stage; before a member's first computation, account holders are engaged."""
    fallback = case((Member.account_state == ENROLLED_STATE, "engagement"), else_="awareness")
    return func.coalesce(MemberMetrics.lifecycle_stage, fallback)


def point_totals(shop: Shop, now: datetime):
    """Per member: spendable and lifetime-earned points (as member_directory counts them)."""
    vested = (LedgerEntry.vests_at.is_(None)) | (LedgerEntry.vests_at <= now)
    return (select(LedgerEntry.member_id.label("member_id"),
                   func.sum(case((vested, LedgerEntry.points), else_=0)).label("balance"),
                   func.sum(case((LedgerEntry.kind.in_([str(k) for k in EARNING_KINDS]), LedgerEntry.points),
                                 else_=0)).label("lifetime"))
            .where(LedgerEntry.shop_id == shop.id).group_by(LedgerEntry.member_id).subquery())


def _columns(query: SegmentQuery, balances) -> dict[str, Any]:
    columns = {
        "lifecycle_stage": _stage_column(), "rfm_segment": MemberMetrics.rfm_segment,
        "recency": MemberMetrics.rfm_recency, "frequency": MemberMetrics.rfm_frequency,
        "monetary": MemberMetrics.rfm_monetary, "tier": Member.tier_key,
        "total_spent": func.coalesce(MemberMetrics.total_spent_minor, 0),
        "orders_count": func.coalesce(MemberMetrics.orders_count, 0),
        "last_order_at": MemberMetrics.last_order_at, "first_order_at": MemberMetrics.first_order_at,
        "birthday_month": cast(extract("month", Member.birthday), Integer),
        "accepts_marketing": Member.accepts_marketing, "country": Member.country_code,
        "customer_tags": "," + func.lower(func.replace(func.coalesce(Member.customer_tags, ""), ", ", ",")) + ",",
    }
    if balances is not None:
        columns["points_balance"] = func.coalesce(balances.c.balance, 0)
        columns["lifetime_points"] = func.coalesce(balances.c.lifetime, 0)
    return columns


def _minor(amount: Decimal, currency: str) -> int:
    return int((amount * 10 ** exponent(currency)).to_integral_value(rounding=ROUND_HALF_UP))


def _operand(query: SegmentQuery, condition: Condition) -> Any:
    if condition.field == "total_spent":
        convert = lambda v: _minor(v, query.shop.currency)  # noqa: E731
        return tuple(map(convert, condition.value)) if condition.op == "in" else convert(condition.value)
    return condition.value


def _tag_pattern(tag: str):
    escaped = tag.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%,{escaped},%"


def _clause(query: SegmentQuery, condition: Condition, column):
    op, value = condition.op, _operand(query, condition)
    if condition.field == "customer_tags":
        tags = value if op == "in" else (value,)
        return or_(*[column.like(_tag_pattern(tag), escape="\\") for tag in tags])
    if op == "within_days":
        return column >= query.now - timedelta(days=value)
    return {"eq": lambda: column == value, "ne": lambda: column != value, "in": lambda: column.in_(value),
            "gt": lambda: column > value, "gte": lambda: column >= value, "lt": lambda: column < value,
            "lte": lambda: column <= value}[op]()


def members_in_segment(query: SegmentQuery, *columns):
    """SELECT columns FROM the shop's members in the segment (one statement, not yet run)."""
    balances = point_totals(query.shop, query.now) if query.needs_points else None
    by_field = _columns(query, balances)
    clauses = [_clause(query, c, by_field[c.field]) for c in query.conditions]
    matched = and_(*clauses) if query.match == "all" else or_(*clauses)
    statement = (select(*columns).select_from(Member)
                 .outerjoin(MemberMetrics, MemberMetrics.member_id == Member.id))
    if balances is not None:
        statement = statement.outerjoin(balances, balances.c.member_id == Member.id)
    return statement.where(Member.shop_id == query.shop.id, Member.redacted_at.is_(None), matched)


def segment_count(session: Session, query: SegmentQuery) -> int:
    return int(session.scalar(members_in_segment(query, func.count())) or 0)


@dataclass(frozen=True)
class CustomerPage:
    customer_ids: list[int]
    next_cursor: str | None


def segment_customer_page(session: Session, query: SegmentQuery, *, cursor: str | None, limit: int) -> CustomerPage:
    """Customer ids in member order; the cursor is where the previous page stopped."""
    after = _cursor_position(cursor)
    rows = session.execute(members_in_segment(query, Member.id, Member.customer_id)
                           .where(Member.id > after).order_by(Member.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return CustomerPage([r.customer_id for r in rows], str(rows[-1].id) if more else None)


def _cursor_position(cursor: str | None) -> int:
    if cursor in (None, ""):
        return 0
    if not cursor.isdigit() or len(cursor) > 18:
        raise NotFound("That cursor is not one this API gave out; start again without a cursor.")
    return int(cursor)


def sample_members(session: Session, query: SegmentQuery, limit: int = 10) -> list[dict[str, Any]]:
    """The newest members of the segment, for the builder's preview."""
    rows = session.execute(members_in_segment(query, Member, _stage_column().label("stage"),
                                              MemberMetrics.rfm_segment, MemberMetrics.orders_count)
                           .order_by(Member.id.desc()).limit(limit)).all()
    return [{"customer_id": m.customer_id, "name": m.display_name, "email": m.email, "lifecycle_stage": stage,
             "rfm_segment": rfm, "orders_count": orders or 0} for m, stage, rfm, orders in rows]


EXPORT_COLUMNS = ("customer_id", "email", "first_name", "last_name", "tier", "lifecycle_stage", "rfm_segment",
                  "recency", "frequency", "monetary", "orders_count", "total_spent", "last_order_at", "country",
                  "accepts_marketing")


def export_rows(session: Session, query: SegmentQuery, *, batch: int = 1000) -> Iterator[tuple]:
    """Every member of the segment as tuples (EXPORT_COLUMNS), read in keyset batches (streamable);
    the CSV writer guards text cells against spreadsheet formulas."""
    after, scale = 0, Decimal(10) ** -exponent(query.shop.currency)
    while True:
        rows = session.execute(members_in_segment(
            query, Member.id, Member.customer_id, Member.email, Member.first_name, Member.last_name,
            Member.tier_key, _stage_column(), MemberMetrics.rfm_segment, MemberMetrics.rfm_recency,
            MemberMetrics.rfm_frequency, MemberMetrics.rfm_monetary, MemberMetrics.orders_count,
            MemberMetrics.total_spent_minor, MemberMetrics.last_order_at, Member.country_code,
            Member.accepts_marketing).where(Member.id > after).order_by(Member.id).limit(batch)).all()
        for row in rows:
            spent = Decimal(row.total_spent_minor or 0) * scale
            yield (*row[1:11], row.orders_count or 0, str(spent),
                   row.last_order_at.isoformat() if row.last_order_at else "", row.country_code or "",
                   "yes" if row.accepts_marketing else "no")
        if len(rows) < batch:
            return
        after = rows[-1].id


def stage_counts(session: Session, shop: Shop) -> dict[str, int]:
    """Members per lifecycle stage (the built-in segments' sizes in one statement)."""
    stage = _stage_column()
    rows = session.execute(select(stage, func.count()).select_from(Member)
                           .outerjoin(MemberMetrics, MemberMetrics.member_id == Member.id)
                           .where(Member.shop_id == shop.id, Member.redacted_at.is_(None)).group_by(stage))
    return {s: int(n) for s, n in rows}




# ---- audiences: which members a reward or campaign is for --------------------------------------

def member_audiences(session: Session, shop: Shop, member_ids: list[int], segment_ids: set[int], *,
                     now: datetime) -> dict[int, MemberAudience]:
    """member id -> their stage and which of `segment_ids` they are in: one statement for the
    stages, one per segment (limited to these members)."""
    if not member_ids:
        return {}
    stages = dict(session.execute(select(Member.id, _stage_column()).select_from(Member)
                                  .outerjoin(MemberMetrics, MemberMetrics.member_id == Member.id)
                                  .where(Member.shop_id == shop.id, Member.id.in_(member_ids))).all())
    found: dict[int, set[int]] = {m: set() for m in member_ids}
    segments = session.scalars(select(Segment).where(Segment.shop_id == shop.id, Segment.id.in_(segment_ids))).all() \
        if segment_ids else []
    for segment in segments:
        query = SegmentQuery(shop, segment.match, parse_stored_conditions(segment.conditions), now)
        for member_id in session.scalars(members_in_segment(query, Member.id).where(Member.id.in_(member_ids))):
            found[member_id].add(segment.id)
    return {m: MemberAudience(stages.get(m), frozenset(found[m])) for m in member_ids}


def audience_segment_ids(*audiences) -> set[int]:
    """The segment ids named by rewards or campaigns (anything with `segment_ids`)."""
    return {i for a in audiences for i in (a.segment_ids or ())}


def rewards_for_member(session: Session, shop: Shop, member: Member, rewards: list, *, now: datetime) -> list:
    """The rewards whose audience includes the member (empty audience: everyone)."""
    limited = [r for r in rewards if r.segment_ids or r.lifecycle_stages]
    if not limited:
        return rewards
    audience = member_audiences(session, shop, [member.id], audience_segment_ids(*limited), now=now)[member.id]
    return [r for r in rewards if in_audience(audience, segment_ids=r.segment_ids, lifecycle_stages=r.lifecycle_stages)]


def require_segment_ids(session: Session, shop: Shop, segment_ids: list[int] | None, field: str) -> None:
    """Audiences may only name the shop's own segments."""
    if not segment_ids:
        return
    known = set(session.scalars(select(Segment.id).where(Segment.shop_id == shop.id, Segment.id.in_(segment_ids))))
    missing = [i for i in segment_ids if i not in known]
    if missing:
        raise InvalidInput(f"Unknown segment id(s) {', '.join(map(str, missing))}; list the shop's segments with "
                           "GET /api/v1/segments.", {field: f"no segment {', '.join(map(str, missing))} in this shop"})
