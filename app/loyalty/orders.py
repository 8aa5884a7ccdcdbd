"""What an order and a refund mean for points, read from Shopify's REST-shaped payloads
(webhooks, and reconciliation after converting GraphQL results to the same shape).

All amounts are the shop-currency amounts (`shop_money`), so an order paid in any currency
earns in the shop's currency. Gift-card lines never earn: they are money, not a purchase.

Bases are kept without tax: in a store whose prices include tax (`taxes_included`), the tax
contained in each line (its `tax_lines`) and in shipping is taken out of the line and shipping
amounts, so every base counts the tax once, as its own part. Quantities are what the order
holds after edits: Shopify's `current_quantity` leaves out units removed by an order edit and
units refunded; refunded units are added back because their refunds take points back themselves.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

from app.loyalty.errors import InvalidInput
from app.loyalty.money import to_minor

PAID_STATUSES = {"paid", "partially_refunded", "refunded"}
REFERRAL_ATTRIBUTES = ("tessera_ref", "referral_code", "ref")


@dataclass(frozen=True)
class EarningBases:
    """The amounts an earning rule can apply to, in shop-currency minor units."""

    merchandise_minor: int  # line items after discounts, gift cards excluded, without tax
    shipping_minor: int  # shipping after shipping discounts, without tax
    tax_minor: int  # all tax charged, lines and shipping

    def for_rule(self, base: str) -> int:
        return {"subtotal": self.merchandise_minor,
                "subtotal_with_shipping": self.merchandise_minor + self.shipping_minor,
                "subtotal_with_tax": self.merchandise_minor + self.tax_minor,
                "total": self.merchandise_minor + self.shipping_minor + self.tax_minor}[base]


@dataclass(frozen=True)
class RefundFacts:
    """One refund as Shopify describes it. `bases` holds the refunded line subtotals, shipping and
    tax as given: line and shipping subtotals contain their tax when the order's prices include
    tax (the refund payload does not say so; the order does, see clawback.refunded_parts)."""

    refund_id: int
    order_id: int
    currency: str
    bases: EarningBases
    refunded_at: datetime | None
    shipping_tax_minor: int = 0  # the part of bases.tax_minor charged on shipping
    # Money refunded beyond the lines and shipping above (negative: refunded for less than their
    # price), from the refund's `refund_discrepancy` order adjustments; an amount-only refund has
    # no lines at all and only this.
    discrepancy_minor: int = 0
    # variant id -> units this refund gave back (paid memberships give back their months)
    variant_units: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderFacts:
    order_id: int
    name: str | None
    currency: str
    customer_id: int | None
    customer_email: str | None
    customer_first_name: str | None
    customer_last_name: str | None
    is_test: bool
    financial_status: str | None
    fulfillment_status: str | None
    paid: bool
    fulfilled: bool
    cancelled_at: datetime | None
    processed_at: datetime | None
    updated_at: datetime | None
    bases: EarningBases
    subtotal_minor: int
    total_minor: int
    taxes_included: bool = False
    # product id -> merchandise base of its lines (campaigns limited to products)
    product_bases: dict[int, int] = field(default_factory=dict)
    discount_codes: tuple[str, ...] = ()
    referral_code: str | None = None
    accepts_marketing: bool = False
    refunds: tuple[RefundFacts, ...] = ()
    # variant id -> units ordered (after edits; refunds are in RefundFacts.variant_units)
    variant_units: dict[int, int] = field(default_factory=dict)

    @property
    def fully_refunded(self) -> bool:
        return self.financial_status == "refunded"

    def to_json(self) -> dict[str, Any]:
        """What the Order row keeps of the facts (for later recomputation and analytics)."""
        return {"bases": [self.bases.merchandise_minor, self.bases.shipping_minor, self.bases.tax_minor],
                "product_bases": {str(k): v for k, v in self.product_bases.items()},
                "taxes_included": self.taxes_included,
                "variant_units": {str(k): v for k, v in self.variant_units.items()}}
    source_name: str | None = None  # "web", "pos", an app's id
    location_id: int | None = None  # the store location of a POS sale


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _shop_money(money_set: Any, fallback: Any, currency: str) -> int:
    if isinstance(money_set, dict) and isinstance(money_set.get("shop_money"), dict):
        return to_minor(money_set["shop_money"].get("amount"), currency)
    return to_minor(fallback, currency)


def _id(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} is missing or not a number") from None


def _money_sum(items: Any, key: str, fallback: str, currency: str) -> int:
    return sum(_shop_money(i.get(key), i.get(fallback), currency) for i in items or [])


def _refunded_quantities(payload: dict) -> dict[int, int]:
    """line item id -> units refunded by the refunds embedded in the order."""
    refunded: dict[int, int] = {}
    for refund in payload.get("refunds") or []:
        for item in refund.get("refund_line_items") or []:
            if item.get("line_item_id") is not None:
                line_id = _units(item["line_item_id"], "refund line item's line_item_id")
                refunded[line_id] = refunded.get(line_id, 0) + _units(item.get("quantity"), "refunded quantity")
    return refunded


@dataclass(frozen=True)
class _Line:
    base_minor: int  # after discounts, without tax, for the units the order still holds
    tax_minor: int  # the tax charged on those units


def _units(value: Any, what: str) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} is not a whole number: {value!r}") from None


def _held_units(line: dict, refunded: dict[int, int]) -> tuple[int, int]:
    """(units ordered, units the order holds after edits)."""
    ordered = _units(line.get("quantity"), "line item quantity")
    if line.get("current_quantity") is None:
        return ordered, ordered
    held = _units(line["current_quantity"], "line item current_quantity")
    held += refunded.get(_units(line.get("id"), "line item id"), 0)
    return ordered, max(0, min(ordered, held))


def _share(amount_minor: int, held: int, ordered: int) -> int:
    """The held units' part of a line amount (exact when nothing was removed)."""
    if held == ordered or ordered == 0:
        return amount_minor
    return amount_minor * held // ordered


