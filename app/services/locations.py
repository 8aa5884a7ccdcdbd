"""Store location names for POS orders, cached per shop (`shop_locations`).

Order webhooks carry only a POS sale's `location_id`; its name comes from the Admin API
(`location(id:)`, read_locations). Names are looked up lazily, when a member's history is about
to be shown, only for locations not cached or cached more than LOCATION_NAME_TTL ago, and a
Shopify that does not answer never stops the history from showing ("in store" without a name).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models import Member, Order, Shop, ShopLocation
from app.shopify.admin_access import AdminAccess, ShopNeedsReauth, call_admin
from app.shopify.documents import LOCATION_NAME
from app.shopify.graphql import ShopifyError
from app.shopify.oauth import OAuthError

log = logging.getLogger(__name__)
# Stores get renamed rarely; a week-old name is still worth showing while the new one loads.
LOCATION_NAME_TTL = timedelta(days=7)
# A member page load never waits on more than this many lookups.
MAX_LOOKUPS_PER_READ = 5


def name_member_store_locations(db, shopify: AdminAccess, shop_id: int, customer_id: int, *, now: datetime,
                                deadline: float | None = None) -> int:
    """Fetch the names of this member's POS order locations that are unknown or stale; returns
    how many were stored."""
    with db.scope(read_only=True) as session:  # most history reads find every name cached
        shop = session.get(Shop, shop_id)
        wanted = _unnamed_locations(session, shop, customer_id, now) if shop and shop.is_installed else []
    if not wanted:
        return 0
    with db.scope() as session:
        shop = session.get(Shop, shop_id)
        stored = 0
        for location_id in wanted[:MAX_LOOKUPS_PER_READ]:
            try:
                name = _location_name(shopify, session, shop, location_id, deadline)
            except (ShopifyError, ShopNeedsReauth, OAuthError) as exc:
                log.warning("location %s of shop %s not named: %s", location_id, shop_id, exc)
                break  # the rest would fail the same way; they are tried on the next read
            remember_location_name(session, shop, location_id, name, now=now)
            stored += 1
        session.commit()
        return stored


def _unnamed_locations(session: Session, shop: Shop, customer_id: int, now: datetime) -> list[int]:
    cached = ShopLocation.__table__
    rows = session.execute(
        select(Order.location_id).distinct()
        .join(Member, (Member.id == Order.member_id) & (Member.shop_id == shop.id))
        .outerjoin(cached, (cached.c.shop_id == shop.id) & (cached.c.location_id == Order.location_id))
        .where(Order.shop_id == shop.id, Member.customer_id == customer_id, Order.location_id.is_not(None),
               or_(cached.c.id.is_(None), cached.c.refreshed_at < now - LOCATION_NAME_TTL)))
    return sorted(location_id for (location_id,) in rows)


def _location_name(shopify: AdminAccess, session: Session, shop: Shop, location_id: int,
                   deadline: float | None) -> str | None:
    data = call_admin(shopify, session, shop, LOCATION_NAME, {"id": f"gid://shopify/Location/{location_id}"},
                      deadline=deadline)
    location = data.get("location") or {}
    name = location.get("name")
    return str(name)[:255] if name else None  # a deleted location: remembered as nameless


def remember_location_name(session: Session, shop: Shop, location_id: int, name: str | None, *,
                           now: datetime) -> None:
    row = session.scalar(select(ShopLocation).where(ShopLocation.shop_id == shop.id,
                                                    ShopLocation.location_id == location_id))
    if row is None:
        session.add(ShopLocation(shop_id=shop.id, location_id=location_id, name=name, refreshed_at=now))
    else:
        row.name, row.refreshed_at = name, now
    session.flush()
