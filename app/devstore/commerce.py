"""What happens in the demo shop: customers sign up, check out, get refunds, cancel, and
orders ship. Each function changes the shop's state (the stand-in's record of the truth);
`payloads.py` turns the records into the webhook bodies Shopify would send.

Money is Decimal, rounded to cents the way a checkout does: discounts are allocated across
the lines they apply to (the last line takes the remainder), tax is charged per line on the
discounted price (or, in a shop whose prices include tax, is the part of it that is tax), and
refunds give back each line's share of both. As in Shopify, a refund may give back less than
its items cost, or money without any items (both booked as a refund discrepancy), and an order
edit removes units or adds lines without any refund.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from app.devstore import catalog, discounts
from app.devstore.graph import amount_text, iso
from app.devstore.state import ShopState, next_id

CENT = Decimal("0.01")


class DemoStoreError(Exception):
    """The demo shop cannot do what was asked (unknown customer or order, refused code...)."""


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Address:
    address1: str
    city: str
    province: str
    province_code: str
    zip: str
    phone: str | None = None


# --- customers ------------------------------------------------------------------------------

def find_customer(shop: ShopState, key: str | int) -> dict | None:
    """By id or e-mail address (case-insensitive)."""
    text = str(key).strip()
    if text.isdigit():
        return shop["customers"].get(text)
    return next((c for c in shop["customers"].values() if (c["email"] or "").lower() == text.lower()), None)


# New customer accounts (the only kind of a store created today) sign in by e-mailed code and
# never change `state`: it stays "disabled". Classic accounts become "enabled" when the customer
# accepts the invitation. A shop of the stand-in uses new accounts unless told otherwise.
CLASSIC_ACCOUNTS = "classic"
NEW_ACCOUNTS = "new"


def uses_classic_accounts(shop: ShopState) -> bool:
    return shop.get("customer_accounts", NEW_ACCOUNTS) == CLASSIC_ACCOUNTS


def account_changes(shop: ShopState, changes: dict) -> dict:
    """With new customer accounts there is no invitation to accept: `state` does not move."""
    if uses_classic_accounts(shop):
        return changes
    return {key: value for key, value in changes.items() if key != "state"}


def add_customer(shop: ShopState, *, email: str, first_name: str, last_name: str, account: bool, now: datetime,
                 accepts_marketing: bool = False, address: Address | None = None, phone: str | None = None) -> dict:
    if find_customer(shop, email) is not None:
        raise DemoStoreError(f"a customer with e-mail {email} already exists")
    customer_id = next_id(shop, "Customer")
    state = "enabled" if account and uses_classic_accounts(shop) else "disabled"
    customer = {"id": customer_id, "email": email, "first_name": first_name, "last_name": last_name,
                "phone": phone, "state": state, "accepts_marketing": accepts_marketing,
                "created_at": iso(now), "updated_at": iso(now), "address": None}
    if address is not None:
        customer["address"] = {"id": next_id(shop, "MailingAddress"), **address.__dict__}
    shop["customers"][str(customer_id)] = customer
    return customer


def update_customer(customer: dict, now: datetime, **changes) -> dict:
    customer.update(changes)
    customer["updated_at"] = iso(now)
    return customer


def delete_customer(shop: ShopState, customer: dict) -> dict:
    return shop["customers"].pop(str(customer["id"]))


# --- orders ---------------------------------------------------------------------------------

def find_order(shop: ShopState, key: str | int | None) -> dict:
    """By id or name (`#1004` or `1004`); the newest order when no key is given."""
    orders = list(shop["orders"].values())
    if not orders:
        raise DemoStoreError("the demo store has no orders yet (`devstore seed`, or trigger orders/paid first)")
    if key is None:
        return orders[-1]
    text = str(key).strip().lstrip("#")
    found = shop["orders"].get(text) or next((o for o in orders if o["name"] == f"#{text}"), None)
    if found is None:
        raise DemoStoreError(f"no order {key} in the demo store")
    return found


def _new_line(shop: ShopState, product: catalog.Product, quantity: int, price: Decimal | None) -> dict:
    return {"id": next_id(shop, "LineItem"), "handle": product.handle, "product_id": product.product_id,
            "variant_id": product.variant_id, "title": product.title, "variant_title": product.variant_title,
            "sku": product.sku, "vendor": "Demo Store", "grams": product.grams, "gift_card": product.gift_card,
            "taxable": product.taxable, "quantity": quantity,
            "price": amount_text(price if price is not None else catalog.current_price(shop, product)),
            "discount": "0.00", "tax": "0.00"}


def _allocate(lines: list[dict], amount: Decimal) -> None:
    """Spread a discount over lines in proportion to their price (remainder on the last)."""
    base = sum(Decimal(li["price"]) * li["quantity"] for li in lines)
    left = amount
    for i, line in enumerate(lines):
        share = left if i == len(lines) - 1 else cents(amount * Decimal(line["price"]) * line["quantity"] / base)
        line["discount"] = amount_text(share)
        left -= share


def _apply_code(shop: ShopState, order: dict, code: str, customer_id: int | None, now: datetime) -> None:
    goods = [li for li in order["lines"] if not li["gift_card"]]  # gift cards are never discounted
    merchandise = sum((Decimal(li["price"]) * li["quantity"] for li in goods), Decimal(0))
    try:
        applied = discounts.apply_at_checkout(shop, code, customer_id, merchandise, now)
    except discounts.CheckoutRefused as exc:
        raise DemoStoreError(f"checkout refused the code: {exc}") from exc
    if applied.kind == "free_shipping":
        shipping = order["shipping"]
        amount = Decimal(shipping["price"]) if shipping else Decimal(0)
        if shipping:
            shipping["discount"] = amount_text(amount)
        target = "shipping_line"
    else:
        eligible = [li for li in goods if applied.variant_ids is None or li["variant_id"] in applied.variant_ids]
        base = sum((Decimal(li["price"]) * li["quantity"] for li in eligible), Decimal(0))
        amount = min(applied.value, base) if applied.value_type == "fixed_amount" else cents(base * applied.value)
        if eligible and amount:
            _allocate(eligible, amount)
        target = "line_item"
    order["discount"] = {"code": applied.code, "amount": amount_text(amount), "value": str(applied.value),
                         "value_type": applied.value_type, "target_type": target,
                         "type": "shipping" if target == "shipping_line" else applied.value_type,
                         "entitled": applied.variant_ids is not None}
    discounts.record_use(shop, applied.code, customer_id)


def _line_tax(line: dict, rate: Decimal, taxes_included: bool) -> str:
    taxed = Decimal(line["price"]) * line["quantity"] - Decimal(line["discount"])
    if not line["taxable"]:
        return amount_text(0)
    return amount_text(cents(taxed * rate / (1 + rate)) if taxes_included else cents(taxed * rate))


def place_order(shop: ShopState, *, customer: dict | None, items: list[tuple[catalog.Product, int, Decimal | None]],
                now: datetime, code: str | None = None, attributes: dict[str, str] | None = None,
                email: str | None = None, test: bool = False, taxes_included: bool | None = None,
                location_id: int | None = None) -> dict:
    """A paid checkout. `items` are (product, quantity, price or None for the list price); prices
    include tax when the shop's do (or `taxes_included` says so)."""
    if not items:
        raise DemoStoreError("an order needs at least one item")
    lines = [_new_line(shop, product, quantity, price) for product, quantity, price in items]
    merchandise = sum((Decimal(li["price"]) * li["quantity"] for li in lines if not li["gift_card"]), Decimal(0))
    shipping_price = catalog.shipping_price(merchandise, any(not li["gift_card"] for li in lines))
    number = next_id(shop, "OrderNumber")
    order = {
        "id": next_id(shop, "Order"), "number": number, "name": f"#{number}", "token": secrets.token_hex(16),
        "checkout_id": next_id(shop, "Checkout"), "sale_transaction_id": next_id(shop, "OrderTransaction"),
        "customer_id": customer["id"] if customer else None, "email": customer["email"] if customer else email,
        "accepts_marketing": bool(customer and customer["accepts_marketing"]), "test": test,
        "created_at": iso(now), "processed_at": iso(now), "updated_at": iso(now), "lines": lines,
        "shipping": None if shipping_price is None else {
            "id": next_id(shop, "ShippingLine"), "title": "Standard Shipping" if shipping_price else "Free Shipping",
            "code": "Standard", "price": amount_text(shipping_price), "discount": "0.00"},
        "discount": None, "tax_rate": str(catalog.TAX_RATE),
        "taxes_included": shop.get("taxes_included", False) if taxes_included is None else taxes_included,
        "note_attributes": [{"name": k, "value": v} for k, v in (attributes or {}).items()],
        "cancelled_at": None, "cancel_reason": None, "closed_at": None, "refunds": [], "fulfillments": [],
        # A sale at a POS location: Shopify marks it source "pos" with the location's id.
        "source_name": "pos" if location_id else "web", "location_id": location_id,
    }
    if code:
        _apply_code(shop, order, code, order["customer_id"], now)
    for line in lines:
        line["tax"] = _line_tax(line, catalog.TAX_RATE, order["taxes_included"])
    shop["orders"][str(order["id"])] = order
    return order


