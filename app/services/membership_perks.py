"""The paid membership's monthly free-shipping code: one per paying member and calendar month,
issued through the same free-code path as the tiers' free-shipping perk (services.tier_benefits)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.membership import add_months, shipping_month_key
from app.loyalty.rewards import free_shipping_perk
from app.models import PaidMembership, Redemption, Shop
from app.services.program import current_program
from app.services.redemptions import issue_free_code
from app.shopify.admin_access import AdminAccess

if TYPE_CHECKING:
    from app.db import Database
    from app.jobs import Queue


def _month_end(now: datetime) -> datetime:
    return add_months(now.replace(day=1, hour=0, minute=0, second=0, microsecond=0), 1)


def grant_membership_shipping(db: "Database", *, admin: AdminAccess, queue: "Queue",
                              clock: Callable[[], datetime]) -> int:
    """One free-shipping code per paying member and calendar month (the code's key is the month),
    through the same free-code path as the tiers' perks; valid to the end of the month."""
    now, work = clock(), []
    with db.scope(read_only=True) as session:
        for shop in session.scalars(select(Shop).where(Shop.uninstalled_at.is_(None),
                                                       Shop.reauth_required_at.is_(None))).all():
            _, program = current_program(session, shop)
            if program.membership.enabled and program.membership.monthly_free_shipping:
                work += [(shop, member_id) for member_id in _due_shipping(session, shop, now)]
    for shop, member_id in work:
        days = max(1, (_month_end(now) - now + timedelta(hours=23)) // timedelta(days=1))
        issue_free_code(db, shop.id, member_id, key=shipping_month_key(member_id, now),
                        terms=free_shipping_perk(shop.currency, days), purpose="membership_perk", prefix="SHIP",
                        admin=admin, queue=queue, clock=clock)
    return len(work)


def _due_shipping(session: Session, shop: Shop, now: datetime) -> list[int]:
    members = session.scalars(select(PaidMembership.member_id).where(
        PaidMembership.shop_id == shop.id, PaidMembership.ends_at > now)).all()
    held = set(session.scalars(select(Redemption.idempotency_key).where(
        Redemption.shop_id == shop.id, Redemption.purpose == "membership_perk",
        Redemption.idempotency_key.like(f"member:%:membership:free-shipping:{now:%Y%m}"))))
    return [m for m in members if shipping_month_key(m, now) not in held][:200]
