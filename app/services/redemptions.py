"""Redemptions: points -> a Shopify discount code, and what happens to the code afterwards."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.ledger import EntryKind, redemption_return_key
from app.models import Member, Order, Redemption, Shop
from app.services.ledger import NewEntry, lock_member, post_entry
from app.services.program import current_program


def note_codes_on_order(session: Session, shop: Shop, order: Order, member: Member | None, *, now: datetime) -> None:
    """A reward code seen in an order is used. If that order is later cancelled or fully
    refunded, the points spent on the code come back (the owner's choice; on by default)."""
    codes = [c.upper() for c in order.discount_codes or []]
    if not codes:
        return
    used = session.scalars(select(Redemption).where(Redemption.shop_id == shop.id, Redemption.code.in_(codes))).all()
    for redemption in used:
        if redemption.status == "issued":
            redemption.status, redemption.used_at, redemption.used_order_id = "used", now, order.order_id
        if redemption.used_order_id == order.order_id and _order_void(order):
            _return_points_for_void_order(session, shop, order, redemption, now)


def _order_void(order: Order) -> bool:
    return order.cancelled_at is not None or order.financial_status == "refunded"


def _return_points_for_void_order(session: Session, shop: Shop, order: Order, redemption: Redemption,
                                  now: datetime) -> None:
    _, program = current_program(session, shop)
    if not program.clawback.return_points_for_cancelled_reward_orders or not redemption.points_spent:
        return
    member = session.get(Member, redemption.member_id) if redemption.member_id else None
    if member is None:
        return
    lock_member(session, member)
    why = "cancelled" if order.cancelled_at is not None else "refunded in full"
    post_entry(session, member, NewEntry(
        key=redemption_return_key(redemption.id, "order_void"), kind=EntryKind.REVERSAL,
        points=redemption.points_spent, cause_type="redemption", cause_id=str(redemption.id),
        reason=f"Order {order.name or order.order_id} {why}: the {redemption.points_spent} points spent on "
               f"code {redemption.code} come back"), now=now)
