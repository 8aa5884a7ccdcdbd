"""Member metrics kept current: paid-order figures, lifecycle stage and RFM scores per member.

recompute_shop_metrics rewrites a whole shop's rows in one INSERT ... SELECT ... ON CONFLICT
DO UPDATE: per-member aggregates of the paid orders, CUME_DIST-like windows for the RFM quintiles
(loyalty/rfm.py) and a CASE for the lifecycle stage (loyalty/lifecycle.py), on SQLite and
PostgreSQL alike. The periodic job runs it (a stage moves as days pass without an order).

refresh_member_metrics does the same for the members an order, refund or customer event
touched, within the caller's transaction: the figures and the stage from their orders, and
the scores by rank against the other members' current rows, so a member's row agrees with
what the next full recompute would give them unless others moved meanwhile.

A "paid order" is one with paid_at, not cancelled, not refunded in full, not a test order; its
money is the order total less what its refunds gave back, and it counts as placed at
processed_at (paid_at when unknown). Stage changes are recorded (stage_entered_at,
previous_stage) for the win-back automation.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func, literal, or_, select, text, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.loyalty.lifecycle import LifecycleSettings, lifecycle_stage, stage_boundaries
from app.loyalty.rfm import GRID, WINDOW_DAYS, quintile_score, rfm_segment
from app.models import LedgerEntry, Member, MemberMetrics, Order, Refund, Shop
from app.services.program import current_program
from app.services.set_sql import among

ENROLLED_STATE = "enabled"
_COLUMNS = ("member_id", "shop_id", "orders_count", "total_spent_minor", "first_order_at", "last_order_at",
            "recent_orders_count", "recent_spent_minor", "lifecycle_stage", "stage_entered_at", "previous_stage",
            "rfm_recency", "rfm_frequency", "rfm_monetary", "rfm_segment", "computed_at")


def window_start(now: datetime) -> datetime:
    return now - timedelta(days=WINDOW_DAYS)


def paid_order_filter(shop_id: int):
    return and_(Order.shop_id == shop_id, Order.member_id.is_not(None), Order.paid_at.is_not(None),
                Order.cancelled_at.is_(None), Order.is_test.is_(False),
                func.coalesce(Order.financial_status, "") != "refunded")


def order_figures(session: Session, shop_id: int, now: datetime, member_ids: Iterable[int] | None = None):
    """Per member with a paid order: count, net money, first and last placed, and the same in
    the RFM window; a subquery."""
    refunded = (select(Refund.order_id, func.sum(Refund.base_minor + Refund.shipping_minor + Refund.tax_minor
                                                 + Refund.shipping_tax_minor + Refund.discrepancy_minor).label("minor"))
                .where(Refund.shop_id == shop_id).group_by(Refund.order_id))
    orders = paid_order_filter(shop_id)
    if member_ids is not None:
        ids = list(member_ids)
        orders = and_(orders, among(session, Order.member_id, ids))
        refunded = refunded.where(Refund.order_id.in_(select(Order.order_id).where(orders)))
    refunded = refunded.subquery()
    placed = func.coalesce(Order.processed_at, Order.paid_at)
    gross = Order.total_minor - func.coalesce(refunded.c.minor, 0)
    net = case((gross > 0, gross), else_=0)
    recent = placed >= window_start(now)
    return (select(Order.member_id.label("member_id"), func.count().label("orders_count"),
                   func.sum(net).label("total_spent_minor"), func.min(placed).label("first_order_at"),
                   func.max(placed).label("last_order_at"),
                   func.sum(case((recent, 1), else_=0)).label("recent_orders_count"),
                   func.sum(case((recent, net), else_=0)).label("recent_spent_minor"))
            .select_from(Order).outerjoin(refunded, refunded.c.order_id == Order.order_id)
            .where(orders).group_by(Order.member_id).subquery())


def _engaged(shop_id: int):
    """Has a store account, or is enrolled (any ledger entry, e.g. signup points)."""
    enrolled = exists().where(LedgerEntry.shop_id == shop_id, LedgerEntry.member_id == Member.id)
    return (Member.account_state == ENROLLED_STATE) | enrolled


def _stage_sql(figures, shop_id: int, now: datetime, settings: LifecycleSettings):
    lapsed_before, at_risk_before = stage_boundaries(now, settings)
    return case(
        (figures.c.member_id.is_(None), case((_engaged(shop_id), "engagement"), else_="awareness")),
        (figures.c.last_order_at <= lapsed_before, "lapsed"),
        (figures.c.last_order_at <= at_risk_before, "at_risk"),
        (figures.c.orders_count >= 2, "loyalty"), else_="conversion")


def _score_windows(figures):
    """RFM scores of the scored members only, sorted on narrow rows (id and three values):
    ceil(5 x members at or below / members scored); the default window frame with ORDER BY
    takes in the peers, i.e. the rows at or below this value."""
    scored = select(figures.c.member_id, figures.c.last_order_at, figures.c.recent_orders_count,
                    figures.c.recent_spent_minor).where(figures.c.recent_orders_count > 0).subquery()
    count = func.count().over()

    def score(column):
        return (5 * func.count().over(order_by=column) + count - 1) // count

    return select(scored.c.member_id, score(scored.c.last_order_at).label("r"),
                  score(scored.c.recent_orders_count).label("f"),
                  score(scored.c.recent_spent_minor).label("m")).subquery()


def metrics_select(session: Session, shop: Shop, now: datetime, settings: LifecycleSettings):
    """Every member of the shop with their metrics row as it should be now (one SELECT)."""
    figures = order_figures(session, shop.id, now)
    scores = _score_windows(figures)
    r, f, m = scores.c.r, scores.c.f, scores.c.m
    fm = (f + m + 1) // 2
    segment = case(*[(and_(r.between(rr.start, rr.stop - 1), fm.between(fr.start, fr.stop - 1)), name)
                     for rr, fr, name in GRID], else_=None)
    return (select(Member.id, Member.shop_id, func.coalesce(figures.c.orders_count, 0),
                   func.coalesce(figures.c.total_spent_minor, 0), figures.c.first_order_at, figures.c.last_order_at,
                   func.coalesce(figures.c.recent_orders_count, 0), func.coalesce(figures.c.recent_spent_minor, 0),
                   _stage_sql(figures, shop.id, now, settings),
                   literal(now, MemberMetrics.stage_entered_at.type), literal(None, MemberMetrics.previous_stage.type),
                   r, f, m, segment, literal(now, MemberMetrics.computed_at.type))
            .select_from(Member).outerjoin(figures, figures.c.member_id == Member.id)
            .outerjoin(scores, scores.c.member_id == Member.id).where(Member.shop_id == shop.id))


def _upsert(session: Session, source):
    """INSERT ... SELECT ... ON CONFLICT DO UPDATE, keeping when and from what the stage last
    changed (stage_entered_at, previous_stage) unless the stage changes now."""
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(MemberMetrics)
    statement = insert.from_select(list(_COLUMNS), source)
    current, new = MemberMetrics.__table__.c, statement.excluded
    same = current.lifecycle_stage == new.lifecycle_stage
    updates = {c: new[c] for c in _COLUMNS if c not in ("member_id", "shop_id", "stage_entered_at", "previous_stage")}
    updates["stage_entered_at"] = case((same, current.stage_entered_at), else_=new.stage_entered_at)
    updates["previous_stage"] = case((same, current.previous_stage), else_=current.lifecycle_stage)
    # Most members' figures do not change from one run to the next: leaving their rows alone
    # spares rewriting a million rows (and their index entries) every hour.
    changed = or_(*[current[c].is_distinct_from(new[c]) for c in _COLUMNS
                    if c not in ("member_id", "shop_id", "stage_entered_at", "previous_stage", "computed_at")])
    return statement.on_conflict_do_update(index_elements=["member_id"], set_=updates, where=changed)


def recompute_shop_metrics(session: Session, shop: Shop, *, now: datetime) -> int:
    """Every member's row, set-based, within the caller's transaction. Returns the shop's members."""
    _, program = current_program(session, shop)
    if session.get_bind().dialect.name == "postgresql":
        # One hash aggregate over the shop's orders and three window sorts over its members:
        # memory enough to keep them off disk for a shop of a million members.
        session.execute(text("SET LOCAL work_mem = '256MB'"))
    session.execute(_upsert(session, metrics_select(session, shop, now, program.lifecycle)))
    return int(session.scalar(select(func.count()).select_from(MemberMetrics)
                              .where(MemberMetrics.shop_id == shop.id)) or 0)


