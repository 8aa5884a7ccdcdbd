"""Reward codes as Shopify discounts.

Every code is single-use (`usageLimit: 1`), limited to one customer when we know who it is
(`context.customers.add`; the older `customerSelection` is deprecated), ends at the reward's expiry
and says which other discounts it combines with.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from app.loyalty.money import exponent
from app.loyalty.rewards import RedemptionTerms
from app.shopify.documents import (CREATE_BASIC_DISCOUNT_CODE, CREATE_FREE_SHIPPING_DISCOUNT_CODE,
                                   CREDIT_STORE_CREDIT, Document)


def customer_gid(customer_id: int) -> str:
    return f"gid://shopify/Customer/{customer_id}"


def variant_gid(variant_id: int) -> str:
    return f"gid://shopify/ProductVariant/{variant_id}"


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(value, currency: str) -> str:
    return f"{value:.{exponent(currency)}f}"


@dataclass(frozen=True)
class DiscountRequest:
    document: Document
    variables: dict[str, Any]
    payload_field: str


def _common(terms: RedemptionTerms, code: str, title: str, customer_id: int | None, now: datetime) -> dict[str, Any]:
    common: dict[str, Any] = {
        "title": title, "code": code, "startsAt": _iso(now - timedelta(minutes=1)),
        "endsAt": _iso(now + timedelta(days=terms.expiry_days)) if terms.expiry_days else None,
        "context": {"customers": {"add": [customer_gid(customer_id)]}} if customer_id else {"all": "ALL"},
        "usageLimit": 1 if terms.single_use else None, "appliesOncePerCustomer": terms.single_use,
        "combinesWith": terms.combines_with,
    }
    if terms.min_subtotal:
        common["minimumRequirement"] = {"subtotal": {"greaterThanOrEqualToSubtotal":
                                                     _money(terms.min_subtotal, terms.currency)}}
    return common


def _customer_gets(terms: RedemptionTerms) -> dict[str, Any]:
    if terms.kind == "percent_off":
        return {"value": {"percentage": float(terms.value / 100)}, "items": {"all": True}}
    amount = {"discountAmount": {"amount": _money(terms.value, terms.currency), "appliesOnEachItem": False}}
    if terms.kind == "free_product":
        # The variant's price off that variant once: one free unit, not every unit in the cart.
        return {"value": amount, "items": {"products": {"productVariantsToAdd": [variant_gid(terms.variant_id)]}}}
    return {"value": amount, "items": {"all": True}}


def discount_request(terms: RedemptionTerms, *, code: str, title: str, customer_id: int | None,
                     now: datetime) -> DiscountRequest:
    common = _common(terms, code, title, customer_id, now)
    if terms.kind == "free_shipping":
        return DiscountRequest(CREATE_FREE_SHIPPING_DISCOUNT_CODE, {"freeShippingCodeDiscount": {
            **common, "destination": {"all": True}}}, "discountCodeFreeShippingCreate")
    return DiscountRequest(CREATE_BASIC_DISCOUNT_CODE, {"basicCodeDiscount": {
        **common, "customerGets": _customer_gets(terms)}}, "discountCodeBasicCreate")


def created_discount_id(data: dict[str, Any], payload_field: str) -> str:
    return data[payload_field]["codeDiscountNode"]["id"]


def store_credit_request(terms: RedemptionTerms, *, customer_id: int, now: datetime) -> DiscountRequest:
    credit: dict[str, Any] = {"creditAmount": {"amount": _money(terms.value, terms.currency),
                                               "currencyCode": terms.currency}}
    if terms.expiry_days:
        credit["expiresAt"] = _iso(now + timedelta(days=terms.expiry_days))
    return DiscountRequest(CREDIT_STORE_CREDIT, {"id": customer_gid(customer_id), "creditInput": credit},
                           "storeCreditAccountCredit")


def store_credit_transaction_id(data: dict[str, Any]) -> str:
    return data["storeCreditAccountCredit"]["storeCreditAccountTransaction"]["id"]


def credit_transactions(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The credit transactions in a STORE_CREDIT_CREDITS answer, newest first."""
    accounts = (((data.get("customer") or {}).get("storeCreditAccounts") or {}).get("nodes")) or []
    return [node for account in accounts for node in account["transactions"]["nodes"]
            if node.get("__typename") == "StoreCreditAccountCreditTransaction"]


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def is_our_credit(transaction: dict[str, Any], credit_variables: dict[str, Any], since: datetime) -> bool:
    """Whether a credit in Shopify is the one `credit_variables` asked for. Shopify keeps no
    reference of ours on a credit, so amount, currency and expiry (fixed per redemption, to the
    second) and "made after we first tried" identify it."""
    wanted = credit_variables["creditInput"]
    amount = transaction["amount"]
    return (Decimal(amount["amount"]) == Decimal(wanted["creditAmount"]["amount"])
            and amount["currencyCode"] == wanted["creditAmount"]["currencyCode"]
            and _when(transaction.get("expiresAt")) == _when(wanted.get("expiresAt"))
            and _when(transaction["createdAt"]) >= since)
