"""Real-shaped payloads through POST /webhooks: tax-inclusive stores, amount-only and partial
refunds, shipping refunds and order edits, on both databases."""
import copy

import pytest
from sqlalchemy import select

from app.models import Order
from tests.fixtures.earn import earn_payload
from tests.support import ORDER_ID
from tests.support.ledger import balance, deliver, entries, ledger, set_program

pytestmark = pytest.mark.both_backends
EARN = f"order:{ORDER_ID}:earn"
EDIT = f"order:{ORDER_ID}:edit:20250215T143000Z"


def test_tax_inclusive_order_earns_on_the_subtotal_without_its_tax(client, t, shop):
    deliver(client, t, "orders/paid", earn_payload("orders_paid_taxes_included"))
    [entry] = entries(t, shop)
    assert (entry.entry_key, entry.points) == (EARN, 90)
    assert entry.reason == "Order #1042: 1 point per $1 on $90.00 subtotal = 90 points"


@pytest.mark.parametrize("base, points", [("subtotal_with_tax", 102), ("total", 112)])
def test_tax_inclusive_order_counts_tax_once_in_bases_with_tax(client, t, shop, base, points):
    set_program(t, shop, {"earning": {"base": base}})
    deliver(client, t, "orders/paid", earn_payload("orders_paid_taxes_included"))
    assert ledger(t, shop) == [(EARN, points)]


def test_amount_only_refund_claws_back_its_share_of_the_money(client, t, shop):
    deliver(client, t, "orders/paid", earn_payload("orders_paid_taxes_included"))
    deliver(client, t, "refunds/create", earn_payload("refund_amount_only"))
    assert ledger(t, shop) == [(EARN, 90), ("refund:978123456801:clawback", -22)]
    assert entries(t, shop)[-1].reason == "Refund on order #1042: $22.50 of $90.00 refunded = -22 points"
    with t.db.scope(read_only=True) as session:  # tiers on amount spent see the money too
        order = session.scalar(select(Order).where(Order.shop_id == shop.id, Order.order_id == ORDER_ID))
    assert (order.earning_base_minor, order.refunded_base_minor) == (9000, 2250)


def test_item_refunded_for_less_than_its_price_claws_back_by_the_money_refunded(client, t, shop):
    deliver(client, t, "orders/paid", earn_payload("orders_paid_taxes_included"))
    deliver(client, t, "refunds/create", earn_payload("refund_partial_price"))
    assert ledger(t, shop) == [(EARN, 90), ("refund:978123456802:clawback", -26)]


def test_shipping_only_refund_claws_back_only_when_shipping_earned(client, t, shop):
    deliver(client, t, "orders/paid", earn_payload("orders_paid_taxes_included"))
    deliver(client, t, "refunds/create", earn_payload("refund_shipping_only"))
    assert ledger(t, shop) == [(EARN, 90)]


def test_shipping_only_refund_claws_back_shipping_that_earned(client, t, shop):
    set_program(t, shop, {"earning": {"base": "subtotal_with_shipping"}})
    deliver(client, t, "orders/paid", earn_payload("orders_paid_taxes_included"))
    deliver(client, t, "refunds/create", earn_payload("refund_shipping_only"))
    assert ledger(t, shop) == [(EARN, 100), ("refund:978123456803:clawback", -10)]


def test_refunds_of_more_than_was_paid_never_take_back_more_than_the_order_earned(client, t, shop):
    deliver(client, t, "orders/paid", earn_payload("orders_paid_taxes_included"))
    deliver(client, t, "refunds/create", earn_payload("refund_partial_price"))
    generous = earn_payload("refund_amount_only")
    generous["order_adjustments"][0]["amount_set"]["shop_money"]["amount"] = "-500.00"
    deliver(client, t, "refunds/create", generous)
    assert ledger(t, shop) == [(EARN, 90), ("refund:978123456802:clawback", -26),
                               ("refund:978123456801:clawback", -64)]
    assert balance(t, shop).balance == 0


def test_order_edit_removing_an_item_takes_back_its_points_once(client, t, shop):
    deliver(client, t, "orders/paid", earn_payload("orders_paid_taxes_excluded"))
    edited = earn_payload("orders_updated_edit_removed_hoodie")
    deliver(client, t, "orders/updated", edited)
    deliver(client, t, "orders/updated", copy.deepcopy(edited))  # redelivered
    deliver(client, t, "orders/paid", earn_payload("orders_paid_taxes_excluded"))  # stale, from before the edit
    assert ledger(t, shop) == [(EARN, 90), (EDIT, -45)]
    assert entries(t, shop)[-1].reason == "Order #1042 edited: earning base $90.00 -> $45.00 = -45 points"


def test_order_edit_adding_an_item_awards_the_difference(client, t, shop):
    deliver(client, t, "orders/paid", earn_payload("orders_paid_taxes_excluded"))
    deliver(client, t, "orders/updated", earn_payload("orders_updated_edit_added_cap"))
    assert ledger(t, shop) == [(EARN, 90), (EDIT, 30)]
    assert balance(t, shop).balance == 120


def test_order_first_seen_after_an_edit_earns_on_what_it_holds(client, t, shop):
    deliver(client, t, "orders/updated", earn_payload("orders_updated_edit_removed_hoodie"))
    deliver(client, t, "orders/paid", earn_payload("orders_paid_taxes_excluded"))  # older
    assert ledger(t, shop) == [(EARN, 45)]


def test_refund_after_an_edit_is_measured_against_the_edited_base(client, t, shop):
    deliver(client, t, "orders/paid", earn_payload("orders_paid_taxes_excluded"))
    deliver(client, t, "orders/updated", earn_payload("orders_updated_edit_added_cap"))
    # 28.00 of the 145.60 now paid for goods, shipping and tax: 23.08 of the 120.00 subtotal
    deliver(client, t, "refunds/create", earn_payload("refund_amount_only"))
    assert ledger(t, shop)[-1] == ("refund:978123456801:clawback", -23)
