"""Earning bases and take-backs follow the money: tax once, edits, amount-only and partial refunds."""
import pytest

from app.loyalty.errors import InvalidInput
from app.loyalty.orders import EarningBases, parse_order, parse_refund
from app.loyalty.settlement import EarnedOrder, refund_take_back
from tests.fixtures.earn import earn_payload
from tests.support import payload

INCLUDED = earn_payload("orders_paid_taxes_included")


def _earned(points=90, base_kind="subtotal", order=INCLUDED) -> EarnedOrder:
    facts = parse_order(order)
    return EarnedOrder(points=points, base_minor=facts.bases.for_rule(base_kind), base_kind=base_kind,
                       order_bases=facts.bases, taxes_included=facts.taxes_included)


def test_tax_inclusive_subtotal_leaves_out_the_tax_contained_in_line_prices():
    facts = parse_order(INCLUDED)
    assert facts.taxes_included
    assert facts.bases == EarningBases(9000, 1000, 1200)  # 100.80 - 10.80 tax; 11.20 - 1.20 tax; tax once


def test_the_same_sale_has_the_same_bases_whether_prices_include_tax_or_not():
    included, excluded = parse_order(INCLUDED), parse_order(earn_payload("orders_paid_taxes_excluded"))
    assert included.bases == excluded.bases
    for facts in (included, excluded):  # "total" is what was paid for goods and shipping, tax counted once
        assert facts.bases.for_rule("total") == facts.total_minor - 2500  # less the gift card
        assert facts.bases.for_rule("subtotal_with_tax") == 10200


def test_units_refunded_still_count_in_the_base_their_refund_takes_back():
    # orders/updated after a refund: current_quantity 1 of 2, the refund holds the other unit
    assert parse_order(payload("orders/updated")).bases == parse_order(payload("orders/paid")).bases


def test_units_removed_by_an_order_edit_do_not_earn():
    facts = parse_order(earn_payload("orders_updated_edit_removed_hoodie"))
    assert facts.bases == EarningBases(4500, 1000, 540 + 120)  # one hoodie of two, and its tax


def test_a_line_added_by_an_order_edit_earns_with_its_tax():
    facts = parse_order(earn_payload("orders_updated_edit_added_cap"))
    assert facts.bases == EarningBases(12000, 1000, 1200 + 360)
    assert facts.product_bases[8123456789099] == 3000


def test_refund_discrepancies_are_read_as_money_refunded_beyond_the_items():
    amount_only = parse_refund(earn_payload("refund_amount_only"))
    assert amount_only.bases == EarningBases(0, 0, 0) and amount_only.discrepancy_minor == 2800
    partial = parse_refund(earn_payload("refund_partial_price"))
    assert partial.bases == EarningBases(5040, 0, 540) and partial.discrepancy_minor == -2040


def test_amount_only_refund_takes_back_its_share_of_the_base_rounded_for_the_member():
    # 28.00 of the 112.00 paid for goods, shipping and tax: 22.50 of the 90.00 subtotal -> 22.5 points
    take_back = refund_take_back(parse_refund(earn_payload("refund_amount_only")), _earned(), already_taken=0)
    assert (take_back.points, take_back.refunded_minor) == (22, 2250)


def test_item_refunded_for_less_than_its_price_takes_back_what_the_money_says():
    # 30.00 refunded of the 50.40 the hoodie cost with tax: 45.00 x 30/50.40 = 26.79 of the subtotal
    take_back = refund_take_back(parse_refund(earn_payload("refund_partial_price")), _earned(), already_taken=0)
    assert take_back.points == 26 and take_back.refunded_minor == 2679


def test_shipping_refund_takes_back_only_when_the_base_includes_shipping():
    refund = parse_refund(earn_payload("refund_shipping_only"))
    assert refund_take_back(refund, _earned(), already_taken=0).points == 0
    with_shipping = refund_take_back(refund, _earned(100, "subtotal_with_shipping"), already_taken=0)
    assert (with_shipping.points, with_shipping.refunded_minor) == (10, 1000)
    total = refund_take_back(refund, _earned(112, "total"), already_taken=0)
    assert (total.points, total.refunded_minor) == (11, 1120)  # 10.00 shipping + 1.20 of its tax


def test_take_backs_together_never_exceed_what_the_order_earned():
    refund = parse_refund(earn_payload("refund_amount_only"))
    over = refund.__class__(**{**refund.__dict__, "discrepancy_minor": 50000})  # more than was paid
    assert refund_take_back(over, _earned(), already_taken=0).points == 90
    assert refund_take_back(over, _earned(), already_taken=80).points == 10


def test_refund_of_the_reference_order_still_takes_back_its_item_share():
    earned = _earned(110, order=payload("orders/paid"))
    take_back = refund_take_back(parse_refund(payload("refunds/create")), earned, already_taken=0)
    assert (take_back.points, take_back.refunded_minor) == (55, 5500)


def test_amount_only_refund_in_yen_is_read_in_yen():
    refund = earn_payload("refund_amount_only")
    del refund["total_duties_set"]
    refund["order_adjustments"][0]["amount_set"]["shop_money"] = {"amount": "-2800", "currency_code": "JPY"}
    facts = parse_refund(refund)
    assert (facts.currency, facts.discrepancy_minor) == ("JPY", 2800)


def test_a_quantity_that_is_not_a_number_is_refused_as_invalid_input():
    body = earn_payload("orders_updated_edit_removed_hoodie")
    body["line_items"][0]["current_quantity"] = "one"
    with pytest.raises(InvalidInput, match="current_quantity"):
        parse_order(body)
