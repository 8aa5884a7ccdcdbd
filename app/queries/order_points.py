"""One order's points, read for the customer account order status block (the order's own
customer only) and the admin order page (read-only)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.order_points import OrderEntry, order_points
from app.models import LedgerEntry, Member, Order, Shop


def _entries(session: Session, shop: Shop, order_id: int, member_id: int | None) -> list[LedgerEntry]:
    statement = select(LedgerEntry).where(LedgerEntry.shop_id == shop.id, LedgerEntry.order_id == order_id)
    if member_id is not None:
        statement = statement.where(LedgerEntry.member_id == member_id)
    return list(session.scalars(statement.order_by(LedgerEntry.created_at, LedgerEntry.id)))


def order_points_json(session: Session, shop: Shop, order_id: int, *, now: datetime,
                      member: Member | None = None) -> dict[str, Any]:
    """`known: false` while Shopify's order webhook has not reached Tessera yet (the order
    status page opens the moment the order is placed)."""
    order = session.scalar(select(Order).where(Order.shop_id == shop.id, Order.order_id == order_id))
    rows = _entries(session, shop, order_id, member.id if member else None)
    summary = order_points([OrderEntry(r.kind, r.points, r.reason, r.created_at, r.vests_at) for r in rows], now)
    return {"order_id": order_id, "known": order is not None, "name": order.name if order else None,
            "earned": summary.earned, "taken_back": summary.taken_back, "net": summary.net,
            "pending": summary.pending,
            "pending_until": summary.pending_until.isoformat() if summary.pending_until else None,
            "entries": [{"at": r.created_at.isoformat(), "kind": r.kind, "points": r.points, "reason": r.reason}
                        for r in rows]}


def not_yet_known(order_id: int) -> dict[str, Any]:
    return {"order_id": order_id, "known": False, "name": None, "earned": 0, "taken_back": 0, "net": 0, "pending": 0,
            "pending_until": None, "entries": []}
