"""Code discounts in the stand-in: Shopify's rules for creating them (the userErrors Tessera
relies on), lookups, deactivation, and what happens to a code at checkout.

Error codes and fields follow the Admin schema (`DiscountUserError`); the message texts
are Shopify-like, not verbatim.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.devstore.graph import iso, money, paged, parse_time, user_error
from app.devstore.state import ShopState, gid, next_id

MAX_CODE_LENGTH = 255


class CheckoutRefused(Exception):
    """The code would not apply at checkout (the reason is what Shopify's checkout says)."""


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def find_by_code(shop: ShopState, code: str) -> dict | None:
    wanted = (code or "").strip().upper()
    return next((d for d in shop["discounts"].values() if d["code"].upper() == wanted), None)


def find_by_node_id(shop: ShopState, node_id: str) -> dict | None:
    return shop["discounts"].get(str(node_id).rsplit("/", 1)[-1])


def status(discount: dict, now: datetime) -> str:
    ends_at = parse_time(discount["ends_at"])
    if ends_at is not None and ends_at <= now:
        return "EXPIRED"
    return "SCHEDULED" if parse_time(discount["starts_at"]) > now else "ACTIVE"


# --- creation rules -------------------------------------------------------------------------

def _date_errors(arg: str, data: dict, now: datetime) -> list[dict]:
    try:
        starts_at, ends_at = parse_time(data.get("startsAt")), parse_time(data.get("endsAt"))
    except ValueError:
        return [user_error([arg, "startsAt"], "INVALID", "Dates must be ISO 8601 date-times")]
    if starts_at is None:
        return [user_error([arg, "startsAt"], "BLANK", "Starts at can't be blank")]
    if ends_at is not None and ends_at <= starts_at:
        return [user_error([arg, "endsAt"], "INVALID", "Ends at needs to be after starts_at")]
    if ends_at is not None and ends_at <= now:
        return [user_error([arg, "endsAt"], "INVALID", "Ends at can't be in the past")]
    return []


def _value_errors(arg: str, gets: dict | None) -> list[dict]:
    if not gets or not gets.get("value"):
        return [user_error([arg, "customerGets"], "BLANK", "Customer gets can't be blank")]
    value = gets["value"]
    if "percentage" in value and not 0 < float(value["percentage"]) <= 1:
        return [user_error([arg, "customerGets", "value", "percentage"], "VALUE_OUTSIDE_RANGE",
                           "Percentage must be between 0 and 1 (0.1 is 10%)")]
    amount = (value.get("discountAmount") or {}).get("amount")
    if "discountAmount" in value and not (_decimal(amount) or 0) > 0:
        return [user_error([arg, "customerGets", "value", "discountAmount", "amount"], "GREATER_THAN",
                           "Value must be greater than 0")]
    return []


def _code_errors(shop: ShopState, arg: str, code: str | None) -> list[dict]:
    if not (code or "").strip():
        return [user_error([arg, "code"], "BLANK", "Code can't be blank")]
    if len(code) > MAX_CODE_LENGTH:
        return [user_error([arg, "code"], "TOO_LONG", f"Code is too long (maximum is {MAX_CODE_LENGTH} characters)")]
    if find_by_code(shop, code) is not None:  # codes are unique per shop, whatever their status
        return [user_error([arg, "code"], "TAKEN", "Code must be unique. Please try a different code.")]
    return []


def _combination_errors(arg: str, kind: str, combines: dict) -> list[dict]:
    # Shopify applies at most one shipping discount per order: a shipping discount cannot be set
    # to combine with other shipping discounts (the admin does not even offer it).
    if kind == "free_shipping" and combines.get("shippingDiscounts"):
        return [user_error([arg, "combinesWith", "shippingDiscounts"], "INVALID_COMBINES_WITH_FOR_DISCOUNT_CLASS",
                           "The combinesWith settings are invalid for the discount class.")]
    return []


def input_errors(shop: ShopState, arg: str, kind: str, data: dict, now: datetime) -> list[dict]:
    errors = []
    if not (data.get("title") or "").strip():
        errors.append(user_error([arg, "title"], "BLANK", "Title can't be blank"))
    errors += _code_errors(shop, arg, data.get("code"))
    errors += _date_errors(arg, data, now)
    # Who may use the code is part of every discount; `context` replaced `customerSelection`.
    if not data.get("context"):
        errors.append(user_error([arg, "context"], "BLANK", "Context can't be blank"))
    if kind == "basic":
        errors += _value_errors(arg, data.get("customerGets"))
    errors += _combination_errors(arg, kind, data.get("combinesWith") or {})
    if data.get("usageLimit") is not None and data["usageLimit"] < 1:
        errors.append(user_error([arg, "usageLimit"], "GREATER_THAN", "Usage limit must be greater than 0"))
    return errors


def _customer_ids(selection: dict) -> list[int] | None:
    added = (selection.get("customers") or {}).get("add")
    return [int(str(c).rsplit("/", 1)[-1]) for c in added] if added else None


def _value(gets: dict | None) -> dict | None:
    if not gets:
        return None
    value = gets["value"]
    if "percentage" in value:
        return {"type": "percentage", "amount": str(value["percentage"])}
    amount = value.get("discountAmount") or {}
    return {"type": "fixed_amount", "amount": str(_decimal(amount.get("amount"))),
            "applies_on_each_item": bool(amount.get("appliesOnEachItem"))}


def _items(gets: dict | None) -> dict:
    products = ((gets or {}).get("items") or {}).get("products") or {}
    variants = [int(str(v).rsplit("/", 1)[-1]) for v in products.get("productVariantsToAdd") or []]
    product_ids = [int(str(p).rsplit("/", 1)[-1]) for p in products.get("productsToAdd") or []]
    return {"variant_ids": variants, "product_ids": product_ids} if variants or product_ids else {"all": True}


def create_discount(shop: ShopState, arg: str, kind: str, data: dict, now: datetime) -> dict:
    """The mutation payload: the new discount node, or userErrors and no discount."""
    errors = input_errors(shop, arg, kind, data, now)
    if errors:
        return {"codeDiscountNode": None, "userErrors": errors}
    minimum = ((data.get("minimumRequirement") or {}).get("subtotal") or {}).get("greaterThanOrEqualToSubtotal")
    discount = {
        "id": next_id(shop, "DiscountCodeNode"), "code_id": next_id(shop, "DiscountRedeemCode"), "kind": kind,
        "title": data["title"], "code": data["code"].strip(), "starts_at": iso(parse_time(data["startsAt"])),
        "ends_at": iso(parse_time(data.get("endsAt"))), "usage_limit": data.get("usageLimit"),
        "applies_once_per_customer": bool(data.get("appliesOncePerCustomer")),
        "customer_ids": _customer_ids(data["context"]), "value": _value(data.get("customerGets")),
        "items": _items(data.get("customerGets")), "minimum_subtotal": str(minimum) if minimum else None,
        "combines_with": {k: bool((data.get("combinesWith") or {}).get(k)) for k in
                          ("orderDiscounts", "productDiscounts", "shippingDiscounts")},
        "created_at": iso(now), "updated_at": iso(now), "usage_count": 0, "used_by": [],
    }
    shop["discounts"][str(discount["id"])] = discount
    return {"codeDiscountNode": discount_node(discount, now, shop["currency"]), "userErrors": []}


def deactivate(shop: ShopState, node_id: str, now: datetime) -> dict:
    discount = find_by_node_id(shop, node_id)
    if discount is None:
        return {"codeDiscountNode": None, "userErrors": [user_error(["id"], "INVALID", "Discount does not exist")]}
    if status(discount, now) != "EXPIRED":
        discount["ends_at"] = iso(now)  # Shopify deactivates by ending the discount now
    discount["updated_at"] = iso(now)
    return {"codeDiscountNode": discount_node(discount, now, shop["currency"]), "userErrors": []}


# --- GraphQL shapes -------------------------------------------------------------------------

def _summary(discount: dict, currency: str) -> str:
    value = discount["value"]
    if discount["kind"] == "free_shipping":
        what = "Free shipping on all products"
    elif value["type"] == "percentage":
        what = f"{Decimal(value['amount']) * 100:.0f}% off entire order"
    else:
        what = f"{money(value['amount'], currency)['amount']} {currency} off entire order"
    limit = " • One use per customer" if discount["applies_once_per_customer"] else ""
    return what + limit


def _customer_gets(discount: dict, currency: str) -> dict | None:
    value = discount["value"]
    if value is None:
        return None
    shaped = ({"__typename": "DiscountPercentage", "percentage": float(value["amount"])}
              if value["type"] == "percentage" else
              {"__typename": "DiscountAmount", "amount": money(value["amount"], currency),
               "appliesOnEachItem": value["applies_on_each_item"]})
    return {"value": shaped, "items": {"__typename": "AllDiscountItems", "allItems": True},
            "appliesOnOneTimePurchase": True, "appliesOnSubscription": False}


def code_discount(discount: dict, now: datetime, currency: str) -> dict:
    free_shipping = discount["kind"] == "free_shipping"
    customers = discount["customer_ids"]
    return {
        "__typename": "DiscountCodeFreeShipping" if free_shipping else "DiscountCodeBasic",
        "title": discount["title"], "status": status(discount, now), "startsAt": discount["starts_at"],
        "endsAt": discount["ends_at"], "usageLimit": discount["usage_limit"],
        "asyncUsageCount": discount["usage_count"], "appliesOncePerCustomer": discount["applies_once_per_customer"],
        "createdAt": discount["created_at"], "updatedAt": discount["updated_at"],
        "summary": _summary(discount, currency), "shortSummary": _summary(discount, currency),
        "discountClass": "SHIPPING" if free_shipping else "ORDER", "combinesWith": discount["combines_with"],
        "codesCount": {"count": 1, "precision": "EXACT"}, "hasTimelineComment": False, "shareableUrls": [],
        "codes": paged([{"id": gid("DiscountRedeemCode", discount["code_id"]), "code": discount["code"],
                         "asyncUsageCount": discount["usage_count"]}]),
        "context": {"__typename": "DiscountCustomers", "customers": [
            {"id": gid("Customer", c), "legacyResourceId": str(c)} for c in customers]} if customers else
        {"__typename": "DiscountBuyerSelectionAll", "all": "ALL"},
        "customerGets": _customer_gets(discount, currency),
        "minimumRequirement": {"__typename": "DiscountMinimumSubtotal", "greaterThanOrEqualToSubtotal":
                               money(discount["minimum_subtotal"], currency)} if discount["minimum_subtotal"] else None,
        "destinationSelection": {"__typename": "DiscountCountryAll", "allCountries": True},
        "appliesOnOneTimePurchase": True, "appliesOnSubscription": False,
    }


def discount_node(discount: dict, now: datetime, currency: str) -> dict:
    return {"id": gid("DiscountCodeNode", discount["id"]), "codeDiscount": code_discount(discount, now, currency)}


# --- checkout -------------------------------------------------------------------------------

@dataclass(frozen=True)
class AppliedCode:
    code: str
    kind: str  # basic | free_shipping
    value_type: str  # fixed_amount | percentage
    value: Decimal
    variant_ids: frozenset[int] | None  # lines it applies to (None: every discountable line)


def apply_at_checkout(shop: ShopState, code: str, customer_id: int | None, merchandise: Decimal,
                      now: datetime) -> AppliedCode:
    """What Shopify's checkout decides about a code typed by this customer."""
    discount = find_by_code(shop, code)
    if discount is None:
        raise CheckoutRefused(f"Enter a valid discount code ('{code}' does not exist in this store)")
    if status(discount, now) != "ACTIVE":
        raise CheckoutRefused(f"Discount code {discount['code']} is {status(discount, now).lower()}")
    if discount["usage_limit"] is not None and discount["usage_count"] >= discount["usage_limit"]:
        raise CheckoutRefused(f"Discount code {discount['code']} has already been used")
    if discount["customer_ids"] and customer_id not in discount["customer_ids"]:
        raise CheckoutRefused(f"Discount code {discount['code']} is not valid for this customer")
    if discount["applies_once_per_customer"] and customer_id in discount["used_by"]:
        raise CheckoutRefused(f"Discount code {discount['code']} was already used by this customer")
    if discount["minimum_subtotal"] and merchandise < Decimal(discount["minimum_subtotal"]):
        raise CheckoutRefused(f"Discount code {discount['code']} needs a subtotal of {discount['minimum_subtotal']}")
    value = discount["value"] or {"type": "percentage", "amount": "1"}
    variants = discount["items"].get("variant_ids")
    return AppliedCode(discount["code"], discount["kind"], value["type"], Decimal(value["amount"]),
                       frozenset(variants) if variants else None)


def record_use(shop: ShopState, code: str, customer_id: int | None) -> None:
    discount = find_by_code(shop, code)
    if discount is not None:
        discount["usage_count"] += 1
        if customer_id is not None:
            discount["used_by"].append(customer_id)
