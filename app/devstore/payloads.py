"""Webhook bodies in the shapes of the configured Admin API version (2026-10: the field set of
tests/fixtures/shopify/webhooks/*.json; tests/devstore/test_payloads.py compares the keys),
built from the demo shop's records.

Shopify writes REST timestamps in the shop's time zone and money as strings, except the
`subtotal`/`total_tax` numbers of refund line items.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from app.devstore.commerce import financial_status, fulfillment_status, held_quantity, order_totals
from app.devstore.graph import amount_text, parse_time
from app.devstore.state import ShopState, gid

USER_AGENT = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.3 Safari/605.1.15")


def local_time(shop: ShopState, value: str | None) -> str | None:
    at = parse_time(value)
    return at.astimezone(ZoneInfo(shop["iana_timezone"])).isoformat() if at else None


def money_set(amount: Decimal | str, currency: str) -> dict[str, dict[str, str]]:
    bag = {"amount": amount_text(amount), "currency_code": currency}
    return {"shop_money": dict(bag), "presentment_money": dict(bag)}


def _tax_lines(amount: Decimal | str, rate: str, currency: str) -> list[dict[str, Any]]:
    if Decimal(amount) <= 0:
        return []
    return [{"channel_liable": False, "price": amount_text(amount), "price_set": money_set(amount, currency),
             "rate": float(rate), "title": "Sales tax"}]


# --- customers ------------------------------------------------------------------------------

def _address(customer: dict) -> dict[str, Any] | None:
    address = customer["address"]
    if address is None:
        return None
    name = f"{customer['first_name']} {customer['last_name']}".strip()
    return {"id": address["id"], "customer_id": customer["id"], "first_name": customer["first_name"],
            "last_name": customer["last_name"], "company": None, "address1": address["address1"], "address2": None,
            "city": address["city"], "province": address["province"], "country": "United States",
            "zip": address["zip"], "phone": address["phone"], "name": name, "province_code": address["province_code"],
            "country_code": "US", "country_name": "United States", "default": True}


def customer_payload(shop: ShopState, customer: dict) -> dict[str, Any]:
    """customers/create and customers/update (since 2025-01: no tags, orders_count, total_spent,
    marketing consent; those have topics of their own)."""
    address = _address(customer)
    return {"id": customer["id"], "email": customer["email"], "created_at": local_time(shop, customer["created_at"]),
            "updated_at": local_time(shop, customer["updated_at"]), "first_name": customer["first_name"],
            "last_name": customer["last_name"], "state": customer["state"], "note": None, "verified_email": True,
            "multipass_identifier": None, "tax_exempt": False, "currency": shop["currency"],
            "phone": customer["phone"], "addresses": [address] if address else [], "tax_exemptions": [],
            "admin_graphql_api_id": gid("Customer", customer["id"]), "default_address": address}


def customer_deleted_payload(customer: dict) -> dict[str, Any]:
    # Since 2025-10 the body names the customer only: no phone, no addresses.
    return {"id": customer["id"], "tax_exemptions": [], "admin_graphql_api_id": gid("Customer", customer["id"])}


def _order_customer(shop: ShopState, customer: dict) -> dict[str, Any]:
    return {"id": customer["id"], "email": customer["email"], "created_at": local_time(shop, customer["created_at"]),
            "updated_at": local_time(shop, customer["updated_at"]), "first_name": customer["first_name"],
            "last_name": customer["last_name"], "state": customer["state"], "note": None, "verified_email": True,
            "multipass_identifier": None, "tax_exempt": False, "phone": customer["phone"],
            "currency": shop["currency"], "tax_exemptions": [], "admin_graphql_api_id": gid("Customer", customer["id"]),
            "default_address": _address(customer)}


def _postal_address(customer: dict | None) -> dict[str, Any] | None:
    address = (customer or {}).get("address")
    if address is None:
        return None
    return {"first_name": customer["first_name"], "address1": address["address1"], "phone": address["phone"],
            "city": address["city"], "zip": address["zip"], "province": address["province"],
            "country": "United States", "last_name": customer["last_name"], "address2": None, "company": None,
            "latitude": None, "longitude": None, "name": f"{customer['first_name']} {customer['last_name']}",
            "country_code": "US", "province_code": address["province_code"]}


# --- orders ---------------------------------------------------------------------------------

def _line_item(order: dict, line: dict, currency: str, *, variant: str = "order") -> dict[str, Any]:
    """One line item; refunds and fulfillments embed a slightly shorter variant of it."""
    left = held_quantity(order, line)
    item = {"id": line["id"], "admin_graphql_api_id": gid("LineItem", line["id"]), "attributed_staffs": [],
            "current_quantity": left, "fulfillable_quantity": 0 if order["fulfillments"] else left,
            "fulfillment_service": "gift_card" if line["gift_card"] else "manual",
            "fulfillment_status": "fulfilled" if order["fulfillments"] else None, "gift_card": line["gift_card"],
            "grams": line["grams"], "name": " - ".join(filter(None, (line["title"], line["variant_title"]))),
            "price": line["price"], "price_set": money_set(line["price"], currency), "product_exists": True,
            "product_id": line["product_id"], "properties": [], "quantity": line["quantity"],
            "requires_shipping": not line["gift_card"], "sales_line_item_group_id": None, "sku": line["sku"],
            "taxable": line["taxable"], "title": line["title"], "total_discount": "0.00",
            "total_discount_set": money_set("0", currency), "variant_id": line["variant_id"],
            "variant_inventory_management": None if line["gift_card"] else "shopify",
            "variant_title": line["variant_title"], "vendor": line["vendor"],
            "tax_lines": _tax_lines(line["tax"], order["tax_rate"], currency), "duties": [],
            "discount_allocations": [{"amount": line["discount"], "amount_set": money_set(line["discount"], currency),
                                      "discount_application_index": 0}] if Decimal(line["discount"]) else []}
    dropped = {"order": (), "refund": ("attributed_staffs", "current_quantity", "sales_line_item_group_id"),
               "fulfillment": ("attributed_staffs", "sales_line_item_group_id")}[variant]
    return {k: v for k, v in item.items() if k not in dropped}


def _shipping_lines(order: dict, currency: str) -> list[dict[str, Any]]:
    shipping = order["shipping"]
    if shipping is None:
        return []
    discounted = Decimal(shipping["price"]) - Decimal(shipping["discount"])
    current = discounted - sum((Decimal(r["shipping"]["amount"]) for r in order["refunds"] if r["shipping"]),
                               Decimal(0))
    return [{"id": shipping["id"], "carrier_identifier": None, "code": shipping["code"],
             "current_discounted_price_set": money_set(current, currency), "discounted_price": amount_text(discounted),
             "discounted_price_set": money_set(discounted, currency), "is_removed": False, "phone": None,
             "price": shipping["price"], "price_set": money_set(shipping["price"], currency),
             "requested_fulfillment_service_id": None, "source": "shopify", "title": shipping["title"],
             "tax_lines": [], "discount_allocations": [
                 {"amount": shipping["discount"], "amount_set": money_set(shipping["discount"], currency),
                  "discount_application_index": 0}] if Decimal(shipping["discount"]) else []}]


def _discount_fields(order: dict) -> dict[str, Any]:
    discount = order["discount"]
    if discount is None:
        return {"discount_codes": [], "discount_applications": []}
    value = Decimal(discount["value"]) * (100 if discount["value_type"] == "percentage" else 1)
    return {"discount_codes": [{"code": discount["code"], "amount": discount["amount"], "type": discount["type"]}],
            "discount_applications": [{
                "target_type": discount["target_type"], "type": "discount_code", "value": f"{value.normalize():f}",
                "value_type": discount["value_type"], "allocation_method": "across",
                "target_selection": "entitled" if discount["entitled"] else "all", "code": discount["code"]}]}


def _fulfillment(shop: ShopState, order: dict, fulfillment: dict, currency: str) -> dict[str, Any]:
    tracking = fulfillment["tracking_number"]
    url = f"https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking}"
    return {"id": fulfillment["id"], "admin_graphql_api_id": gid("Fulfillment", fulfillment["id"]),
            "created_at": local_time(shop, fulfillment["created_at"]), "location_id": 70011223344,
            "name": fulfillment["name"], "order_id": order["id"], "origin_address": {}, "receipt": {},
            "service": "manual", "shipment_status": None, "status": "success", "tracking_company": "USPS",
            "tracking_number": tracking, "tracking_numbers": [tracking], "tracking_url": url, "tracking_urls": [url],
            "updated_at": local_time(shop, fulfillment["created_at"]),
            "line_items": [_line_item(order, li, currency, variant="fulfillment") for li in order["lines"]
                           if not li["gift_card"]]}


def _money_fields(order: dict, currency: str) -> dict[str, Any]:
    totals = order_totals(order)
    current_subtotal = totals.subtotal - totals.refunded_subtotal
    current_tax = totals.tax - totals.refunded_tax
    fields = {
        "current_shipping_price_set": money_set(totals.shipping - totals.refunded_shipping, currency),
        "current_subtotal_price": amount_text(current_subtotal),
        "current_total_discounts": amount_text(totals.discounts - totals.refunded_line_discounts),
        "current_total_price": amount_text(totals.total - totals.refunded),
        "current_total_tax": amount_text(current_tax),
        "subtotal_price": amount_text(totals.subtotal), "total_discounts": amount_text(totals.discounts),
        "total_line_items_price": amount_text(totals.line_items), "total_price": amount_text(totals.total),
        "total_shipping_price_set": money_set(totals.shipping, currency), "total_tax": amount_text(totals.tax),
        "total_cash_rounding_payment_adjustment_set": money_set("0", currency),
        "total_cash_rounding_refund_adjustment_set": money_set("0", currency),
    }
    for name in ("current_subtotal_price", "current_total_discounts", "current_total_price", "current_total_tax",
                 "subtotal_price", "total_discounts", "total_line_items_price", "total_price", "total_tax"):
        fields[f"{name}_set"] = money_set(fields[name], currency)
    return fields


def order_payload(shop: ShopState, order: dict) -> dict[str, Any]:
    """orders/create, paid, updated, cancelled, fulfilled: the order as it stands now."""
    currency = shop["currency"]
    customer = shop["customers"].get(str(order["customer_id"])) if order["customer_id"] else None
    return {
        "id": order["id"], "admin_graphql_api_id": gid("Order", order["id"]), "app_id": 580111,
        "browser_ip": "203.0.113.24", "buyer_accepts_marketing": order["accepts_marketing"],
        "cancel_reason": order["cancel_reason"], "cancelled_at": local_time(shop, order["cancelled_at"]),
        "cart_token": order["token"][:24], "checkout_token": order["token"],
        "client_details": {"accept_language": "en-US", "browser_height": None, "browser_ip": "203.0.113.24",
                           "browser_width": None, "session_hash": None, "user_agent": USER_AGENT},
        "closed_at": local_time(shop, order["closed_at"]), "confirmation_number": order["token"][:9].upper(),
        "confirmed": True, "contact_email": order["email"], "created_at": local_time(shop, order["created_at"]),
        "currency": currency, "current_total_additional_fees_set": None, "current_total_duties_set": None,
        "customer_locale": "en-US", "device_id": None, "duties_included": False, "email": order["email"],
        "estimated_taxes": False, "financial_status": financial_status(order),
        "fulfillment_status": fulfillment_status(order), "landing_site": "/", "landing_site_ref": None,
        "location_id": order.get("location_id"), "merchant_business_entity_id": "MTIzNDU2Nzg5", "merchant_of_record_app_id": None,
        "name": order["name"], "note": None, "note_attributes": order["note_attributes"],
        "number": order["number"] - 1000, "order_number": order["number"],
        "order_status_url": f"https://{shop['domain']}/{shop['id']}/orders/{order['token']}/authenticate?key="
                            f"{order['token'][:16]}",
        "original_total_additional_fees_set": None, "original_total_duties_set": None,
        "payment_gateway_names": ["shopify_payments"], "phone": None, "po_number": None,
        "presentment_currency": currency, "processed_at": local_time(shop, order["processed_at"]), "reference": None,
        "referring_site": "", "source_identifier": None, "source_name": order.get("source_name", "web"), "source_url": None, "tags": "",
        "tax_exempt": False, "taxes_included": order.get("taxes_included", False), "test": order["test"], "token": order["token"],
        "total_outstanding": "0.00", "total_tip_received": "0.00",
        "total_weight": sum(li["grams"] * li["quantity"] for li in order["lines"]),
        "updated_at": local_time(shop, order["updated_at"]), "user_id": None,
        "billing_address": _postal_address(customer), "customer": _order_customer(shop, customer) if customer else None,
        "fulfillments": [_fulfillment(shop, order, f, currency) for f in order["fulfillments"]],
        "line_items": [_line_item(order, li, currency) for li in order["lines"]], "payment_terms": None,
        "refunds": [refund_payload(shop, order, r) for r in order["refunds"]],
        "shipping_address": _postal_address(customer), "shipping_lines": _shipping_lines(order, currency),
        # 2026-04 dropped `checkout_id` (checkout_token names the checkout); 2025-10 added the
        # bundles a line item belongs to, and the demo catalog sells no bundles.
        "returns": [], "line_item_groups": [],
        "tax_lines": _tax_lines(order_totals(order).tax, order["tax_rate"], currency),
        **_money_fields(order, currency), **_discount_fields(order),
    }


def refund_payload(shop: ShopState, order: dict, refund: dict) -> dict[str, Any]:
    """refunds/create (and each entry of an order's `refunds`)."""
    currency = shop["currency"]
    lines = {li["id"]: li for li in order["lines"]}
    at = local_time(shop, refund["created_at"])
    return {
        "id": refund["id"], "order_id": order["id"], "created_at": at, "note": refund["note"], "user_id": 98765432101,
        "processed_at": at, "duties": [], "total_duties_set": money_set("0", currency), "return": None,
        "restock": any(r["restock_type"] != "no_restock" for r in refund["lines"]),
        "refund_shipping_lines": [{"id": refund["shipping"]["id"], "shipping_line_id": order["shipping"]["id"],
                                   "subtotal_amount_set": money_set(refund["shipping"]["amount"], currency),
                                   "tax_amount_set": money_set("0", currency)}] if refund["shipping"] else [],
        "admin_graphql_api_id": gid("Refund", refund["id"]),
        "order_adjustments": _discrepancy(order, refund, currency),
        "refund_line_items": [{
            "id": r["id"], "quantity": r["quantity"], "line_item_id": r["line_id"], "location_id": 70011223344,
            "restock_type": r["restock_type"], "subtotal": float(r["subtotal"]), "total_tax": float(r["tax"]),
            "subtotal_set": money_set(r["subtotal"], currency), "total_tax_set": money_set(r["tax"], currency),
            "line_item": _line_item(order, lines[r["line_id"]], currency, variant="refund")}
            for r in refund["lines"]],
        "transactions": [_refund_transaction(order, refund, at, currency)],
    }


def _discrepancy(order: dict, refund: dict, currency: str) -> list[dict[str, Any]]:
    """Shopify books money refunded short of the items as a positive `refund_discrepancy`, and
    money refunded without items as a negative one."""
    amount = Decimal(refund.get("discrepancy") or 0)
    if not amount:
        return []
    return [{"id": refund["adjustment_id"], "order_id": order["id"], "refund_id": refund["id"], "amount": amount_text(amount),
             "tax_amount": "0.00", "kind": "refund_discrepancy", "reason": "Refund discrepancy",
             "amount_set": money_set(amount, currency), "tax_amount_set": money_set("0", currency)}]


def _refund_transaction(order: dict, refund: dict, at: str, currency: str) -> dict[str, Any]:
    unsettled = {"amount": "0.00", "currency": currency}
    return {"id": refund["transaction_id"], "order_id": order["id"], "kind": "refund", "gateway": "shopify_payments",
            "status": "success", "message": "Transaction approved", "created_at": at, "test": order["test"],
            "authorization": None, "location_id": None, "user_id": None, "parent_id": order["sale_transaction_id"],
            "processed_at": at, "device_id": None, "error_code": None, "source_name": "1830279", "receipt": {},
            "amount": refund["amount"], "currency": currency,
            "payment_id": f"c{order['checkout_id']}.{len(order['refunds']) + 1}",
            "total_unsettled_set": {"presentment_money": dict(unsettled), "shop_money": dict(unsettled)},
            "manual_payment_gateway": False, "amount_rounding": None,
            "admin_graphql_api_id": gid("OrderTransaction", refund["transaction_id"])}


# --- shop and privacy -----------------------------------------------------------------------

def shop_payload(shop: ShopState, now: datetime) -> dict[str, Any]:
    """app/uninstalled: the Shop resource."""
    store = shop["domain"].split(".")[0]
    return {
        "id": shop["id"], "name": shop["name"], "email": shop["email"], "domain": shop["domain"],
        "province": "New York", "country": "US", "address1": "1 Demo Street", "zip": "10001", "city": "New York",
        "source": None, "phone": "+12125550100", "latitude": 40.7506, "longitude": -73.9972, "primary_locale": "en",
        "address2": None, "created_at": "2024-01-15T09:00:00-05:00", "updated_at": local_time(shop, now.isoformat()),
        "country_code": "US", "country_name": "United States", "currency": shop["currency"],
        "customer_email": f"help@{store}.example", "timezone": "(GMT-05:00) America/New_York",
        "iana_timezone": shop["iana_timezone"], "shop_owner": "Demo Owner", "money_format": shop["money_format"],
        "money_with_currency_format": f"{shop['money_format']} {shop['currency']}", "weight_unit": "lb",
        "province_code": "NY", "taxes_included": False, "auto_configure_tax_inclusivity": None, "tax_shipping": None,
        "county_taxes": True, "plan_display_name": "Development", "plan_name": "partner_test",
        "has_discounts": True, "has_gift_cards": True, "myshopify_domain": shop["domain"],
        "google_apps_domain": None, "google_apps_login_enabled": None,
        "money_in_emails_format": shop["money_format"],
        "money_with_currency_in_emails_format": f"{shop['money_format']} {shop['currency']}",
        "eligible_for_payments": True, "requires_extra_payments_agreement": False, "password_enabled": True,
        "has_storefront": True, "finances": True, "primary_location_id": 70011223344,
        "checkout_api_supported": True, "multi_location_enabled": True, "setup_required": False,
        "pre_launch_enabled": False, "enabled_presentment_currencies": [shop["currency"]],
        "marketing_sms_consent_enabled_at_checkout": False, "transactional_sms_disabled": False,
    }


def _privacy_customer(customer: dict) -> dict[str, Any]:
    return {"id": customer["id"], "email": customer["email"], "phone": customer["phone"]}


def customer_order_ids(shop: ShopState, customer: dict) -> list[int]:
    return [o["id"] for o in shop["orders"].values() if o["customer_id"] == customer["id"]]


def data_request_payload(shop: ShopState, customer: dict, request_id: int) -> dict[str, Any]:
    return {"shop_id": shop["id"], "shop_domain": shop["domain"], "customer": _privacy_customer(customer),
            "orders_requested": customer_order_ids(shop, customer), "data_request": {"id": request_id}}


def customer_redact_payload(shop: ShopState, customer: dict) -> dict[str, Any]:
    return {"shop_id": shop["id"], "shop_domain": shop["domain"], "customer": _privacy_customer(customer),
            "orders_to_redact": customer_order_ids(shop, customer)}


def shop_redact_payload(shop: ShopState) -> dict[str, Any]:
    return {"shop_id": shop["id"], "shop_domain": shop["domain"]}
