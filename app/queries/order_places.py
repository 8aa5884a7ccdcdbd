"""Where a ledger entry's order was placed, for the member's history: a POS sale reads
"in store at <location name>" (read-only; names come from the shop_locations cache)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.wording import DEFAULT_LOCALE, render_reason
from app.models import Order, ShopLocation

POS_SOURCE = "pos"


def in_store_text(location_name: str | None, locale: str = DEFAULT_LOCALE) -> str:
    if location_name:
        return render_reason("place.in_store_at", {"location": location_name}, locale)
    return render_reason("place.in_store", {}, locale)


def store_places(session: Session, shop_id: int, order_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Shopify order id -> {source_name, location_id, location_name} for the orders placed in a store."""
    wanted = sorted({order_id for order_id in order_ids if order_id is not None})
    if not wanted:
        return {}
    rows = session.execute(
        select(Order.order_id, Order.source_name, Order.location_id, ShopLocation.name)
        .outerjoin(ShopLocation, (ShopLocation.shop_id == shop_id) & (ShopLocation.location_id == Order.location_id))
        .where(Order.shop_id == shop_id, Order.order_id.in_(wanted)))
    return {order_id: {"source_name": source, "location_id": location_id, "location_name": name}
            for order_id, source, location_id, name in rows if source == POS_SOURCE or location_id is not None}


def with_store_places(session: Session, shop_id: int, rows: list[dict[str, Any]],
                      order_ids: list[int | None], *, locale: str = DEFAULT_LOCALE) -> list[dict[str, Any]]:
    """History rows (one per entry, `order_ids` beside them); a store sale's row gains `place`
    and "in store at ..." after its reason, so every screen that shows the reason shows it."""
    places = store_places(session, shop_id, [order_id for order_id in order_ids if order_id is not None])
    shown = []
    for row, order_id in zip(rows, order_ids):
        place = places.get(order_id)
        if place is None:
            shown.append(row)
            continue
        where = in_store_text(place["location_name"], locale)
        shown.append({**row, "reason": f"{row['reason']} ({where})", "place": {**place, "text": where}})
    return shown