def _line(line: dict, currency: str, *, taxes_included: bool, refunded: dict[int, int]) -> _Line:
    ordered, held = _held_units(line, refunded)
    price = _shop_money(line.get("price_set"), line.get("price"), currency)
    discounts = _money_sum(line.get("discount_allocations"), "amount_set", "amount", currency)
    tax = _money_sum(line.get("tax_lines"), "price_set", "price", currency)
    after_discounts = price * ordered - discounts - (tax if taxes_included else 0)
    return _Line(_share(after_discounts, held, ordered), _share(tax, held, ordered))


def _merchandise(payload: dict, currency: str, taxes_included: bool) -> tuple[int, dict[int, int], int]:
    """(merchandise base, product id -> its base, tax charged on the lines)."""
    total, by_product, line_tax = 0, {}, 0
    refunded = _refunded_quantities(payload)
    for item in payload.get("line_items") or []:
        if item.get("gift_card"):
            continue
        line = _line(item, currency, taxes_included=taxes_included, refunded=refunded)
        total += line.base_minor
        line_tax += line.tax_minor
        if item.get("product_id"):
            by_product[int(item["product_id"])] = by_product.get(int(item["product_id"]), 0) + line.base_minor
    return total, by_product, line_tax


def _shipping(payload: dict, currency: str, taxes_included: bool) -> tuple[int, int]:
    """(shipping after discounts without tax, tax charged on shipping)."""
    lines = payload.get("shipping_lines")
    if lines is None:
        return _shop_money(payload.get("total_shipping_price_set"), None, currency), 0
    shipping = tax = 0
    for line in lines:
        line_tax = _money_sum(line.get("tax_lines"), "price_set", "price", currency)
        shipping += (_shop_money(line.get("price_set"), line.get("price"), currency)
                     - _money_sum(line.get("discount_allocations"), "amount_set", "amount", currency)
                     - (line_tax if taxes_included else 0))
        tax += line_tax
    return shipping, tax


def _has_tax_lines(payload: dict) -> bool:
    lines = (payload.get("line_items") or []) + (payload.get("shipping_lines") or [])
    return any(line.get("tax_lines") for line in lines)


def _bases(payload: dict, currency: str, taxes_included: bool) -> tuple[EarningBases, dict[int, int]]:
    merchandise, by_product, line_tax = _merchandise(payload, currency, taxes_included)
    shipping, shipping_tax = _shipping(payload, currency, taxes_included)
    # `total_tax` is the tax at checkout; the lines' own tax follows order edits (an added line
    # brings its tax, a removed unit takes its tax away), so it is preferred when Shopify sends it.
    tax = line_tax + shipping_tax if _has_tax_lines(payload) else \
        _shop_money(payload.get("total_tax_set"), payload.get("total_tax"), currency)
    return EarningBases(merchandise, shipping, tax), by_product


def _referral_code(payload: dict) -> str | None:
    for attribute in payload.get("note_attributes") or []:
        if (attribute.get("name") or "").lower() in REFERRAL_ATTRIBUTES and attribute.get("value"):
            return str(attribute["value"]).strip().upper()[:64]
    for site in (payload.get("landing_site"), payload.get("landing_site_ref")):
        if site:
            values = parse_qs(urlparse(str(site)).query)
            for key in REFERRAL_ATTRIBUTES:
                if values.get(key):
                    return values[key][0].strip().upper()[:64]
    return None


