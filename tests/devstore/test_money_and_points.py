"""The demo store sells with prices including tax, refunds short of the items or without any,
and edits orders, in Shopify's shapes; Tessera's ledger follows the money, and reading the same
orders back through the Admin API (reconciliation) finds nothing to repair."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.devstore import DEMO_SHOP
from app.devstore.catalog import product
from app.devstore.commerce import DemoStoreError
from app.models import LedgerEntry
from app.services.reconcile import reconcile_shop
from app.services.shops import find_shop

pytestmark = pytest.mark.both_backends


def points_of(t, installed, order_id: int) -> list[tuple[str, int]]:
    with t.db.scope(read_only=True) as session:
        return [(key.split(":", 2)[2] if key.startswith("order:") else key.split(":")[0], points)
                for key, points in session.execute(select(LedgerEntry.entry_key, LedgerEntry.points).where(
                    LedgerEntry.shop_id == installed.id, LedgerEntry.order_id == order_id).order_by(LedgerEntry.id))]


@pytest.fixture
def alice(demo, installed):
    demo.sign_up("alice@example.com", "Alice", "Martin")
    return "alice@example.com"


def test_tax_inclusive_order_earns_without_the_tax_in_its_prices(demo, t, installed, alice):
    outcome = demo.checkout(alice, [(product("ridgeline-rain-shell"), 1, None)], taxes_included=True)
    order, (paid, _) = outcome.record, outcome.webhooks[-1]
    assert paid.payload["taxes_included"] is True and paid.payload["total_price"] == "148.00"
    # 148.00 with 8 % tax inside: 10.96 tax, 137.04 without it
    assert points_of(t, installed, order["id"]) == [("earn", 137)]


def test_money_refunded_without_items_takes_back_its_share(demo, t, installed, alice):
    order = demo.checkout(alice, [(product("ridgeline-rain-shell"), 1, None)]).record
    demo.refund_money(order["id"], Decimal("39.96"), note="Late delivery")
    # 39.96 of the 159.84 paid (148.00 + 11.84 tax, free shipping): a quarter of the 148.00 base
    assert points_of(t, installed, order["id"]) == [("earn", 148), ("refund", -37)]


def test_items_refunded_for_less_than_their_price_take_back_by_the_money(demo, t, installed, alice):
    order = demo.checkout(alice, [(product("trail-socks"), 2, None), (product("ridgeline-rain-shell"), 1, None)]).record
    socks = order["lines"][0]["id"]
    demo.refund_items_for_less(order["id"], [(socks, 1)], Decimal("11.88"))  # half of 22.00 + 1.76 tax
    assert points_of(t, installed, order["id"]) == [("earn", 192), ("refund", -11)]


def test_an_order_edit_moves_the_points_with_the_order(demo, t, clock, installed, alice):
    order = demo.checkout(alice, [(product("trail-socks"), 3, None), (product("ridgeline-rain-shell"), 1, None)]).record
    socks = order["lines"][0]["id"]
    clock.advance(minutes=5)
    demo.edit_order(order["id"], line_quantities={socks: 1})
    clock.advance(minutes=5)
    demo.edit_order(order["id"], add=[(product("merino-beanie"), 1)])
    assert [p for _, p in points_of(t, installed, order["id"])] == [214, -44, 28]
    with t.db.scope() as session:
        report = reconcile_shop(t.shopify, session, find_shop(session, DEMO_SHOP), since=demo.now - timedelta(days=1),
                                clock=t.clock)
    assert (report.orders_missing, report.refunds_missing, dict(report.entries_added)) == (0, 0, {})


def test_reconciliation_reads_tax_inclusive_orders_and_discrepancies_as_the_webhooks_did(demo, t, installed, alice):
    first = demo.checkout(alice, [(product("ridgeline-rain-shell"), 1, None)], taxes_included=True).record
    demo.refund_money(first["id"], Decimal("20.00"))
    second = demo.checkout(alice, [(product("trail-socks"), 2, None)], taxes_included=True).record
    demo.refund_items_for_less(second["id"], [(second["lines"][0]["id"], 1)], Decimal("5.00"))
    with t.db.scope() as session:
        report = reconcile_shop(t.shopify, session, find_shop(session, DEMO_SHOP), since=demo.now - timedelta(days=1),
                                clock=t.clock)
    assert report.orders_seen == 2
    assert (report.orders_missing, report.refunds_missing, dict(report.entries_added)) == (0, 0, {})


def test_the_stand_in_refuses_what_shopify_refuses(demo, installed, alice):
    order = demo.checkout(alice, [(product("trail-socks"), 2, None)]).record
    socks = order["lines"][0]["id"]
    with pytest.raises(DemoStoreError, match="at most"):
        demo.refund_money(order["id"], Decimal("1000.00"))
    with pytest.raises(DemoStoreError, match="at most"):
        demo.refund_items_for_less(order["id"], [(socks, 1)], Decimal("30.00"))  # more than the sock cost
    with pytest.raises(DemoStoreError, match="0..2"):
        demo.edit_order(order["id"], line_quantities={socks: 3})
    demo.cancel(order["id"])
    with pytest.raises(DemoStoreError, match="cannot be edited"):
        demo.edit_order(order["id"], line_quantities={socks: 0})
