"""What the widget shows of the pooled programs for a signed-in member (read-only): their
household (display names and the pooled balance, never another member's email), their paid
membership, and the cashback of their orders (earned and pending)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.households import PoolShare, display_name, pool_balance
from app.loyalty.money import to_decimal
from app.loyalty.wording import DEFAULT_LOCALE, translate_message
from app.models import CashbackPayout, HouseholdMember, Member, Order, PaidMembership, Shop
from app.services.ledger import spendable_points
from app.services.program import current_program


def is_paying_member(session: Session, shop: Shop, member_id: int, *, at: datetime) -> bool:
    ends_at = session.scalar(select(PaidMembership.ends_at).where(PaidMembership.shop_id == shop.id,
                                                                  PaidMembership.member_id == member_id))
    return ends_at is not None and ends_at > at


def pooled_state(session: Session, shop: Shop, member: Member | None, *, now: datetime,
                 locale: str = DEFAULT_LOCALE) -> dict[str, Any]:
    _, program = current_program(session, shop)
    return {
        "household": household_json(session, shop, member, now, locale)
        if program.households.enabled and member else None,
        "membership": membership_json(session, shop, member, program.membership, now)
        if program.membership.enabled and member else None,
        "cashback": cashback_json(session, shop, member, now) if member else None,
        "households_enabled": program.households.enabled,
    }


def household_json(session: Session, shop: Shop, member: Member, now: datetime,
                   locale: str = DEFAULT_LOCALE) -> dict[str, Any] | None:
    household_id = session.scalar(select(HouseholdMember.household_id).where(
        HouseholdMember.shop_id == shop.id, HouseholdMember.member_id == member.id))
    if household_id is None:
        return None
    members = session.execute(select(Member, HouseholdMember.joined_at).join(
        HouseholdMember, HouseholdMember.member_id == Member.id).where(
        HouseholdMember.shop_id == shop.id, HouseholdMember.household_id == household_id)
        .order_by(HouseholdMember.joined_at, Member.id)).all()
    spendable = spendable_points(session, shop, [m.id for m, _ in members], now)
    shares = [PoolShare(m.id, joined, spendable.get(m.id, 0)) for m, joined in members]
    unnamed = translate_message("Household member", locale)  # someone who never gave Shopify a name
    return {"members": [display_name(m.first_name, m.last_name, unnamed) for m, _ in members],
            "balance": pool_balance(shares), "max_members": current_program(session, shop)[1].households.max_members}


def membership_json(session: Session, shop: Shop, member: Member, settings, now: datetime) -> dict[str, Any]:
    ends_at = session.scalar(select(PaidMembership.ends_at).where(PaidMembership.shop_id == shop.id,
                                                                  PaidMembership.member_id == member.id))
    active = ends_at is not None and ends_at > now
    return {"name": settings.name, "active": active, "ends_at": ends_at.isoformat() if active else None,
            "points_multiplier": str(settings.points_multiplier.normalize())}


def cashback_json(session: Session, shop: Shop, member: Member, now: datetime) -> dict[str, Any] | None:
    """Per order: the cashback it earned (net of refunds), paid or pending until when."""
    rows = session.execute(select(CashbackPayout, Order.name).outerjoin(Order, (Order.shop_id == shop.id) & (
        Order.order_id == CashbackPayout.order_id)).where(CashbackPayout.shop_id == shop.id,
                                                        CashbackPayout.member_id == member.id)
        .order_by(CashbackPayout.created_at.desc(), CashbackPayout.id.desc()).limit(200)).all()
    if not rows:
        return None
    orders: dict[int, dict[str, Any]] = {}
    for payout, name in reversed(rows):
        entry = orders.setdefault(payout.order_id, {"order": name or str(payout.order_id), "amount_minor": 0,
                                                    "status": "pending", "pending_until": None,
                                                    "currency": payout.currency})
        if payout.kind == "credit":
            entry["amount_minor"] += payout.amount_minor
            entry["status"] = "paid" if payout.status == "paid" else "pending"
            entry["pending_until"] = payout.due_at.isoformat() if payout.status == "pending" else None
        else:
            entry["amount_minor"] -= payout.amount_minor
    shown = [{**o, "amount": str(to_decimal(max(0, o.pop("amount_minor")), o["currency"]))} for o in orders.values()]
    currency = shown[0]["currency"]
    earned = sum((Decimal(o["amount"]) for o in shown if o["status"] == "paid"), Decimal(0))
    pending = sum((Decimal(o["amount"]) for o in shown if o["status"] == "pending"), Decimal(0))
    return {"currency": currency, "earned": str(earned), "pending": str(pending), "orders": list(reversed(shown))[:20]}
