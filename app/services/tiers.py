"""Keeping members in the right VIP tier (called by the services that change their activity)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.loyalty.ledger import EARNING_KINDS, EntryKind, tier_entry_key
from app.loyalty.money import to_decimal
from app.loyalty.program import Program
from app.loyalty.tiers import decide_tier, period_start
from app.models import LedgerEntry, Member, Order, Shop
from app.services import event_outbox
from app.services.ledger import NewEntry, post_entry


def qualifying_orders(shop_id: int, member_id: int, since: datetime | None):
    query = select(Order).where(Order.shop_id == shop_id, Order.member_id == member_id, Order.paid_at.is_not(None),
                                Order.cancelled_at.is_(None), Order.is_test.is_(False))
    return query.where(Order.processed_at >= since) if since else query


def tier_metric(session: Session, shop: Shop, member: Member, program: Program, at: datetime) -> Decimal:
    settings = program.tiers
    since = period_start(settings, at)
    if settings.metric == "points_earned":
        query = select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
            LedgerEntry.shop_id == shop.id, LedgerEntry.member_id == member.id,
            LedgerEntry.kind.in_([str(k) for k in EARNING_KINDS]))
        if since:
            query = query.where(LedgerEntry.created_at >= since)
        return Decimal(session.scalar(query))
    orders = qualifying_orders(shop.id, member.id, since).subquery()
    if settings.metric == "order_count":
        return Decimal(session.scalar(select(func.count()).select_from(orders)))
    spent = session.scalar(select(func.coalesce(func.sum(orders.c.earning_base_minor - orders.c.refunded_base_minor),
                                                0)))
    return to_decimal(int(spent), shop.currency)


def refresh_member_tier(session: Session, shop: Shop, member: Member, program: Program, *, version_id: int,
                        now: datetime, after_refund: bool = False) -> str | None:
    """Move the member up at once, or down when the period (and grace) allows; grant the
    tier's entry bonus the first time the member ever reaches it. Returns the entered tier key."""
    if not program.tiers.enabled:
        return None
    decision = decide_tier(program.tiers, current_key=member.tier_key, current_until=member.tier_retained_until,
                           metric=tier_metric(session, shop, member, program, now), at=now, after_refund=after_refund)
    if decision.tier_key != member.tier_key:
        member.tier_since = now
        event_outbox.record_tier_changes(session, shop.id, [(member.id, member.tier_key, decision.tier_key)], now=now)
    member.tier_key, member.tier_retained_until = decision.tier_key, decision.retained_until
    if decision.entered is None:
        return None
    tier = decision.entered
    if tier.entry_points:
        post_entry(session, member, NewEntry(
            key=tier_entry_key(member.id, tier.key), kind=EntryKind.EARN, points=tier.entry_points,
            cause_type="tier", cause_id=tier.key, reason=f"Welcome to {tier.name} = {tier.entry_points} points",
            program_version_id=version_id), now=now)
    return tier.key
