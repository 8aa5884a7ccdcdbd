"""What the widget polls after a 202 from /proxy/redeem: one redemption, as its owner sees it.
A query module: it reads and never writes."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.errors import NotFound
from app.parsing import is_stored_id
from app.models import Member, Redemption, Shop
from app.services.ledger import balance_of


def redemption_json(redemption: Redemption, balance: int) -> dict[str, Any]:
    """The redemption as /proxy/redeem and /proxy/redemptions/<id> answer it."""
    live = redemption.status in ("issued", "used")
    code = redemption.code if live else None
    return {
        "redemption_id": redemption.id, "status": redemption.status, "code": code, "balance": balance,
        "reward_id": redemption.reward_id, "kind": redemption.kind, "points_spent": redemption.points_spent,
        "value": None if redemption.value is None else str(redemption.value), "currency": redemption.currency,
        "variant_id": (redemption.terms or {}).get("variant_id"),
        "expires_at": redemption.expires_at.isoformat() if redemption.expires_at else None,
        "apply_url": f"/discount/{code}" if code else None,
        "message": redemption.failure_reason if redemption.status == "failed" else None,
    }


def member_redemption(session: Session, shop: Shop, customer_id: int, redemption_id: Any, *,
                      now: datetime) -> dict[str, Any]:
    """Only the signed-in member who redeemed may read it; anyone else learns nothing (404)."""
    found = None
    if isinstance(redemption_id, int) or (isinstance(redemption_id, str) and is_stored_id(redemption_id)):
        found = session.execute(select(Redemption, Member).join(Member, Member.id == Redemption.member_id).where(
            Redemption.shop_id == shop.id, Redemption.id == int(redemption_id), Member.shop_id == shop.id,
            Member.customer_id == customer_id)).first()
    if found is None:
        raise NotFound("No such redemption for your account.")
    redemption, member = found
    return redemption_json(redemption, balance_of(session, member, now).balance)
