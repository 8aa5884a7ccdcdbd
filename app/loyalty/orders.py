"""What an order and a refund mean for points, read from Shopify's REST-shaped payloads
(webhooks, and reconciliation after converting GraphQL results to the same shape).

All amounts are the shop-currency amounts (`shop_money`), so an order paid in any currency
earns in the shop's currency. Gift-card lines never earn: they are money, not a purchase.
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

    merchandise_minor: int  # line items after discounts, gift cards excluded
    shipping_minor: int  # shipping after shipping discounts
    tax_minor: int

    def for_rule(self, base: str) -> int:
        return {"subtotal": self.merchandise_minor,
                "subtotal_with_shipping": self.merchandise_minor + self.shipping_minor,
                "subtotal_with_tax": self.merchandise_minor + self.tax_minor,
                "total": self.merchandise_minor + self.shipping_minor + self.tax_minor}[base]


@dataclass(frozen=True)
class RefundFacts:
    refund_id: int
    order_id: int
    currency: str
    bases: EarningBases
    refunded_at: datetime | None


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
    # product id -> merchandise base of its lines (campaigns limited to products)
    product_bases: dict[int, int] = field(default_factory=dict)
    discount_codes: tuple[str, ...] = ()
    referral_code: str | None = None
    accepts_marketing: bool = False
    refunds: tuple[RefundFacts, ...] = ()

    @property
    def fully_refunded(self) -> bool:
        return self.financial_status == "refunded"

    def to_json(self) -> dict[str, Any]:
        """What the Order row keeps of the facts (for later recomputation and analytics)."""
        return {"bases": [self.bases.merchandise_minor, self.bases.shipping_minor, self.bases.tax_minor],
                "product_bases": {str(k): v for k, v in self.product_bases.items()}}


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


def _line_base(line: dict, currency: str) -> int:
    price = _shop_money(line.get("price_set"), line.get("price"), currency)
    discounts = sum(_shop_money(a.get("amount_set"), a.get("amount"), currency)
                    for a in line.get("discount_allocations") or [])
    return price * int(line.get("quantity") or 0) - discounts


def _merchandise(payload: dict, currency: str) -> tuple[int, dict[int, int]]:
    total, by_product = 0, {}
    for line in payload.get("line_items") or []:
        if line.get("gift_card"):
            continue
        base = _line_base(line, currency)
        total += base
        if line.get("product_id"):
            by_product[int(line["product_id"])] = by_product.get(int(line["product_id"]), 0) + base
    return total, by_product


def _shipping(payload: dict, currency: str) -> int:
    lines = payload.get("shipping_lines")
    if lines is None:
        return _shop_money(payload.get("total_shipping_price_set"), None, currency)
    return sum(_shop_money(s.get("price_set"), s.get("price"), currency)
               - sum(_shop_money(a.get("amount_set"), a.get("amount"), currency)
                     for a in s.get("discount_allocations") or [])
               for s in lines)


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
    merchandise, by_product = _merchandise(payload, currency)
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
        bases=EarningBases(merchandise, _shipping(payload, currency),
                           _shop_money(payload.get("total_tax_set"), payload.get("total_tax"), currency)),
        subtotal_minor=_shop_money(payload.get("subtotal_price_set"), payload.get("subtotal_price"), currency),
        total_minor=_shop_money(payload.get("total_price_set"), payload.get("total_price"), currency),
        product_bases=by_product,
        discount_codes=tuple(str(d.get("code", "")).upper() for d in payload.get("discount_codes") or []
                             if d.get("code")),
        referral_code=_referral_code(payload), accepts_marketing=bool(payload.get("buyer_accepts_marketing")),
        refunds=tuple(parse_refund(r, currency=currency) for r in payload.get("refunds") or []),
    )


def parse_refund(payload: dict, *, currency: str | None = None) -> RefundFacts:
    currency = currency or _refund_currency(payload)
    merchandise = tax = 0
    for item in payload.get("refund_line_items") or []:
        if (item.get("line_item") or {}).get("gift_card"):
            continue
        merchandise += _shop_money(item.get("subtotal_set"), item.get("subtotal"), currency)
        tax += _shop_money(item.get("total_tax_set"), item.get("total_tax"), currency)
    shipping = 0
    for line in payload.get("refund_shipping_lines") or []:
        shipping += _shop_money(line.get("subtotal_amount_set"), None, currency)
        tax += _shop_money(line.get("tax_amount_set"), None, currency)
    for adjustment in payload.get("order_adjustments") or []:  # older API versions refund shipping here
        if adjustment.get("kind") == "shipping_refund":
            shipping += abs(_shop_money(adjustment.get("amount_set"), adjustment.get("amount"), currency))
    return RefundFacts(refund_id=_id(payload.get("id"), "refund id"), order_id=_id(payload.get("order_id"), "order id"),
                       currency=currency, bases=EarningBases(merchandise, shipping, tax),
                       refunded_at=parse_time(payload.get("processed_at") or payload.get("created_at")))


def _refund_currency(payload: dict) -> str:
    for item in payload.get("refund_line_items") or []:
        money = ((item.get("subtotal_set") or {}).get("shop_money") or {})
        if money.get("currency_code"):
            return money["currency_code"]
    money = ((payload.get("total_duties_set") or {}).get("shop_money") or {})
    return money.get("currency_code") or "USD"
