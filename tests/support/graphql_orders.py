"""Shopify's GraphQL view of the real-shaped REST payloads, for reconciliation tests."""
from decimal import Decimal


def _bag(amount, currency="CAD"):
    return {"shopMoney": {"amount": str(amount), "currencyCode": currency}}


def _shop(money_set):
    return _bag(money_set["shop_money"]["amount"], money_set["shop_money"]["currency_code"])


def _taxes(rest_line: dict) -> list:
    return [{"priceSet": _shop(t["price_set"])} for t in rest_line.get("tax_lines") or []]


def _amount(money_set) -> Decimal:
    return Decimal(str(money_set["shop_money"]["amount"]))


def _total_refunded(rest_refund: dict, taxes_included: bool) -> Decimal:
    """Refund.totalRefundedSet: the items' and shipping's amounts less any refund discrepancy."""
    items = sum((_amount(i["subtotal_set"]) + (0 if taxes_included else _amount(i["total_tax_set"]))
                 for i in rest_refund["refund_line_items"]), Decimal(0))
    shipping = sum((_amount(s["subtotal_amount_set"]) + (0 if taxes_included else _amount(s["tax_amount_set"]))
                    for s in rest_refund.get("refund_shipping_lines") or []), Decimal(0))
    short = sum((_amount(a["amount_set"]) for a in rest_refund.get("order_adjustments") or []
                 if a.get("kind") == "refund_discrepancy"), Decimal(0))
    return items + shipping - short


def order_node(rest: dict) -> dict:
    customer = rest.get("customer")
    return {
        "id": rest["admin_graphql_api_id"], "legacyResourceId": str(rest["id"]), "name": rest["name"],
        "test": rest["test"], "processedAt": rest["processed_at"], "updatedAt": rest["updated_at"],
        "cancelledAt": rest["cancelled_at"], "displayFinancialStatus": rest["financial_status"].upper(),
        "displayFulfillmentStatus": (rest["fulfillment_status"] or "unfulfilled").upper(),
        "currencyCode": rest["currency"], "customerAcceptsMarketing": rest["buyer_accepts_marketing"],
        "discountCodes": [d["code"] for d in rest["discount_codes"]],
        "customAttributes": [{"key": a["name"], "value": a["value"]} for a in rest["note_attributes"]],
        "customer": {"legacyResourceId": str(customer["id"]),
                     "defaultEmailAddress": {"emailAddress": customer["email"]} if customer["email"] else None,
                     "firstName": customer["first_name"], "lastName": customer["last_name"]} if customer else None,
        "subtotalPriceSet": _shop(rest["subtotal_price_set"]), "totalPriceSet": _shop(rest["total_price_set"]),
        "totalTaxSet": _shop(rest["total_tax_set"]), "taxesIncluded": rest.get("taxes_included", False),
        "shippingLines": {"nodes": [{"discountedPriceSet": _shop(s["price_set"]), "taxLines": _taxes(s)}
                                    for s in rest["shipping_lines"]]},
        "lineItems": {"nodes": [{
            "id": li["admin_graphql_api_id"], "quantity": li["quantity"], "isGiftCard": li["gift_card"],
            "currentQuantity": li.get("current_quantity", li["quantity"]), "taxLines": _taxes(li),
            "product": {"legacyResourceId": str(li["product_id"])} if li.get("product_id") else None,
            "originalUnitPriceSet": _shop(li["price_set"]),
            "discountAllocations": [{"allocatedAmountSet": _shop(a["amount_set"])} for a in li["discount_allocations"]],
        } for li in rest["line_items"]], "pageInfo": {"hasNextPage": False, "endCursor": None}},
        "refunds": [{"legacyResourceId": str(r["id"])} for r in rest.get("refunds") or []],
    }


def refund_node(rest_refund: dict, taxes_included: bool = False) -> dict:
    currency = rest_refund["total_duties_set"]["shop_money"]["currency_code"]
    return {
        "legacyResourceId": str(rest_refund["id"]), "createdAt": rest_refund["created_at"],
        "totalRefundedSet": _bag(_total_refunded(rest_refund, taxes_included), currency), "duties": [],
        "refundLineItems": {"nodes": [{"quantity": i["quantity"],
                                       "lineItem": {"id": f"gid://shopify/LineItem/{i['line_item_id']}",
                                                    "isGiftCard": i["line_item"]["gift_card"]},
                                       "subtotalSet": _shop(i["subtotal_set"]), "totalTaxSet": _shop(i["total_tax_set"])}
                                      for i in rest_refund["refund_line_items"]]},
        "refundShippingLines": {"nodes": [{"subtotalAmountSet": _shop(s["subtotal_amount_set"]),
                                           "taxAmountSet": _shop(s["tax_amount_set"])}
                                          for s in rest_refund.get("refund_shipping_lines") or []]},
    }


def orders_page(*rest_orders, has_next=False, cursor=None) -> dict:
    return {"data": {"orders": {"nodes": [order_node(o) for o in rest_orders],
                                "pageInfo": {"hasNextPage": has_next, "endCursor": cursor}}},
            "extensions": {"cost": {"requestedQueryCost": 300, "actualQueryCost": 120, "throttleStatus": {
                "maximumAvailable": 2000.0, "currentlyAvailable": 1880, "restoreRate": 100.0}}}}


def refunds_response(*rest_refunds) -> dict:
    return {"data": {"order": {"refunds": [refund_node(r) for r in rest_refunds]}}}


PROTECTED_DATA_DOCS = "https://shopify.dev/docs/apps/launch/protected-customer-data"


def withholding(answer: dict, root: str, fields: tuple[str, ...], *, under: str | None = None) -> dict:
    """`answer` as Shopify gives it to an app not approved for protected customer fields: each
    field null, and one ACCESS_DENIED error with its path, for every node of `root`'s page (the
    fields of the node itself, or of its `under` object, e.g. an order's customer)."""
    data = answer["data"]
    errors = []
    for index, node in enumerate(data[root]["nodes"]):
        owner = node[under] if under else node
        if owner is None:
            continue
        for name in fields:
            owner[name] = None
            errors.append({"message": f"This app is not approved to use the {name} field. See "
                                      f"{PROTECTED_DATA_DOCS} for more details.",
                           "locations": [{"line": 1, "column": 1}],
                           "path": [root, "nodes", index, *([under] if under else []), name],
                           "extensions": {"code": "ACCESS_DENIED", "documentation": PROTECTED_DATA_DOCS}})
    return {**answer, "errors": errors}
