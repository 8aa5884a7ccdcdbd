"""What an order batch's settlement adds for the pooled programs, in the same transaction:
the orders' cashback payouts and the paid memberships their lines buy (or give back)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.loyalty.program import Program
from app.models import Order, Shop
from app.services.cashback import record_order_cashback
from app.services.memberships import settle_membership_orders


def settle_pooled_perks(session: Session, shop: Shop, orders: list[Order], program: Program, *,
                        now: datetime) -> None:
    record_order_cashback(session, shop, orders, program, now=now)
    settle_membership_orders(session, shop, orders, program, now=now)
