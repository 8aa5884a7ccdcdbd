"""Loyalty at checkout: the points a cart will earn, and whether a reward's code can go on it.

The cart is read as the checkout UI extension sees it (its lines, subtotal, shipping and tax,
in the buyer's currency) and earned on with the order rules in earning.py, so the promise made
at checkout is the rule the order webhook applies later. Bonuses that depend on the member's
order history (first order, streaks) are left out: the estimate never promises more.
"""
from __future__ import annotations

from dataclasses import dataclass
from app.loyalty.errors import InvalidInput
from app.loyalty.money import InvalidAmount, format_money, to_minor
from app.loyalty.orders import EarningBases, OrderFacts
from app.loyalty.rewards import RewardSpec, combines_with

# Codes at checkout are discount codes; store credit is spent at payment, not as a code.
CODE_KINDS = ("amount_off", "percent_off", "free_shipping", "free_product", "points_slider")


@dataclass(frozen=True)
class CartLine:
    product_id: int | None
    amount_minor: int


@dataclass(frozen=True)
class Cart:
    currency: str
    lines: tuple[CartLine, ...]
    subtotal_minor: int
    shipping_minor: int
    tax_minor: int


def _minor(value, field: str, currency: str) -> int:
    try:
        amount = to_minor(value, currency)
    except InvalidAmount:
        raise InvalidInput(f"'{field}' must be an amount such as \"54.00\".", {field: "an amount"}) from None
    if amount < 0:
        raise InvalidInput(f"'{field}' cannot be negative.", {field: "zero or more"})
    return amount


def _product_id(value) -> int | None:
    """Product GIDs as the checkout has them (`gid://shopify/Product/123`), or plain ids."""
    text = str(value or "").rsplit("/", 1)[-1]
    return int(text) if text.isdigit() and len(text) <= 19 else None


def parse_cart(body: dict, currency: str) -> Cart:
    lines = body.get("lines") or []
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise InvalidInput("'lines' must be a list of {product_id, amount}.", {"lines": "a list of lines"})
    parsed = tuple(CartLine(_product_id(line.get("product_id")), _minor(line.get("amount"), "lines.amount", currency))
                   for line in lines)
    subtotal = body.get("subtotal")
    return Cart(currency=currency, lines=parsed,
                subtotal_minor=_minor(subtotal, "subtotal", currency) if subtotal not in (None, "")
                else sum(line.amount_minor for line in parsed),
                shipping_minor=_minor(body.get("shipping"), "shipping", currency),
                tax_minor=_minor(body.get("tax"), "tax", currency))


def cart_facts(cart: Cart) -> OrderFacts:
    """The cart as the order it would become (unpaid, unsaved: id 0)."""
    product_bases: dict[int, int] = {}
    for line in cart.lines:
        if line.product_id is not None:
            product_bases[line.product_id] = product_bases.get(line.product_id, 0) + line.amount_minor
    bases = EarningBases(merchandise_minor=cart.subtotal_minor, shipping_minor=cart.shipping_minor,
                         tax_minor=cart.tax_minor)
    return OrderFacts(order_id=0, name=None, currency=cart.currency, customer_id=None, customer_email=None,
                      customer_first_name=None, customer_last_name=None, is_test=False, financial_status=None,
                      fulfillment_status=None, paid=False, fulfilled=False, cancelled_at=None, processed_at=None,
                      updated_at=None, bases=bases, subtotal_minor=cart.subtotal_minor,
                      total_minor=cart.subtotal_minor + cart.shipping_minor + cart.tax_minor,
                      product_bases=product_bases)


def checkout_refusal(spec: RewardSpec, cart: Cart, applied_codes: list[str]) -> tuple[str, str] | None:
    """(code, message) when the reward's code cannot go on this checkout, else None."""
    if spec.kind not in CODE_KINDS:
        return "not_a_code", "Store credit is not a discount code; use it at payment instead."
    minimum = None if spec.min_subtotal is None else to_minor(spec.min_subtotal, cart.currency)
    if minimum is not None and cart.subtotal_minor < minimum:
        return "below_minimum", (f"This reward needs a subtotal of {format_money(minimum, cart.currency)}; add "
                                 f"{format_money(minimum - cart.subtotal_minor, cart.currency)} more to use it.")
    if applied_codes and not any(combines_with(spec).values()):
        return "does_not_combine", ("This reward cannot be combined with other discounts; remove "
                                    f"{', '.join(applied_codes)} first to use it.")
    return None

