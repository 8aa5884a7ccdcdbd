"""GraphQL objects of the stand-in's Admin API, made from the same REST payloads its webhooks
carry, so an order read back by reconciliation says exactly what its webhooks said."""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from graphql import GraphQLError

from app.devstore import catalog, store_credit
from app.devstore.commerce import order_totals
from app.devstore.graph import iso, money, money_bag, paged, parse_time
from app.devstore.payloads import order_payload, refund_payload
from app.devstore.state import ShopState, gid


def _bag(money_set: dict) -> dict:
    shop_money = money_set["shop_money"]
    return money_bag(shop_money["amount"], shop_money["currency_code"])


def _utc(value: str | None) -> str | None:
    return iso(parse_time(value))


def shop_node(shop: ShopState) -> dict[str, Any]:
    return {"id": gid("Shop", shop["id"]), "name": shop["name"], "email": shop["email"],
            "contactEmail": shop["email"], "myshopifyDomain": shop["domain"], "currencyCode": shop["currency"],
            "ianaTimezone": shop["iana_timezone"], "timezoneAbbreviation": "EST",
            "enabledPresentmentCurrencies": [shop["currency"]],
            "currencyFormats": {"moneyFormat": shop["money_format"],
                                "moneyWithCurrencyFormat": f"{shop['money_format']} {shop['currency']}",
                                "moneyInEmailsFormat": shop["money_format"],
                                "moneyWithCurrencyInEmailsFormat": f"{shop['money_format']} {shop['currency']}"},
            "plan": {"displayName": "Development", "partnerDevelopment": True, "shopifyPlus": False},
            "primaryDomain": {"id": gid("Domain", 1), "host": shop["domain"], "url": f"https://{shop['domain']}"}}


# Level 2 protected customer data: Shopify answers these with an ACCESS_DENIED error each (the
# field null, the rest of the answer intact) until the app is approved for them.
PROTECTED_CUSTOMER_FIELDS = ("email", "phone", "firstName", "lastName", "displayName", "defaultAddress",
                             "addresses", "defaultEmailAddress", "defaultPhoneNumber")
PROTECTED_DATA_DOCS = "https://shopify.dev/docs/apps/launch/protected-customer-data"


