"""Reward rules without a database: what a code asks Shopify for and what the shopper reads."""
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from app.loyalty.errors import RewardUnavailable
from app.loyalty.rewards import RewardSpec, combination_text, combines_with, terms_for, validate_reward
from app.shopify.discounts import is_our_credit

SPEC = RewardSpec(id=1, name="Free shipping", kind="free_shipping", points_cost=300, value=None, min_subtotal=None,
                  code_expiry_days=30, combines_with_order=True, combines_with_product=False,
                  combines_with_shipping=True, tier_keys=None, per_member_limit=None, variant_id=None,
                  points_per_unit=None, min_points=None, max_points=None, code_prefix=None, enabled=True)


def test_free_shipping_never_asks_to_combine_with_other_shipping_discounts():
    assert combines_with(SPEC) == {"orderDiscounts": True, "productDiscounts": False, "shippingDiscounts": False}
    assert combines_with(replace(SPEC, kind="amount_off"))["shippingDiscounts"] is True
    assert validate_reward({"kind": "free_shipping", "name": "Ship", "points_cost": 300,
                            "combines_with_shipping": True})["combines_with_shipping"] is False


def test_the_combination_text_says_what_shopify_will_do():
    assert combination_text(SPEC) == ("Can be combined with order discounts that allow it too; not with other "
                                      "shipping discounts. Only one shipping discount applies per order.")
    alone = replace(SPEC, combines_with_order=False)
    assert combination_text(alone) == ("Cannot be combined with other discounts. "
                                       "Only one shipping discount applies per order.")
    everything = replace(SPEC, kind="amount_off", value=Decimal(5), combines_with_product=True)
    assert combination_text(everything) == "Can be combined with other discounts that allow it too."


def test_a_free_product_is_worth_its_price_at_redemption_not_the_catalog_value():
    socks = replace(SPEC, kind="free_product", value=Decimal("22.00"), variant_id=44123456789315)
    assert terms_for(socks, "USD", variant_price=Decimal("26.00")).value == Decimal("26.00")
    with pytest.raises(RewardUnavailable):
        terms_for(socks, "USD", variant_price=None)


def test_a_store_credit_is_recognised_by_amount_currency_expiry_and_time():
    since = datetime(2025, 2, 14, 14, 59, tzinfo=timezone.utc)
    asked = {"id": "gid://shopify/Customer/1", "creditInput": {
        "creditAmount": {"amount": "10.00", "currencyCode": "USD"}, "expiresAt": "2025-05-15T15:00:00Z"}}
    credit = {"id": "gid://shopify/StoreCreditAccountCreditTransaction/9", "createdAt": "2025-02-14T15:00:02Z",
              "expiresAt": "2025-05-15T15:00:00Z", "amount": {"amount": "10.0", "currencyCode": "USD"}}
    assert is_our_credit(credit, asked, since)
    assert not is_our_credit({**credit, "createdAt": "2025-02-14T14:00:00Z"}, asked, since)
    assert not is_our_credit({**credit, "amount": {"amount": "10.0", "currencyCode": "EUR"}}, asked, since)
    assert not is_our_credit({**credit, "expiresAt": None}, asked, since)
