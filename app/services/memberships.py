"""Paid memberships bought as a Shopify product variant (see loyalty/membership.py for why a
membership sits next to the earned tier rather than being one).

settle_membership_orders runs inside the order batch's transaction (the members are locked by
the batch): a paid order holding the membership variant grants its months once (one grant per
order id, so a renewal order delivered twice stacks once; a subscription's renewal is a new
order, delivered as orders/paid like any other), a refund of the line gives back the refunded
units' months (from refunds/create, or the refunds an order payload embeds),
and a cancellation or full refund gives back all that order added.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.errors import RewardUnavailable
from app.loyalty.membership import MembershipSettings, add_months, extended_end, is_member
from app.loyalty.program import Program
from app.models import Member, MembershipGrant, Order, PaidMembership, Refund, Reward, Shop
from app.services.set_sql import among

def settle_membership_orders(session: Session, shop: Shop, orders: list[Order], program: Program, *,
                             now: datetime) -> None:
    settings = program.membership
    orders = [o for o in orders if o.member_id is not None and not o.is_test]
    grants = _grants(session, shop, [o.order_id for o in orders]) if orders else {}
    if not orders or (not settings.enabled and not grants):
        return
    refunded = _refunded_units(session, shop, [o.order_id for o in orders], settings)
    for order in orders:
        grant, units = grants.get(order.order_id), _units_kept(order, settings, refunded.get(order.order_id, 0))
        if grant is None:
            _grant_months(session, shop, order, settings, units, now)
        else:
            _give_back_months(session, shop, order, grant, settings, units, now)


def _grants(session: Session, shop: Shop, order_ids: list[int]) -> dict[int, MembershipGrant]:
    return {g.order_id: g for g in session.scalars(select(MembershipGrant).where(
        MembershipGrant.shop_id == shop.id, among(session, MembershipGrant.order_id, order_ids)))}


def _refunded_units(session: Session, shop: Shop, order_ids: list[int], settings: MembershipSettings
                    ) -> dict[int, int]:
    """order id -> membership units its refunds gave back (refunds/create and the refunds an
    order payload embeds are both recorded as refunds)."""
    variant = str(settings.variant_number)
    refunded: dict[int, int] = {}
    for order_id, units in session.execute(select(Refund.order_id, Refund.variant_units).where(
            Refund.shop_id == shop.id, among(session, Refund.order_id, order_ids), Refund.variant_units.is_not(None))):
        refunded[order_id] = refunded.get(order_id, 0) + int((units or {}).get(variant, 0))
    return refunded


def _units_kept(order: Order, settings: MembershipSettings, refunded: int) -> int:
    variant = settings.variant_number
    ordered = int(((order.facts or {}).get("variant_units") or {}).get(str(variant), 0)) if variant else 0
    return max(0, ordered - refunded)


def _void(order: Order) -> bool:
    return order.cancelled_at is not None or order.financial_status == "refunded"


def _grant_months(session: Session, shop: Shop, order: Order, settings: MembershipSettings, units: int,
                  now: datetime) -> None:
    if not settings.enabled or order.paid_at is None or _void(order) or units <= 0:
        return
    months = units * settings.months
    membership = membership_of(session, shop, order.member_id)
    if membership is None:
        membership = PaidMembership(shop_id=shop.id, member_id=order.member_id, started_at=now, ends_at=now,
                                    created_at=now, updated_at=now)
        session.add(membership)
    elif membership.ends_at <= now:
        membership.started_at = now  # lapsed: a new membership period starts at this payment
    membership.ends_at = extended_end(membership.ends_at, now, months)
    membership.updated_at = now
    session.add(MembershipGrant(shop_id=shop.id, member_id=order.member_id, order_id=order.order_id, months=months,
                                months_returned=0, units_refunded=0, granted_at=now, created_at=now))
    session.flush()


def _give_back_months(session: Session, shop: Shop, order: Order, grant: MembershipGrant,
                      settings: MembershipSettings, units: int, now: datetime) -> None:
    """The months a refund or cancellation took away from what this order granted."""
    per_unit = settings.months if settings.variant_number else grant.months
    kept = 0 if _void(order) else min(grant.months, units * per_unit)
    give_back = grant.months - grant.months_returned - kept
    if give_back <= 0:
        return
    membership = membership_of(session, shop, grant.member_id)
    if membership is not None:
        membership.ends_at = max(add_months(membership.ends_at, -give_back), min(now, membership.ends_at))
        membership.updated_at = now
    grant.months_returned += give_back
    if _void(order):
        grant.ended_at = now


def membership_of(session: Session, shop: Shop, member_id: int) -> PaidMembership | None:
    return session.scalar(select(PaidMembership).where(PaidMembership.shop_id == shop.id,
                                                       PaidMembership.member_id == member_id))


def paying_members(session: Session, shop: Shop, member_ids: list[int], now: datetime) -> set[int]:
    """The members among `member_ids` whose paid membership runs now."""
    if not member_ids:
        return set()
    return set(session.scalars(select(PaidMembership.member_id).where(
        PaidMembership.shop_id == shop.id, among(session, PaidMembership.member_id, member_ids),
        PaidMembership.ends_at > now)))


def check_members_only(session: Session, shop: Shop, member: Member, reward: Reward, now: datetime) -> None:
    """A members-only reward is refused to everyone whose paid membership is not running."""
    if not reward.members_only:
        return
    membership = membership_of(session, shop, member.id)
    if not is_member(membership.ends_at if membership else None, now):
        raise RewardUnavailable(f"{reward.name} is for members of the paid membership only. "
                                "Join the membership to redeem it.")
