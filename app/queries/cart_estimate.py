"""The points a cart would earn, by the same earning rules the order webhook applies later.

One reading for the checkout extension and the storefront widget (the guest's "you would earn")."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.loyalty.checkout import cart_facts, parse_cart
from app.loyalty.earning import points_for_order
from app.models import Shop
from app.services.members import find_member
from app.services.program import current_program


def cart_estimate(session: Session, shop: Shop, cart: dict[str, Any], customer_id: int | None, *,
                  now: datetime) -> dict[str, Any]:
    """`cart`: `{"currency", "subtotal", "shipping", "tax", "lines": [{"product_id", "amount"}]}`;
    `points: null` when the cart is in another currency than the shop's (the earning rules are
    written in the shop's currency). Bad amounts raise InvalidInput (422)."""
    if str(cart.get("currency") or "").upper() != shop.currency.upper():
        return {"points": None, "unavailable": "currency", "currency": shop.currency,
                "signed_in": customer_id is not None}
    _, program = current_program(session, shop)
    member = find_member(session, shop, customer_id) if customer_id is not None else None
    earning = points_for_order(program, cart_facts(parse_cart(cart, shop.currency)),
                               tier=program.tier(member.tier_key) if member else None, at=now)
    return {"points": earning.points, "reason": earning.reason.text, "currency": shop.currency,
            "pending_days": program.earning.pending_days, "signed_in": customer_id is not None}