def parse_order(payload: dict, *, topic: str | None = None) -> OrderFacts:
    currency = payload.get("currency") or "USD"
    customer = payload.get("customer") or {}
    taxes_included = bool(payload.get("taxes_included"))
    bases, by_product = _bases(payload, currency, taxes_included)
    financial_status = payload.get("financial_status")
    order_id = _id(payload.get("id"), "order id")
    return OrderFacts(
        order_id=order_id, name=payload.get("name"), currency=currency,
        customer_id=int(customer["id"]) if customer.get("id") else None,
        customer_email=customer.get("email") or payload.get("email"),
        customer_first_name=customer.get("first_name"), customer_last_name=customer.get("last_name"),
        is_test=bool(payload.get("test")), financial_status=financial_status,
        fulfillment_status=payload.get("fulfillment_status"),
        paid=financial_status in PAID_STATUSES or topic == "orders/paid",
        fulfilled=payload.get("fulfillment_status") == "fulfilled" or topic == "orders/fulfilled",
        cancelled_at=parse_time(payload.get("cancelled_at")), processed_at=parse_time(payload.get("processed_at")),
        updated_at=parse_time(payload.get("updated_at")),
        bases=bases,
        subtotal_minor=_shop_money(payload.get("subtotal_price_set"), payload.get("subtotal_price"), currency),
        total_minor=_shop_money(payload.get("total_price_set"), payload.get("total_price"), currency),
        taxes_included=taxes_included,
        product_bases=by_product,
        discount_codes=tuple(str(d.get("code", "")).upper() for d in payload.get("discount_codes") or []
                             if d.get("code")),
        referral_code=_referral_code(payload), accepts_marketing=bool(payload.get("buyer_accepts_marketing")),
        refunds=tuple(parse_refund(r, currency=currency, line_variants=_line_variants(payload))
                      for r in payload.get("refunds") or []),
        variant_units=_variant_units(payload),
        source_name=str(payload["source_name"])[:64] if payload.get("source_name") else None,
        location_id=_location_id(payload.get("location_id")),
    )


def _line_variants(payload: dict) -> dict[int, int]:
    return {int(line["id"]): int(line["variant_id"]) for line in payload.get("line_items") or []
            if line.get("id") and line.get("variant_id")}


def _variant_units(payload: dict) -> dict[int, int]:
    """variant id -> units ordered after edits (refunded units are counted by the refunds)."""
    refunded = _refunded_quantities(payload)
    units: dict[int, int] = {}
    for line in payload.get("line_items") or []:
        if line.get("variant_id"):
            _, held = _held_units(line, refunded)
            units[int(line["variant_id"])] = units.get(int(line["variant_id"]), 0) + held
    return units


def _refunded_variants(payload: dict, line_variants: dict[int, int]) -> dict[int, int]:
    units: dict[int, int] = {}
    for item in payload.get("refund_line_items") or []:
        line = item.get("line_item") or {}
        variant = line.get("variant_id") or line_variants.get(_units(item.get("line_item_id"), "line_item_id"))
        if variant:
            units[int(variant)] = units.get(int(variant), 0) + _units(item.get("quantity"), "refunded quantity")
    return units


def parse_refund(payload: dict, *, currency: str | None = None, line_variants: dict[int, int] | None = None
                 ) -> RefundFacts:
    currency = currency or _refund_currency(payload)
    merchandise = tax = 0
    for item in payload.get("refund_line_items") or []:
        if (item.get("line_item") or {}).get("gift_card"):
            continue
        merchandise += _shop_money(item.get("subtotal_set"), item.get("subtotal"), currency)
        tax += _shop_money(item.get("total_tax_set"), item.get("total_tax"), currency)
    shipping = shipping_tax = 0
    for line in payload.get("refund_shipping_lines") or []:
        shipping += _shop_money(line.get("subtotal_amount_set"), None, currency)
        shipping_tax += _shop_money(line.get("tax_amount_set"), None, currency)
    discrepancy = 0
    for adjustment in payload.get("order_adjustments") or []:
        amount = _shop_money(adjustment.get("amount_set"), adjustment.get("amount"), currency)
        if adjustment.get("kind") == "shipping_refund":  # older API versions refund shipping here
            shipping += abs(amount)
        elif adjustment.get("kind") == "refund_discrepancy":
            # Shopify books what was refunded short of the calculated amount as a positive
            # adjustment, and money refunded beyond it (an amount-only refund) as a negative one.
            discrepancy -= amount + _shop_money(adjustment.get("tax_amount_set"), adjustment.get("tax_amount"),
                                                currency)
    return RefundFacts(refund_id=_id(payload.get("id"), "refund id"), order_id=_id(payload.get("order_id"), "order id"),
                       currency=currency, bases=EarningBases(merchandise, shipping, tax + shipping_tax),
                       refunded_at=parse_time(payload.get("processed_at") or payload.get("created_at")),
                       shipping_tax_minor=shipping_tax, discrepancy_minor=discrepancy,
                       variant_units=_refunded_variants(payload, line_variants or {}))


def _refund_currency(payload: dict) -> str:
    for item in payload.get("refund_line_items") or []:
        money = ((item.get("subtotal_set") or {}).get("shop_money") or {})
        if money.get("currency_code"):
            return money["currency_code"]
    for adjustment in payload.get("order_adjustments") or []:  # an amount-only refund has only these
        money = ((adjustment.get("amount_set") or {}).get("shop_money") or {})
        if money.get("currency_code"):
            return money["currency_code"]
    money = ((payload.get("total_duties_set") or {}).get("shop_money") or {})
    return money.get("currency_code") or "USD"


def _location_id(value: Any) -> int | None:
    """Shopify sends null for online orders; anything but a positive id is no location."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2 ** 63 else None
