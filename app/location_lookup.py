"""The request-side call that names a member's store locations before their history is shown
(the widget's /proxy/member, the admin member page, /api/v1/members/<id>)."""
from __future__ import annotations

from app.runtime import tessera
from app.services.locations import name_member_store_locations

# A history page waits at most this long on Shopify for names; past it, "in store" for now.
LOOKUP_SECONDS = 3.0


def name_store_locations_for(shop_id: int, customer_id: int) -> None:
    t = tessera()
    name_member_store_locations(t.db, t.shopify, shop_id, customer_id, now=t.clock(),
                                deadline=t.monotonic() + LOOKUP_SECONDS)