# ---- one member (or a few) after an event -----------------------------------------------------

def refresh_member_metrics(session: Session, shop: Shop, member_ids: Iterable[int], *, now: datetime) -> None:
    """The rows of these members, within the caller's transaction (no commit)."""
    ids = sorted(set(member_ids))
    if not ids:
        return
    _, program = current_program(session, shop)
    figures = order_figures(session, shop.id, now, ids)
    rows = session.execute(select(Member.id, Member.account_state, figures).outerjoin(
        figures, figures.c.member_id == Member.id).where(Member.shop_id == shop.id, among(session, Member.id, ids)))
    enrolled = set(session.scalars(select(LedgerEntry.member_id).distinct().where(
        LedgerEntry.shop_id == shop.id, among(session, LedgerEntry.member_id, ids))))
    values = [_member_row(session, shop, row, row.id in enrolled, program.lifecycle, now) for row in rows]
    for value in values:
        session.execute(_upsert(session, select(*[literal(value[c], MemberMetrics.__table__.c[c].type).label(c)
                                                  for c in _COLUMNS]).where(true())))


def _member_row(session: Session, shop: Shop, row, enrolled: bool, settings: LifecycleSettings,
                now: datetime) -> dict:
    orders = row.orders_count or 0
    stage = lifecycle_stage(paid_orders=orders, last_paid_order_at=row.last_order_at,
                            engaged=row.account_state == ENROLLED_STATE or enrolled, now=now, settings=settings)
    recent_orders, recent_spent = row.recent_orders_count or 0, row.recent_spent_minor or 0
    scores = _scores(session, shop, row.id, row.last_order_at, recent_orders, recent_spent) if recent_orders else None
    return {"member_id": row.id, "shop_id": shop.id, "orders_count": orders,
            "total_spent_minor": int(row.total_spent_minor or 0), "first_order_at": row.first_order_at,
            "last_order_at": row.last_order_at, "recent_orders_count": recent_orders,
            "recent_spent_minor": int(recent_spent), "lifecycle_stage": stage, "stage_entered_at": now,
            "previous_stage": None, "rfm_recency": scores[0] if scores else None,
            "rfm_frequency": scores[1] if scores else None, "rfm_monetary": scores[2] if scores else None,
            "rfm_segment": rfm_segment(*scores) if scores else None, "computed_at": now}


def _scores(session: Session, shop: Shop, member_id: int, last_order_at: datetime, orders: int,
            spent: int) -> tuple[int, int, int]:
    """Placed among the other scored members' current rows (one aggregate)."""
    m = MemberMetrics
    others, r, f, mo = session.execute(select(
        func.count(), func.sum(case((m.last_order_at <= last_order_at, 1), else_=0)),
        func.sum(case((m.recent_orders_count <= orders, 1), else_=0)),
        func.sum(case((m.recent_spent_minor <= spent, 1), else_=0))).where(
        m.shop_id == shop.id, m.recent_orders_count > 0, m.member_id != member_id)).one()
    scored = int(others or 0) + 1
    return tuple(quintile_score(int(below or 0) + 1, scored) for below in (r, f, mo))
