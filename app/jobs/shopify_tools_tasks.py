"""Background tasks of the customer metafields and Shopify Flow (registered in app.jobs.tasks)."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.jobs.tasks import task
from app.models import Shop
from app.services import customer_metafields, flow
from app.shopify.admin_access import ShopNeedsReauth
from app.shopify.graphql import ShopifyError

if TYPE_CHECKING:
    from app.runtime import Tessera

log = logging.getLogger(__name__)


@task
def ensure_customer_metafield_definitions(t: "Tessera", shop_id: int | None = None) -> dict[str, list[str]]:
    """At install (one shop) and in the daily upkeep (every installed shop): the definitions
    Shopify lacks are created, for instance after the owner deleted one."""
    with t.db.scope(read_only=True) as session:
        query = select(Shop.id).where(Shop.uninstalled_at.is_(None), Shop.reauth_required_at.is_(None))
        shop_ids = [shop_id] if shop_id is not None else session.scalars(query).all()
    created = {}
    for one_shop_id in shop_ids:
        with t.db.scope() as session:
            shop = session.get(Shop, one_shop_id)
            try:
                created[shop.domain] = customer_metafields.ensure_metafield_definitions(t.shopify, session, shop)
            except (ShopNeedsReauth, ShopifyError) as exc:
                log.warning("metafield definitions of %s left for tomorrow: %s", shop.domain, exc)
    return created


@task
def write_customer_metafields(t: "Tessera") -> int:
    return customer_metafields.write_due_metafields(t.shopify, t.db, now=t.clock())


@task
def send_flow_triggers(t: "Tessera") -> int:
    with t.db.scope() as session:
        flow.queue_expiring_points_triggers(session, now=t.clock())
    return flow.send_due_flow_triggers(t.shopify, t.db, now=t.clock())
