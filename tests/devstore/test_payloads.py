"""The demo store's webhook bodies have the field set of Shopify's documented payloads for the
configured API version (tests/fixtures/shopify/webhooks), key for key and JSON type for JSON type."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from app.devstore import commerce, discounts, payloads
from app.devstore.catalog import product
from app.devstore.state import new_shop_state
from tests.support import payload

NOW = datetime(2025, 2, 14, 14, 31, tzinfo=timezone.utc)


def shape(value):
    """Keys (recursively) and JSON types; lists by their first item; None matches anything."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    return "number" if isinstance(value, (int, float)) else type(value).__name__


def differences(ours, reference, path="$") -> list[str]:
    if isinstance(ours, dict) and isinstance(reference, dict):
        problems = [f"{path}: missing {k}" for k in reference.keys() - ours.keys()]
        problems += [f"{path}: extra {k}" for k in ours.keys() - reference.keys()]
        return problems + [p for k in ours.keys() & reference.keys() for p in differences(ours[k], reference[k],
                                                                                         f"{path}.{k}")]
    if isinstance(ours, list) and isinstance(reference, list):
        return differences(ours[0], reference[0], f"{path}[0]") if ours and reference else []
    if "NoneType" in (ours, reference) or ours == reference:
        return []
    return [f"{path}: {ours} where Shopify has {reference}"]


@pytest.fixture(scope="module")
def store():
    """One customer's story: an order with a code and a gift card, a refund, a cancel, a shipment."""
    shop = new_shop_state("maple-pine-goods.myshopify.com")
    address = commerce.Address("88 Harbour Street", "Toronto", "Ontario", "ON", "M5J 2V5", "+1 416-555-0142")
    plain = commerce.add_customer(shop, email="new@example.com", first_name="New", last_name="Customer",
                                  account=False, now=NOW)
    jordan = commerce.add_customer(shop, email="jordan.lee@example.com", first_name="Jordan", last_name="Lee",
                                   account=True, address=address, phone="+14165550142", now=NOW)
    discounts.create_discount(shop, "basicCodeDiscount", "basic", {
        "title": "Reward", "code": "LOYAL-10-7KQ2", "startsAt": "2025-02-14T00:00:00Z",
        "context": {"all": "ALL"},
        "customerGets": {"value": {"discountAmount": {"amount": "10.00"}}, "items": {"all": True}}}, NOW)
    items = [(product("trailhead-hoodie"), 2, None), (product("gift-card"), 1, None)]
    paid = commerce.place_order(shop, customer=jordan, items=items, code="LOYAL-10-7KQ2", now=NOW,
                                attributes={"tessera_ref": "ALICE123"})
    snapshots = {"paid": payloads.order_payload(shop, paid)}
    refund = commerce.refund_order(shop, paid, items=[(paid["lines"][0]["id"], 1)], now=NOW, note="Returned")
    snapshots.update(refund=payloads.refund_payload(shop, paid, refund), updated=payloads.order_payload(shop, paid))
    commerce.fulfill_order(shop, paid, now=NOW)
    snapshots["fulfilled"] = payloads.order_payload(shop, paid)
    cancelled = commerce.place_order(shop, customer=jordan, items=items[:1], now=NOW)
    commerce.cancel_order(shop, cancelled, now=NOW)
    snapshots.update(cancelled=payloads.order_payload(shop, cancelled), shop=shop, plain=plain, jordan=jordan)
    return snapshots


@pytest.mark.parametrize("topic, build", [
    ("orders/create", lambda s: s["paid"]),
    ("orders/paid", lambda s: s["paid"]),
    ("orders/updated", lambda s: s["updated"]),
    ("orders/fulfilled", lambda s: s["fulfilled"]),
    ("orders/cancelled", lambda s: s["cancelled"]),
    ("refunds/create", lambda s: s["refund"]),
    ("customers/create", lambda s: payloads.customer_payload(s["shop"], s["plain"])),
    ("customers/update", lambda s: payloads.customer_payload(s["shop"], s["jordan"])),
    ("customers/delete", lambda s: payloads.customer_deleted_payload(s["jordan"])),
    ("app/uninstalled", lambda s: payloads.shop_payload(s["shop"], NOW)),
    ("customers/data_request", lambda s: payloads.data_request_payload(s["shop"], s["jordan"], 4401)),
    ("customers/redact", lambda s: payloads.customer_redact_payload(s["shop"], s["jordan"])),
    ("shop/redact", lambda s: payloads.shop_redact_payload(s["shop"])),
])
def test_payloads_have_the_field_set_of_the_api_version(store, topic, build):
    ours = json.loads(json.dumps(build(store)))
    assert differences(shape(ours), shape(payload(topic))) == []


def test_an_order_adds_up_like_a_checkout(store):
    paid = store["paid"]
    hoodies = paid["line_items"][0]
    assert (paid["total_line_items_price"], paid["subtotal_price"], paid["total_tax"], paid["total_price"]) == (
        "186.00", "176.00", "10.08", "186.08")
    assert hoodies["discount_allocations"][0]["amount"] == "10.00" and paid["shipping_lines"][0]["price"] == "0.00"
    assert paid["discount_codes"] == [{"code": "LOYAL-10-7KQ2", "amount": "10.00", "type": "fixed_amount"}]
    assert store["refund"]["refund_line_items"][0]["subtotal"] == 63.0
    assert store["updated"]["financial_status"] == "partially_refunded"
    assert store["cancelled"]["financial_status"] == "refunded" and store["cancelled"]["current_total_price"] == "0.00"
    assert Decimal(store["updated"]["current_subtotal_price"]) == Decimal("176.00") - Decimal("63.00")
