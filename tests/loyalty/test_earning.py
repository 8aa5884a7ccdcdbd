"""Points for orders: the earning base, rounding, currencies, campaigns, tier multipliers."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from app.loyalty.earning import points_for_order
from app.loyalty.orders import parse_order
from app.loyalty.program import Campaign, Program, parse_program
from tests.support import payload

AT = datetime(2025, 2, 14, 15, 0, tzinfo=timezone.utc)


def order(**changes) -> dict:
    body = payload("orders/paid")
    body.update(changes)
    return body


def earn(program: Program, body: dict | None = None, tier=None):
    return points_for_order(program, parse_order(body or order()), tier=tier, at=AT)


def test_default_program_earns_one_point_per_unit_on_merchandise_after_discounts_without_gift_cards():
    # 2 hoodies x 60.00 - 10.00 code = 110.00; the 25.00 gift card, shipping and tax never earn
    result = earn(Program())
    assert result.points == 110
    assert result.reason.text == "1 point per $1 on $110.00 subtotal = 110 points"


@pytest.mark.parametrize("base, points", [("subtotal", 110), ("subtotal_with_shipping", 118),
                                          ("subtotal_with_tax", 125), ("total", 133)])
def test_owner_chooses_the_base(base, points):
    # shipping 8.00, tax 15.34: 110 + 8 = 118; 110 + 15.34 = 125.34 -> 125; 133.34 -> 133
    assert earn(parse_program({"earning": {"base": base}})).points == points


@pytest.mark.parametrize("rounding, points", [("down", 275), ("nearest", 276), ("up", 276)])
def test_rounding_rule_is_applied_once_at_the_end(rounding, points):
    program = parse_program({"earning": {"points_per_unit": "2.5", "rounding": rounding}, "campaigns": []})
    body = order()
    body["line_items"][0]["price_set"]["shop_money"]["amount"] = "60.10"  # 120.20 - 10 = 110.20 x 2.5 = 275.5
    assert earn(program, body).points == points


def test_order_paid_in_another_currency_earns_on_shop_currency_amounts():
    # The buyer paid in USD (presentment); points use the CAD shop money amounts.
    assert earn(Program()).details["currency"] == "CAD" and earn(Program()).base_minor == 11000


def test_zero_decimal_currency():
    body = order(currency="JPY")
    for line in body["line_items"]:
        line["price_set"]["shop_money"] = {"amount": "6000", "currency_code": "JPY"}
        for allocation in line["discount_allocations"]:
            allocation["amount_set"]["shop_money"] = {"amount": "1000", "currency_code": "JPY"}
    program = parse_program({"earning": {"points_per_unit": "0.01"}})
    assert earn(program, body).points == 110  # (12000 - 1000) yen / 100


def test_campaign_multiplier_and_bonus_and_tier_multiply_with_an_explained_reason():
    program = parse_program({"campaigns": [{"key": "bf", "name": "Black Friday", "starts_at": "2025-02-01T00:00:00Z",
                                            "ends_at": "2025-03-01T00:00:00Z", "multiplier": "2",
                                            "bonus_points": 50}],
                             "tiers": {"enabled": True}})
    result = earn(program, tier=program.tier("gold"))
    assert result.points == 110 * 2 * 3 // 2 + 50
    assert result.reason.text == ("1 point per $1 on $110.00 subtotal, Black Friday x2, Black Friday +50 points, "
                             "Gold x1.5 = 380 points")


def test_campaign_outside_its_dates_or_tier_does_not_apply():
    later = {"key": "later", "name": "Later", "starts_at": "2025-03-01T00:00:00Z", "ends_at": "2025-04-01T00:00:00Z",
             "multiplier": "3"}
    gold_only = {"key": "vip", "name": "VIP week", "starts_at": "2025-02-01T00:00:00Z",
                 "ends_at": "2025-03-01T00:00:00Z", "multiplier": "3", "tier_keys": ["gold"]}
    assert earn(parse_program({"campaigns": [later, gold_only]})).points == 110


def test_product_campaign_multiplies_only_the_eligible_lines():
    hoodie = {"key": "hoodies", "name": "Hoodie days", "starts_at": "2025-02-01T00:00:00Z",
              "ends_at": "2025-03-01T00:00:00Z", "multiplier": "3", "product_ids": [8123456789012]}
    other = dict(hoodie, key="mugs", name="Mug days", product_ids=[1])
    assert earn(parse_program({"campaigns": [hoodie]})).points == 330
    assert earn(parse_program({"campaigns": [other]})).points == 110


def test_campaign_needs_a_timezone_and_an_effect():
    from app.loyalty.errors import InvalidInput
    with pytest.raises(InvalidInput) as caught:
        parse_program({"campaigns": [{"key": "x", "name": "X", "starts_at": "2025-02-01T00:00:00",
                                      "ends_at": "2025-03-01T00:00:00Z"}]})
    assert "campaigns.0" in caught.value.fields


def test_campaign_is_active_half_open_interval():
    c = Campaign(key="c", name="C", starts_at=AT, ends_at=AT.replace(hour=16), bonus_points=1)
    assert c.is_active(AT) and not c.is_active(AT.replace(hour=16))


def test_points_per_unit_is_exact_decimal():
    program = parse_program({"earning": {"points_per_unit": "0.1"}})
    assert program.earning.points_per_unit == Decimal("0.1") and earn(program).points == 11
