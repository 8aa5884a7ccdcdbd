"""Members and orders written straight to the database, for metrics and segment tests."""
from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from app.models import Member, Order, Refund, Shop
from app.services.segments import maintain_segments

_ids = count(9_000_000)


def add_member(t, shop, customer_id: int, *, account_state: str | None = "enabled", **profile) -> int:
    with t.db.scope() as session:
        member = Member(shop_id=shop.id, customer_id=customer_id, referral_code=f"R{customer_id}"[-10:],
                        account_state=account_state, created_at=t.clock(), updated_at=t.clock(), **profile)
        session.add(member)
        session.commit()
        return member.id


def add_order(t, shop, member_id: int, *, days_ago: float, total: int = 5000, refunded: int = 0,
              cancelled: bool = False, test: bool = False, status: str = "paid", paid: bool = True) -> int:
    """A paid order placed `days_ago` days before the clock (money in minor units)."""
    placed = t.clock() - timedelta(days=days_ago)
    order_id = next(_ids)
    with t.db.scope() as session:
        session.add(Order(shop_id=shop.id, order_id=order_id, member_id=member_id, currency="USD",
                          total_minor=total, financial_status=status, is_test=test, processed_at=placed,
                          paid_at=placed if paid else None, cancelled_at=placed if cancelled else None))
        if refunded:
            session.add(Refund(shop_id=shop.id, refund_id=next(_ids), order_id=order_id, base_minor=refunded,
                               currency="USD", refunded_at=placed))
        session.commit()
    return order_id


def recompute(t, shop, at: datetime | None = None):
    """The periodic job for one shop: metrics, win-back, today's segment sizes."""
    with t.db.scope() as session:
        return maintain_segments(session, session.get(Shop, shop.id), now=at or t.clock())
