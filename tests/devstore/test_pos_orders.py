"""A POS sale in the demo store, end to end: the stand-in places the order at a store location
(source "pos", its location_id in the webhooks), Tessera awards the points once, and the
widget's history names the store from the stand-in's `location(id:)`, which needs read_locations."""
from __future__ import annotations

from decimal import Decimal

import pytest

from app.devstore import DEMO_SHOP
from app.devstore.catalog import product
from app.models import Shop
from app.shopify.admin_access import call_admin
from app.shopify.documents import LOCATION_NAME
from app.shopify.graphql import ShopifyError

SOCKS = product("trail-socks")


@pytest.fixture
def alice(installed, demo):
    customer = demo.sign_up("alice@example.com", "Alice", "Martin").record
    demo.run_jobs()
    return customer["id"]


def test_a_pos_sale_earns_once_and_the_widget_history_names_the_store(t, installed, demo, alice):
    order = demo.checkout("alice@example.com", [(SOCKS, 2, None)], location="Harbour pop-up").record
    assert (order["source_name"], order["location_id"]) == ("pos", 70011223345)
    status, body = demo.proxy("GET", "member", alice)
    assert status == 200
    earned = [a for a in body["recent_activity"] if a["reason"].startswith(f"Order {order['name']}")]
    assert len(earned) == 1 and earned[0]["reason"].endswith("(in store at Harbour pop-up)")
    assert earned[0]["place"]["location_id"] == 70011223345


def test_an_online_checkout_stays_a_web_order(installed, demo, alice):
    order = demo.checkout("alice@example.com", [(SOCKS, 1, Decimal("10.00"))]).record
    assert (order["source_name"], order["location_id"]) == ("web", None)


def test_the_stand_in_refuses_locations_without_read_locations(t, installed, demo):
    with t.db.scope() as session:
        shop = session.get(Shop, installed.id)
        data = call_admin(t.shopify, session, shop, LOCATION_NAME, {"id": "gid://shopify/Location/70011223344"})
        assert data["location"]["name"] == "Main Street store"
    with demo.stand_in.state.shop(DEMO_SHOP) as state:
        for entry in state["access_tokens"].values():
            entry["scope"] = ",".join(s for s in entry["scope"].split(",") if s != "read_locations")
    with t.db.scope() as session, pytest.raises(ShopifyError, match="read_locations"):
        call_admin(t.shopify, session, session.get(Shop, installed.id), LOCATION_NAME,
                   {"id": "gid://shopify/Location/70011223344"})