def refunded_quantity(order: dict, line_id: int) -> int:
    return sum(r["quantity"] for refund in order["refunds"] for r in refund["lines"] if r["line_id"] == line_id)


def held_quantity(order: dict, line: dict) -> int:
    """Units neither refunded nor removed by an edit (Shopify's `current_quantity`)."""
    return line["quantity"] - line.get("removed", 0) - refunded_quantity(order, line["id"])


def _refund_money(order: dict, refund_lines: list[dict], shipping: dict | None) -> Decimal:
    """What the refunded items and shipping cost the customer (tax on top unless included)."""
    tax = Decimal(0) if order.get("taxes_included") else sum((Decimal(r["tax"]) for r in refund_lines), Decimal(0))
    return (sum((Decimal(r["subtotal"]) for r in refund_lines), Decimal(0)) + tax
            + (Decimal(shipping["amount"]) if shipping else 0))


def refundable(order: dict) -> Decimal:
    totals = order_totals(order)
    return totals.total - totals.refunded


def refunded_shipping(order: dict) -> Decimal:
    return sum((Decimal(r["shipping"]["amount"]) for r in order["refunds"] if r["shipping"]), Decimal(0))


def _refund_line(shop: ShopState, line: dict, quantity: int, restock_type: str) -> dict:
    share = Decimal(quantity) / line["quantity"]
    subtotal = Decimal(line["price"]) * quantity - cents(Decimal(line["discount"]) * share)
    return {"id": next_id(shop, "RefundLineItem"), "line_id": line["id"], "quantity": quantity,
            "restock_type": restock_type, "subtotal": amount_text(subtotal),
            "tax": amount_text(cents(Decimal(line["tax"]) * share))}