def _withholding(shop: ShopState, node: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    if shop.get("protected_customer_fields") != "withheld":
        return node
    return {**node, **{name: _denied(name) for name in fields}}


def _denied(name: str):
    def resolve(_info, **_arguments):
        raise GraphQLError(f"This app is not approved to use the {name} field. See {PROTECTED_DATA_DOCS} for more "
                           "details.", extensions={"code": "ACCESS_DENIED", "documentation": PROTECTED_DATA_DOCS})
    return resolve


def variant_node(shop: ShopState, product: catalog.Product) -> dict[str, Any]:
    return {"id": gid("ProductVariant", product.variant_id), "legacyResourceId": str(product.variant_id),
            "title": product.variant_title or "Default Title", "sku": product.sku,
            "price": f"{catalog.current_price(shop, product):.2f}", "displayName": product.title,
            "product": {"id": gid("Product", product.product_id), "legacyResourceId": str(product.product_id),
                        "title": product.title, "handle": product.handle}}


# The demo's customers shop in the storefront's languages (mostly English), so its emails show them.
DEMO_LOCALES = ("en", "en", "en", "de-DE", "fr-FR", "es-ES", "it-IT", "pl-PL", "ro-RO")


def demo_locale(customer_id: int) -> str:
    return DEMO_LOCALES[customer_id % len(DEMO_LOCALES)]


def customer_node(shop: ShopState, customer: dict) -> dict[str, Any]:
    def orders():
        return [o for o in shop["orders"].values() if o["customer_id"] == customer["id"]]

    def amount_spent(_info):
        totals = [order_totals(o) for o in orders()]
        return money(sum((t.total - t.refunded for t in totals), Decimal(0)), shop["currency"])

    address = customer["address"]
    return _withholding(shop, {
        "id": gid("Customer", customer["id"]), "legacyResourceId": str(customer["id"]), "email": customer["email"],
        "firstName": customer["first_name"], "lastName": customer["last_name"],
        "displayName": f"{customer['first_name']} {customer['last_name']}".strip() or customer["email"],
        "phone": customer["phone"], "state": customer["state"].upper(), "verifiedEmail": True, "note": None,
        "tags": list(customer.get("tags") or []), "taxExempt": False,
        "locale": customer.get("locale") or demo_locale(customer["id"]), "createdAt": customer["created_at"],
        "updatedAt": customer["updated_at"], "numberOfOrders": lambda _info: str(len(orders())),
        "amountSpent": amount_spent,
        "storeCreditAccounts": store_credit.customer_accounts(shop, customer["id"]),
        "emailMarketingConsent": {"marketingState": "SUBSCRIBED" if customer["accepts_marketing"] else "NOT_SUBSCRIBED",
                                  "marketingOptInLevel": "SINGLE_OPT_IN", "consentUpdatedAt": customer["updated_at"]},
        "defaultEmailAddress": _default_email(customer), "defaultPhoneNumber": _default_phone(customer),
        "defaultAddress": None if address is None else {
            "id": gid("MailingAddress", address["id"]), "address1": address["address1"], "city": address["city"],
            "province": address["province"], "provinceCode": address["province_code"], "zip": address["zip"],
            "country": "United States", "countryCodeV2": "US", "phone": address["phone"],
            "firstName": customer["first_name"], "lastName": customer["last_name"]},
    }, PROTECTED_CUSTOMER_FIELDS)


def _default_email(customer: dict) -> dict[str, Any] | None:
    """Where 2026-10 reads a customer's email and its consent (`email`, `emailMarketingConsent`
    are deprecated); null for a customer without an email, as Shopify answers."""
    if not customer["email"]:
        return None
    token = f"https://{customer['id']}.example.invalid"
    return {"emailAddress": customer["email"], "validFormat": True, "openTrackingLevel": "OPTED_IN",
            "marketingState": "SUBSCRIBED" if customer["accepts_marketing"] else "NOT_SUBSCRIBED",
            "marketingOptInLevel": "SINGLE_OPT_IN", "marketingUpdatedAt": customer["updated_at"],
            "marketingUnsubscribeUrl": f"{token}/unsubscribe", "openTrackingUrl": f"{token}/open", "sourceLocation": None}


def _default_phone(customer: dict) -> dict[str, Any] | None:
    if not customer["phone"]:
        return None
    not_subscribed = {"state": "NOT_SUBSCRIBED", "optInLevel": None, "collectedFrom": None, "updatedAt": None,
                      "sourceLocation": None}
    return {"phoneNumber": customer["phone"], "smsMarketingConsent": dict(not_subscribed),
            "whatsAppMarketingConsent": dict(not_subscribed)}


def _line_item_node(rest: dict) -> dict[str, Any]:
    unit = rest["price_set"]
    return {"id": rest["admin_graphql_api_id"], "name": rest["name"], "title": rest["title"], "sku": rest["sku"],
            "quantity": rest["quantity"], "currentQuantity": rest.get("current_quantity", rest["quantity"]),
            "isGiftCard": rest["gift_card"], "taxable": rest["taxable"], "requiresShipping": rest["requires_shipping"],
            "variantTitle": rest["variant_title"], "vendor": rest["vendor"],
            "product": {"id": gid("Product", rest["product_id"]), "legacyResourceId": str(rest["product_id"]),
                        "title": rest["title"]},
            "variant": {"id": gid("ProductVariant", rest["variant_id"]), "legacyResourceId": str(rest["variant_id"])},
            "originalUnitPriceSet": _bag(unit), "taxLines": _tax_line_nodes(rest),
            "discountAllocations": [{"allocatedAmountSet": _bag(a["amount_set"])}
                                    for a in rest["discount_allocations"]]}


def _tax_line_nodes(rest: dict) -> list[dict[str, Any]]:
    return [{"title": t["title"], "rate": t["rate"], "ratePercentage": t["rate"] * 100,
             "channelLiable": t["channel_liable"], "priceSet": _bag(t["price_set"])} for t in rest["tax_lines"]]


def _refund_node(rest: dict, shipping_lines: dict[int, dict]) -> dict[str, Any]:
    refunded = sum((Decimal(t["amount"]) for t in rest["transactions"]), Decimal(0))
    currency = rest["total_duties_set"]["shop_money"]["currency_code"]
    return {
        "id": rest["admin_graphql_api_id"], "legacyResourceId": str(rest["id"]), "createdAt": _utc(rest["created_at"]),
        "updatedAt": _utc(rest["created_at"]), "note": rest["note"], "totalRefundedSet": money_bag(refunded, currency),
        "duties": [],
        "refundLineItems": paged([_refund_line_node(r) for r in rest["refund_line_items"]]),
        "refundShippingLines": paged([{"id": gid("RefundShippingLine", s["id"]),
                                       "shippingLine": shipping_lines.get(s["shipping_line_id"]),
                                       "subtotalAmountSet": _bag(s["subtotal_amount_set"]),
                                       "taxAmountSet": _bag(s["tax_amount_set"])}
                                      for s in rest["refund_shipping_lines"]]),
    }


def _refund_line_node(rest: dict) -> dict[str, Any]:
    return {"id": gid("RefundLineItem", rest["id"]), "quantity": rest["quantity"],
            "restockType": rest["restock_type"].upper(), "restocked": rest["restock_type"] != "no_restock",
            "lineItem": _line_item_node(rest["line_item"]), "subtotalSet": _bag(rest["subtotal_set"]),
            "totalTaxSet": _bag(rest["total_tax_set"])}


def _shipping_line_node(rest: dict) -> dict[str, Any]:
    return {"id": gid("ShippingLine", rest["id"]), "title": rest["title"], "code": rest["code"],
            "source": rest["source"], "isRemoved": False, "custom": False,
            "originalPriceSet": _bag(rest["price_set"]), "discountedPriceSet": _bag(rest["discounted_price_set"]),
            "currentDiscountedPriceSet": _bag(rest["current_discounted_price_set"]), "taxLines": _tax_line_nodes(rest),
            "discountAllocations": [{"allocatedAmountSet": _bag(a["amount_set"])}
                                    for a in rest["discount_allocations"]]}


def _order_customer(shop: ShopState, rest_customer: dict | None) -> dict[str, Any] | None:
    if rest_customer is None:
        return None
    record = shop["customers"].get(str(rest_customer["id"]))  # None once the customer was deleted
    if record is None:
        return {"id": rest_customer["admin_graphql_api_id"], "legacyResourceId": str(rest_customer["id"])}
    return customer_node(shop, record)


def order_node(shop: ShopState, order: dict) -> dict[str, Any]:
    rest = order_payload(shop, order)
    customer = rest["customer"]
    shipping_lines = {s["id"]: _shipping_line_node(s) for s in rest["shipping_lines"]}
    refunds = [_refund_node(refund_payload(shop, order, r), shipping_lines) for r in order["refunds"]]
    return _withholding(shop, {
        "id": rest["admin_graphql_api_id"], "legacyResourceId": str(rest["id"]), "name": rest["name"],
        "email": rest["email"], "test": rest["test"], "confirmed": True, "closed": bool(rest["closed_at"]),
        "createdAt": _utc(rest["created_at"]), "processedAt": _utc(rest["processed_at"]),
        "updatedAt": _utc(rest["updated_at"]), "cancelledAt": _utc(rest["cancelled_at"]),
        "closedAt": _utc(rest["closed_at"]), "cancelReason": (rest["cancel_reason"] or "").upper() or None,
        "displayFinancialStatus": rest["financial_status"].upper(),
        "displayFulfillmentStatus": (rest["fulfillment_status"] or "unfulfilled").upper(),
        "currencyCode": rest["currency"], "presentmentCurrencyCode": rest["presentment_currency"],
        "taxesIncluded": rest["taxes_included"],
        "customerAcceptsMarketing": rest["buyer_accepts_marketing"],
        "discountCodes": [d["code"] for d in rest["discount_codes"]],
        "discountCode": rest["discount_codes"][0]["code"] if rest["discount_codes"] else None,
        "customAttributes": [{"key": a["name"], "value": a["value"]} for a in rest["note_attributes"]],
        "customer": _order_customer(shop, customer),
        "subtotalPriceSet": _bag(rest["subtotal_price_set"]), "totalPriceSet": _bag(rest["total_price_set"]),
        "totalTaxSet": _bag(rest["total_tax_set"]), "totalDiscountsSet": _bag(rest["total_discounts_set"]),
        "totalShippingPriceSet": _bag(rest["total_shipping_price_set"]),
        "currentSubtotalPriceSet": _bag(rest["current_subtotal_price_set"]),
        "currentTotalPriceSet": _bag(rest["current_total_price_set"]),
        "currentTotalTaxSet": _bag(rest["current_total_tax_set"]),
        "currentTotalDiscountsSet": _bag(rest["current_total_discounts_set"]),
        "totalRefundedSet": money_bag(order_totals(order).refunded, rest["currency"]),
        "shippingLines": paged(list(shipping_lines.values())),
        "lineItems": paged([_line_item_node(li) for li in rest["line_items"]]),
        "refunds": lambda _info, first=None, **_: refunds[:first] if first is not None else refunds,
        "tags": [], "sourceName": rest["source_name"],
    }, ("email", "phone", "shippingAddress", "billingAddress"))


def collection_node(handle: str) -> dict[str, Any]:
    collection_id, title = catalog.COLLECTIONS[handle]
    products = [p for p in catalog.PRODUCTS.values() if handle in p.collections]
    return {"id": gid("Collection", collection_id), "legacyResourceId": str(collection_id), "title": title,
            "handle": handle, "products": paged([{"id": gid("Product", p.product_id),
                                                  "legacyResourceId": str(p.product_id), "title": p.title,
                                                  "handle": p.handle} for p in products])}


def find_collection(collection_gid: str) -> dict[str, Any] | None:
    wanted = str(collection_gid).rsplit("/", 1)[-1]
    handle = next((h for h, (cid, _) in catalog.COLLECTIONS.items() if str(cid) == wanted), None)
    return collection_node(handle) if handle else None


def find_refund(shop: ShopState, refund_gid: str) -> dict[str, Any] | None:
    """`node(id:)` / `nodes(ids:)` for a refund: the Refund node, typed for the Node interface."""
    for order in shop["orders"].values():
        for refund in order["refunds"]:
            rest = refund_payload(shop, order, refund)
            if rest["admin_graphql_api_id"] == refund_gid:
                shipping_lines = {s["id"]: _shipping_line_node(s) for s in order_payload(shop, order)["shipping_lines"]}
                return {"__typename": "Refund", **_refund_node(rest, shipping_lines)}
    return None
