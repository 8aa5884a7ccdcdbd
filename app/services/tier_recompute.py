"""VIP tiers for a whole shop in set-based SQL: one aggregate of every member's tier metric,
one UPDATE ... FROM it, and one INSERT ... SELECT of the entry bonuses, instead of a Python
loop over members. Same rules as app.loyalty.tiers.decide_tier (up at once; down only once
tier_retained_until has passed) and the same entry-bonus keys as services.tiers, so the bulk
and the per-member paths can run in any order without paying a bonus twice.

The decision reads the member's current tier from the row being updated (not from the
aggregate's snapshot), so on PostgreSQL a member changed by a concurrent order is judged on
its new tier when the UPDATE re-checks the row.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, and_, case, cast, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from app.loyalty.ledger import EARNING_KINDS, EntryKind
from app.loyalty.money import exponent
from app.loyalty.program import TierSettings
from app.loyalty.tiers import period_start, retained_until
from app.models import LedgerEntry, Member, Order, Shop
from app.services import event_outbox
from app.services.program import current_program


@dataclass(frozen=True)
class TierRecompute:
    shop: str
    members_updated: int  # tier or retention date changed
    tier_changes: int  # tier changed
    entry_bonuses: int


def recompute_tiers_for_shop(session: Session, shop: Shop, *, now: datetime, due_only: bool = False) -> TierRecompute:
    """The use case: recompute and commit (e.g. after the owner changed the tier thresholds)."""
    report = recompute_tiers(session, shop, now=now, due_only=due_only)
    session.commit()
    return report


def recompute_tiers(session: Session, shop: Shop, *, now: datetime, due_only: bool = False) -> TierRecompute:
    """Within the caller's transaction. `due_only`: just the members whose kept tier has run
    out (the hourly period-end pass); otherwise every member of the shop."""
    version, program = current_program(session, shop)
    settings = program.tiers
    if not settings.enabled or not settings.levels:
        return TierRecompute(shop.domain, 0, 0, 0)
    # The UPDATE runs after the bonus INSERT and must not count those bonuses: like the
    # per-member path, a member moves once per recompute, on the metric from before it.
    ledger_high_water = session.scalar(select(func.max(LedgerEntry.id))) or 0
    targets = _target_ranks(shop, settings, now, due_only, ledger_high_water)
    bonuses = _insert_entry_bonuses(session, shop, settings, targets, version.id, now)
    updated, changed = _update_members(session, shop, settings, targets, now)
    return TierRecompute(shop.domain, updated, changed, bonuses)


def _metric_per_member(shop: Shop, settings: TierSettings, now: datetime, members, ledger_high_water: int):
    """member_id -> the tier metric in integer units (points, orders, or minor currency units),
    for the members selected by `members` (a subquery of member ids)."""
    since = period_start(settings, now)
    if settings.metric == "points_earned":
        query = select(LedgerEntry.member_id.label("member_id"), func.sum(LedgerEntry.points).label("metric")).where(
            LedgerEntry.shop_id == shop.id, LedgerEntry.kind.in_([str(k) for k in EARNING_KINDS]),
            LedgerEntry.member_id.in_(members), LedgerEntry.id <= ledger_high_water)
        query = query.where(LedgerEntry.created_at >= since) if since else query
        return query.group_by(LedgerEntry.member_id).subquery()
    amount = func.count() if settings.metric == "order_count" else func.sum(
        Order.earning_base_minor - Order.refunded_base_minor)
    query = select(Order.member_id.label("member_id"), amount.label("metric")).where(
        Order.shop_id == shop.id, Order.member_id.in_(members), Order.paid_at.is_not(None),
        Order.cancelled_at.is_(None), Order.is_test.is_(False))
    query = query.where(Order.processed_at >= since) if since else query
    return query.group_by(Order.member_id).subquery()


def _thresholds(shop: Shop, settings: TierSettings) -> list[int]:
    """Thresholds in the metric's integer unit: metric >= t exactly when metric >= ceil(t x scale)."""
    scale = 10 ** exponent(shop.currency) if settings.metric == "amount_spent" else 1
    return [math.ceil(tier.threshold * scale) for tier in settings.levels]


def _target_ranks(shop: Shop, settings: TierSettings, now: datetime, due_only: bool, ledger_high_water: int):
    """member_id -> rank of the highest tier the metric reaches (-1: none)."""
    member = aliased(Member)
    selection = [member.shop_id == shop.id]
    if due_only:
        selection += [member.tier_key.is_not(None), member.tier_retained_until <= now]
    members = select(member.id).where(*selection).scalar_subquery()
    metrics = _metric_per_member(shop, settings, now, members, ledger_high_water)
    metric = func.coalesce(metrics.c.metric, 0)
    ranked = list(enumerate(_thresholds(shop, settings)))[::-1]
    target_rank = case(*[(metric >= threshold, rank) for rank, threshold in ranked], else_=-1)
    return (select(member.id.label("member_id"), target_rank.label("target_rank"))
            .select_from(member).outerjoin(metrics, metrics.c.member_id == member.id).where(*selection).subquery())