def refund_order(shop: ShopState, order: dict, *, items: list[tuple[int, int]], now: datetime, note: str | None,
                 refund_shipping: bool = False, restock_type: str = "return", amount: Decimal | None = None) -> dict:
    """Refund `items` ((line id, quantity)) and optionally what is left of the shipping; `amount`
    gives back less than they cost (a damaged return), booked as a refund discrepancy."""
    lines = {li["id"]: li for li in order["lines"]}
    refund_lines = []
    for line_id, quantity in items:
        line = lines.get(line_id)
        if line is None or quantity < 1 or quantity > held_quantity(order, line):
            raise DemoStoreError(f"order {order['name']} has no {quantity} unrefunded unit(s) of line {line_id}")
        refund_lines.append(_refund_line(shop, line, quantity, restock_type))
    shipping = order["shipping"]
    shipping_left = (Decimal(shipping["price"]) - Decimal(shipping["discount"]) - refunded_shipping(order)
                     if shipping else Decimal(0))
    refund = {"id": next_id(shop, "Refund"), "order_id": order["id"], "order_name": order["name"],
              "customer_id": order["customer_id"], "created_at": iso(now), "note": note, "lines": refund_lines,
              "shipping": {"id": next_id(shop, "RefundLineItem"), "amount": amount_text(shipping_left)}
              if refund_shipping and shipping_left > 0 else None,
              "transaction_id": next_id(shop, "OrderTransaction")}
    if not refund_lines and refund["shipping"] is None:
        raise DemoStoreError(f"nothing left to refund on order {order['name']}")
    calculated = _refund_money(order, refund_lines, refund["shipping"])
    given = calculated if amount is None else Decimal(amount)
    if amount is not None and (given <= 0 or given > min(calculated, refundable(order))):
        raise DemoStoreError(f"a refund of these items can give back more than 0.00 and at most "
                             f"{amount_text(min(calculated, refundable(order)))}")
    refund["amount"], refund["discrepancy"] = amount_text(given), amount_text(calculated - given)
    if given != calculated:
        refund["adjustment_id"] = next_id(shop, "OrderAdjustment")
    order["refunds"].append(refund)
    order["updated_at"] = iso(now)
    return refund


