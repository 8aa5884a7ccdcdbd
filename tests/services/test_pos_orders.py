"""POS orders earn through the same order webhooks as online ones, once per order id, and the
member's history says where: "in store at <location name>", the name looked up in the Admin API
(read_locations) once and cached per shop."""
import pytest
from sqlalchemy import select

from app.models import LedgerEntry, Order, ShopLocation
from tests.admin.helpers import bearer, get_page
from tests.support import CUSTOMER_ID, payload, signed_proxy_query
from tests.support.ledger import deliver

pytestmark = pytest.mark.both_backends
MAIN_STREET = 70011223344


def pos_order(**changes):
    body = payload("orders/paid")  # Jordan Lee, #1042: 110 points
    return body | {"source_name": "pos", "location_id": MAIN_STREET} | changes


def ledger(client):
    return client.get(f"/api/v1/members/{CUSTOMER_ID}", headers=bearer()).json["ledger"]


def test_a_pos_order_earns_once_and_keeps_its_source_and_location(client, t, shop):
    deliver(client, t, "orders/create", pos_order())
    deliver(client, t, "orders/paid", pos_order())
    with t.db.scope(read_only=True) as session:
        order = session.scalar(select(Order))
        earned = session.scalars(select(LedgerEntry)).all()
    assert (order.source_name, order.location_id) == ("pos", MAIN_STREET)
    assert [entry.points for entry in earned] == [110]


def test_the_members_history_says_in_store_at_the_locations_name(client, t, shop, stub):
    stub.locations[MAIN_STREET] = "Main Street store"
    deliver(client, t, "orders/paid", pos_order())
    entry = ledger(client)[0]
    assert entry["reason"].startswith("Order #1042:") and entry["reason"].endswith("(in store at Main Street store)")
    assert entry["place"] == {"source_name": "pos", "location_id": MAIN_STREET, "location_name": "Main Street store",
                              "text": "in store at Main Street store"}


def test_a_location_name_is_looked_up_once_and_cached_for_the_shop(client, t, shop, stub):
    stub.locations[MAIN_STREET] = "Main Street store"
    deliver(client, t, "orders/paid", pos_order())
    ledger(client)
    ledger(client)
    lookups = [b for b in stub.bodies if b["operationName"] == "LocationName"]
    assert [b["variables"] for b in lookups] == [{"id": f"gid://shopify/Location/{MAIN_STREET}"}]
    with t.db.scope(read_only=True) as session:
        cached = session.scalars(select(ShopLocation)).all()
    assert [(row.shop_id, row.location_id, row.name) for row in cached] == [(shop.id, MAIN_STREET, "Main Street store")]


def test_a_week_old_name_is_refreshed_when_the_history_is_next_shown(client, t, shop, stub, clock):
    stub.locations[MAIN_STREET] = "Main Street store"
    deliver(client, t, "orders/paid", pos_order())
    ledger(client)
    stub.locations[MAIN_STREET] = "Main Street flagship"
    clock.advance(days=8)
    assert ledger(client)[0]["place"]["location_name"] == "Main Street flagship"


def test_without_read_locations_the_history_still_says_in_store(client, t, shop, stub):
    stub.scopes.discard("read_locations")
    deliver(client, t, "orders/paid", pos_order())
    entry = ledger(client)[0]
    assert entry["reason"].endswith("(in store)") and entry["place"]["location_name"] is None


def test_an_online_order_has_no_place_in_the_history(client, t, shop, stub):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert "place" not in ledger(client)[0]
    assert not [b for b in stub.bodies if b["operationName"] == "LocationName"]


def test_the_admin_member_page_and_the_widget_say_in_store_at_the_location(client, t, shop, stub):
    stub.locations[MAIN_STREET] = "Main Street store"
    deliver(client, t, "orders/paid", pos_order())
    assert "(in store at Main Street store)" in get_page(client, f"/members/{CUSTOMER_ID}").get_data(as_text=True)
    activity = client.get(f"/proxy/member?{signed_proxy_query()}").json["recent_activity"]
    assert [a["place"]["text"] for a in activity if "place" in a] == ["in store at Main Street store"]