def _by_rank(rank, values: list, else_=None):
    return case(*[(rank == i, value) for i, value in enumerate(values)], else_=else_)


def _current_rank(settings: TierSettings):
    return case(*[(Member.tier_key == tier.key, i) for i, tier in enumerate(settings.levels)], else_=-1)


def _update_members(session: Session, shop: Shop, settings: TierSettings, targets,
                    now: datetime) -> tuple[int, int]:
    target, current = targets.c.target_rank, _current_rank(settings)
    keys = [literal(tier.key, String) for tier in settings.levels]
    may_drop = and_(Member.tier_retained_until.is_not(None), Member.tier_retained_until <= now)
    moves = or_(target > current, and_(target < current, may_drop))
    new_key = case((moves, _by_rank(target, keys)), else_=Member.tier_key)
    # Typed bound values, even for NULL: PostgreSQL types each CASE by its branches.
    renewed = literal(retained_until(settings, now), Member.tier_retained_until.type)
    no_date = literal(None, Member.tier_retained_until.type)
    new_until = case((or_(target >= current, may_drop), case((target >= 0, renewed), else_=no_date)),
                     else_=Member.tier_retained_until)
    key_changed = new_key.is_distinct_from(Member.tier_key)
    # RETURNING sees only the new row, so the tiers members leave are read first (for the
    # tier.changed events); the UPDATE below re-checks each row, and only moved members count.
    leaving = dict(session.execute(select(Member.id, Member.tier_key).where(
        Member.id == targets.c.member_id, Member.shop_id == shop.id, key_changed)).tuples().all())
    statement = (update(Member).where(Member.id == targets.c.member_id, Member.shop_id == shop.id,
                                      or_(key_changed, new_until.is_distinct_from(Member.tier_retained_until)))
                 .values(tier_key=new_key, tier_retained_until=new_until,
                         tier_since=case((key_changed, literal(now, Member.tier_since.type)), else_=Member.tier_since))
                 .returning(Member.id, Member.tier_key, Member.tier_since))
    # tier_since == now marks the members whose tier moved.
    updated = session.execute(statement, execution_options={"synchronize_session": False}).all()
    moved = [(member_id, leaving.get(member_id), tier_key) for member_id, tier_key, since in updated if since == now]
    event_outbox.record_tier_changes(session, shop.id, moved, now=now)
    return len(updated), len(moved)


def _insert_entry_bonuses(session: Session, shop: Shop, settings: TierSettings, targets, version_id: int,
                          now: datetime) -> int:
    """Members moving up into a tier with an entry bonus get it, once per member and tier ever
    (the key is services.tiers' key, and a key already in the ledger is skipped)."""
    paying = [i for i, tier in enumerate(settings.levels) if tier.entry_points]
    if not paying:
        return 0
    target, levels = targets.c.target_rank, settings.levels
    key = (literal("member:") + cast(Member.id, String) + ":tier:"
           + _by_rank(target, [literal(t.key, String) for t in levels]) + ":entry")
    rows = select(
        literal(shop.id), Member.id, key, literal(str(EntryKind.EARN)),
        cast(_by_rank(target, [t.entry_points for t in levels], else_=0), Integer), literal("tier"),
        _by_rank(target, [literal(t.key, String) for t in levels]),
        _by_rank(target, [literal(f"Welcome to {t.name} = {t.entry_points} points", String) for t in levels]),
        literal(version_id), literal(0), literal(now, LedgerEntry.created_at.type),
    ).select_from(targets).join(Member, Member.id == targets.c.member_id).where(
        target > _current_rank(settings), target.in_(paying))
    columns = ["shop_id", "member_id", "entry_key", "kind", "points", "cause_type", "cause_id", "reason",
               "program_version_id", "shortfall_points", "created_at"]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(LedgerEntry).from_select(columns, rows).on_conflict_do_nothing(
        index_elements=["shop_id", "entry_key"]).returning(LedgerEntry.id, LedgerEntry.member_id, LedgerEntry.points,
                                                           LedgerEntry.cause_id)
    written = session.execute(statement).all()
    event_outbox.record_entry_events(session, shop.id, [
        {"id": entry_id, "member_id": member_id, "kind": str(EntryKind.EARN), "points": points, "cause_type": "tier",
         "cause_id": cause_id, "created_at": now} for entry_id, member_id, points, cause_id in written])
    return len(written)