def refund_money_only(shop: ShopState, order: dict, amount: Decimal, *, now: datetime, note: str | None) -> dict:
    """Give money back without any item (goodwill): Shopify books the whole amount as a negative
    refund discrepancy, and refuses more than the order has left to refund."""
    amount = Decimal(amount)
    if amount <= 0 or amount > refundable(order):
        raise DemoStoreError(f"order {order['name']} can be refunded more than 0.00 and at most "
                             f"{amount_text(refundable(order))}")
    refund = {"id": next_id(shop, "Refund"), "order_id": order["id"], "order_name": order["name"],
              "customer_id": order["customer_id"], "created_at": iso(now), "note": note, "lines": [],
              "shipping": None, "transaction_id": next_id(shop, "OrderTransaction"),
              "amount": amount_text(amount), "discrepancy": amount_text(-amount),
              "adjustment_id": next_id(shop, "OrderAdjustment")}
    order["refunds"].append(refund)
    order["updated_at"] = iso(now)
    return refund


def edit_line_quantity(order: dict, line_id: int, quantity: int, *, now: datetime) -> dict:
    """An order edit lowering a line to `quantity` units (no refund: the money is settled apart)."""
    line = next((li for li in order["lines"] if li["id"] == line_id), None)
    if order["cancelled_at"] or line is None:
        raise DemoStoreError(f"order {order['name']} cannot be edited (cancelled, or no line {line_id})")
    held = held_quantity(order, line)
    if quantity < 0 or quantity > held:
        raise DemoStoreError(f"line {line_id} can be set to 0..{held} units; add a line to sell more")
    line["removed"] = line.get("removed", 0) + held - quantity
    order["updated_at"] = iso(now)
    return line


def edit_add_line(shop: ShopState, order: dict, product: catalog.Product, quantity: int, *, now: datetime) -> dict:
    """An order edit adding a line at the product's price, taxed like the rest of the order."""
    if order["cancelled_at"] or quantity < 1:
        raise DemoStoreError(f"order {order['name']} cannot get {quantity} more unit(s)")
    line = _new_line(shop, product, quantity, None)
    line["tax"] = _line_tax(line, Decimal(order["tax_rate"]), order.get("taxes_included", False))
    order["lines"].append(line)
    order["updated_at"] = iso(now)
    return line


