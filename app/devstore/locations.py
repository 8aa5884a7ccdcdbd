"""The demo store's store locations: where POS orders are placed (`location(id:)` in the
stand-in Admin API, `location_id` in order webhooks). A shop state without its own list has
these two, so demo files written before locations existed still work."""
from __future__ import annotations

from typing import Any

from app.devstore.commerce import DemoStoreError
from app.devstore.state import ShopState, gid

DEMO_LOCATIONS = {"70011223344": "Main Street store", "70011223345": "Harbour pop-up"}


def shop_locations(shop: ShopState) -> dict[str, str]:
    return shop.get("locations") or DEMO_LOCATIONS


def location_id_of(shop: ShopState, location: str | int) -> int:
    """A location given by id or by name, as the demo's callers name it."""
    for location_id, name in shop_locations(shop).items():
        if str(location) in (location_id, name):
            return int(location_id)
    raise DemoStoreError(f"no store location {location!r}; the demo store has {sorted(shop_locations(shop).values())}")


def location_node(shop: ShopState, location_gid: str) -> dict[str, Any] | None:
    number = str(location_gid).rsplit("/", 1)[-1]
    name = shop_locations(shop).get(number)
    if name is None:
        return None
    return {"id": gid("Location", number), "legacyResourceId": number, "name": name, "isActive": True}