def refund_amount(shop: ShopState, order: dict, amount: Decimal, *, now: datetime, note: str | None) -> dict:
    """Refund whole units, line by line, until at least `amount` of merchandise is returned."""
    items, covered = [], Decimal(0)
    for line in order["lines"]:
        for _ in range(held_quantity(order, line)):
            if covered >= amount:
                break
            items.append((line["id"], 1))
            covered += Decimal(line["price"])
    merged: dict[int, int] = {}
    for line_id, quantity in items:
        merged[line_id] = merged.get(line_id, 0) + quantity
    return refund_order(shop, order, items=list(merged.items()), now=now, note=note)


def cancel_order(shop: ShopState, order: dict, *, now: datetime, reason: str = "customer") -> dict:
    """Cancel and refund whatever is left, shipping included."""
    if order["cancelled_at"]:
        raise DemoStoreError(f"order {order['name']} is already cancelled")
    left = [(li["id"], held_quantity(order, li)) for li in order["lines"]]
    refund = refund_order(shop, order, items=[(i, q) for i, q in left if q > 0], now=now, refund_shipping=True,
                          note=f"Order cancelled by {reason}", restock_type="cancel")
    order.update(cancelled_at=iso(now), cancel_reason=reason, closed_at=iso(now), updated_at=iso(now))
    return refund


def fulfill_order(shop: ShopState, order: dict, *, now: datetime) -> dict:
    if order["fulfillments"]:
        raise DemoStoreError(f"order {order['name']} is already fulfilled")
    fulfillment = {"id": next_id(shop, "Fulfillment"), "created_at": iso(now),
                   "name": f"{order['name']}.1", "tracking_number": f"9400{order['id'] % 10**18:018d}"[:22]}
    order["fulfillments"].append(fulfillment)
    order["updated_at"] = iso(now)
    return fulfillment


# --- derived figures ------------------------------------------------------------------------

@dataclass(frozen=True)
class OrderTotals:
    line_items: Decimal  # list prices x quantities
    line_discounts: Decimal
    shipping_price: Decimal
    shipping_discount: Decimal
    tax: Decimal
    refunded: Decimal  # money returned by all refunds
    refunded_subtotal: Decimal
    refunded_tax: Decimal
    refunded_line_discounts: Decimal
    refunded_shipping: Decimal
    taxes_included: bool = False

    @property
    def subtotal(self) -> Decimal:
        return self.line_items - self.line_discounts

    @property
    def shipping(self) -> Decimal:
        return self.shipping_price - self.shipping_discount

    @property
    def discounts(self) -> Decimal:
        return self.line_discounts + self.shipping_discount

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping + (0 if self.taxes_included else self.tax)


def _sum(values) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal(0))


def order_totals(order: dict) -> OrderTotals:
    lines = {li["id"]: li for li in order["lines"]}
    refund_lines = [r for refund in order["refunds"] for r in refund["lines"]]
    shipping = order["shipping"] or {"price": "0", "discount": "0"}
    return OrderTotals(
        line_items=_sum(Decimal(li["price"]) * li["quantity"] for li in order["lines"]),
        line_discounts=_sum(li["discount"] for li in order["lines"]),
        shipping_price=Decimal(shipping["price"]), shipping_discount=Decimal(shipping["discount"]),
        tax=_sum(li["tax"] for li in order["lines"]), refunded=_sum(r["amount"] for r in order["refunds"]),
        refunded_subtotal=_sum(r["subtotal"] for r in refund_lines),
        refunded_tax=_sum(r["tax"] for r in refund_lines),
        refunded_line_discounts=_sum(cents(Decimal(lines[r["line_id"]]["discount"]) * r["quantity"]
                                           / lines[r["line_id"]]["quantity"]) for r in refund_lines),
        refunded_shipping=refunded_shipping(order), taxes_included=order.get("taxes_included", False))


def financial_status(order: dict) -> str:
    totals = order_totals(order)
    if totals.refunded <= 0:
        return "paid"
    return "refunded" if totals.refunded >= totals.total else "partially_refunded"


def fulfillment_status(order: dict) -> str | None:
    return "fulfilled" if order["fulfillments"] else None
