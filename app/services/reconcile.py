"""Reconciliation: webhooks can be missed, so the shop's recently updated orders are read back
from the Admin API and fed through the very same order service. The ledger's idempotency keys
make this safe to run any time: only what is missing gets written."""
from __future__ import annotations

from collections import Counter
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.loyalty.orders import parse_order
from app.models import LedgerEntry, Order, Refund, Shop
from app.services.orders import apply_order
from app.shopify.admin_access import AdminAccess, call_admin, call_admin_partial
from app.shopify.documents import (ORDER_LINE_ITEMS, ORDER_REFUNDS, ORDERS_UPDATED_SINCE, REFUND_DETAILS,
                                   REFUND_LINE_ITEMS, REFUNDS_PER_PAGE)
from app.shopify.graphql import PartialResult, ShopifyError

log = logging.getLogger(__name__)

# What Shopify withholds from an app not approved for protected customer data (level 2: name,
# email, phone, address). The loyalty program runs on customer ids, so it can do without them.
PROTECTED_CUSTOMER_FIELDS = frozenset({"email", "phone", "firstName", "lastName", "displayName", "defaultAddress",
                                       "addresses", "defaultEmailAddress", "defaultPhoneNumber"})


def withheld_customer_fields(result: PartialResult) -> list[str]:
    """The protected customer fields Shopify left out of `result`. Anything else withheld would
    change what Tessera concludes (a withheld customer looks like a guest), so it stops here."""
    others = sorted({d.name for d in result.denied} - PROTECTED_CUSTOMER_FIELDS)
    if others:
        raise ShopifyError(f"Shopify refused access to {', '.join(others)}: {result.denied[0].message}")
    return result.denied_names


def withheld_advice(fields: list[str]) -> str:
    return (f"Shopify withheld protected customer fields ({', '.join(fields)}), so members were updated without "
            "them. To receive them, request access to protected customer data (name, email, phone, address) for "
            "Tessera in the Partner Dashboard or Dev Dashboard (API access > Protected customer data access); once "
            "Shopify approves it, run this again.")


@dataclass
class ReconcileReport:
    shop: str
    orders_seen: int = 0
    orders_missing: int = 0
    refunds_missing: int = 0
    entries_added: Counter = field(default_factory=Counter)
    points_added: int = 0
    repaired: list[str] = field(default_factory=list)
    withheld: set[str] = field(default_factory=set)  # protected customer fields Shopify left out

    def lines(self) -> list[str]:
        added = ", ".join(f"{n} {kind}" for kind, n in sorted(self.entries_added.items())) or "nothing"
        lines = [f"{self.shop}: {self.orders_seen} orders checked, {self.orders_missing} unknown orders and "
                 f"{self.refunds_missing} unknown refunds found; ledger entries added: {added} "
                 f"({self.points_added:+} points)"]
        if self.withheld:
            lines.append(f"  warning: {withheld_advice(sorted(self.withheld))}")
        return lines + [f"  repaired {r}" for r in self.repaired]


def _money(money_bag: dict | None) -> dict:
    shop_money = (money_bag or {}).get("shopMoney") or {}
    return {"shop_money": {"amount": shop_money.get("amount"), "currency_code": shop_money.get("currencyCode")}}


def _legacy_id(gid: str | None) -> int | None:
    return int(str(gid).rsplit("/", 1)[-1]) if gid else None


def _tax_lines(node: dict) -> list[dict]:
    return [{"price_set": _money(t.get("priceSet"))} for t in node.get("taxLines") or []]


def _line_item(node: dict) -> dict:
    return {"id": _legacy_id(node.get("id")), "quantity": node["quantity"],
            "current_quantity": node.get("currentQuantity"), "gift_card": node["isGiftCard"],
            "product_id": int((node.get("product") or {}).get("legacyResourceId") or 0) or None,
            "price_set": _money(node["originalUnitPriceSet"]), "tax_lines": _tax_lines(node),
            "discount_allocations": [{"amount_set": _money(a["allocatedAmountSet"])}
                                     for a in node.get("discountAllocations") or []]}


def _amount(money_bag: dict | None) -> Decimal:
    return Decimal(((money_bag or {}).get("shopMoney") or {}).get("amount") or 0)


def _refund_discrepancy(node: dict, taxes_included: bool) -> list[dict]:
    """GraphQL has no adjustment kinds any more: what a refund gave back beyond (or short of) its
    lines and shipping is its total refunded, less refunded duties, against their amounts. Written
    as the REST payload's `refund_discrepancy` adjustment (positive when refunded short)."""
    if not node.get("totalRefundedSet"):
        return []
    lines, shipping = node["refundLineItems"]["nodes"], node["refundShippingLines"]["nodes"]
    calculated = sum((_amount(n["subtotalSet"]) for n in lines), Decimal(0)) + sum(
        (_amount(n["subtotalAmountSet"]) for n in shipping), Decimal(0))
    if not taxes_included:
        calculated += sum((_amount(n["totalTaxSet"]) for n in lines), Decimal(0)) + sum(
            (_amount(n["taxAmountSet"]) for n in shipping), Decimal(0))
    refunded = _amount(node["totalRefundedSet"]) - sum((_amount(d["amountSet"]) for d in node.get("duties") or []),
                                                       Decimal(0))
    if refunded == calculated:
        return []
    return [{"kind": "refund_discrepancy", "amount_set": {"shop_money": {"amount": str(calculated - refunded)}}}]


def _refund(order_id: int, node: dict, taxes_included: bool = False) -> dict:
    return {"id": int(node["legacyResourceId"]), "order_id": order_id, "created_at": node.get("createdAt"),
            "refund_line_items": [{"line_item": {"gift_card": (n.get("lineItem") or {}).get("isGiftCard", False)},
                                   "line_item_id": _legacy_id((n.get("lineItem") or {}).get("id")),
                                   "quantity": n.get("quantity", 0),
                                   "subtotal_set": _money(n["subtotalSet"]), "total_tax_set": _money(n["totalTaxSet"])}
                                  for n in node["refundLineItems"]["nodes"]],
            "refund_shipping_lines": [{"subtotal_amount_set": _money(n["subtotalAmountSet"]),
                                       "tax_amount_set": _money(n["taxAmountSet"])}
                                      for n in node["refundShippingLines"]["nodes"]],
            "order_adjustments": _refund_discrepancy(node, taxes_included)}


def order_payload_from_graphql(node: dict, line_items: list[dict], refunds: list[dict]) -> dict[str, Any]:
    """The GraphQL order in the REST webhook shape the order service reads."""
    order_id = int(node["legacyResourceId"])
    customer = node.get("customer") or {}
    taxes_included = bool(node.get("taxesIncluded"))
    return {
        "id": order_id, "name": node["name"], "test": node["test"], "processed_at": node["processedAt"],
        "updated_at": node["updatedAt"], "cancelled_at": node.get("cancelledAt"), "currency": node["currencyCode"],
        "financial_status": (node.get("displayFinancialStatus") or "").lower() or None,
        "fulfillment_status": (node.get("displayFulfillmentStatus") or "").lower() or None,
        "buyer_accepts_marketing": node.get("customerAcceptsMarketing", False),
        "discount_codes": [{"code": code} for code in node.get("discountCodes") or []],
        "note_attributes": [{"name": a["key"], "value": a["value"]} for a in node.get("customAttributes") or []],
        "customer": {"id": int(customer["legacyResourceId"]),
                     "email": (customer.get("defaultEmailAddress") or {}).get("emailAddress"),
                     "first_name": customer.get("firstName"), "last_name": customer.get("lastName")}
        if customer else None,
        "subtotal_price_set": _money(node.get("subtotalPriceSet")), "total_price_set": _money(node["totalPriceSet"]),
        "total_tax_set": _money(node.get("totalTaxSet")), "taxes_included": taxes_included,
        "shipping_lines": [{"price_set": _money(s["discountedPriceSet"]), "tax_lines": _tax_lines(s)}
                           for s in node["shippingLines"]["nodes"]],
        "line_items": [_line_item(n) for n in line_items],
        "refunds": [_refund(order_id, r, taxes_included) for r in refunds],
    }


def _all_line_items(shopify: AdminAccess, session: Session, shop: Shop, node: dict) -> list[dict]:
    items, page = list(node["lineItems"]["nodes"]), node["lineItems"]["pageInfo"]
    while page["hasNextPage"]:
        more = call_admin(shopify, session, shop, ORDER_LINE_ITEMS, {"id": node["id"], "after": page["endCursor"]})
        items += more["order"]["lineItems"]["nodes"]
        page = more["order"]["lineItems"]["pageInfo"]
    return items


def _refunds(shopify: AdminAccess, session: Session, shop: Shop, node: dict) -> list[dict]:
    if not node.get("refunds"):
        return []
    return call_admin(shopify, session, shop, ORDER_REFUNDS, {"id": node["id"]})["order"]["refunds"]


def refund_details(shopify: AdminAccess, session: Session, shop: Shop, refund_ids: list[str]) -> dict[str, dict]:
    """Refund id -> the refund's line items and shipping lines, a few refunds per request (the
    bulk export can only name refunds: their line items are a connection inside a list)."""
    found: dict[str, dict] = {}
    for start in range(0, len(refund_ids), REFUNDS_PER_PAGE):
        ids = refund_ids[start:start + REFUNDS_PER_PAGE]
        for refund_id, node in zip(ids, call_admin(shopify, session, shop, REFUND_DETAILS, {"ids": ids})["nodes"]):
            if node is None:
                raise ShopifyError(f"Shopify did not return refund {refund_id}, which its orders export names")
            found[refund_id] = _all_refund_lines(shopify, session, shop, node)
    return found


def _all_refund_lines(shopify: AdminAccess, session: Session, shop: Shop, node: dict) -> dict:
    if node["refundShippingLines"]["pageInfo"]["hasNextPage"]:
        # Shopify refunds each shipping line of an order at most once; an order has a few.
        raise ShopifyError(f"refund {node['id']} has more shipping lines than Tessera reads (3)")
    lines, page = list(node["refundLineItems"]["nodes"]), node["refundLineItems"]["pageInfo"]
    while page["hasNextPage"]:
        more = call_admin(shopify, session, shop, REFUND_LINE_ITEMS, {"id": node["id"], "after": page["endCursor"]})
        lines += more["node"]["refundLineItems"]["nodes"]
        page = more["node"]["refundLineItems"]["pageInfo"]
    return {**node, "refundLineItems": {"nodes": lines}}


def _known(session: Session, shop: Shop, payload: dict) -> tuple[bool, set[int]]:
    known_order = session.scalar(select(Order.id).where(Order.shop_id == shop.id, Order.order_id == payload["id"]))
    refund_ids = {r["id"] for r in payload["refunds"]}
    known_refunds = set(session.scalars(select(Refund.refund_id).where(
        Refund.shop_id == shop.id, Refund.refund_id.in_(refund_ids)))) if refund_ids else set()
    return known_order is not None, refund_ids - known_refunds


def _last_entry_id(session: Session, shop: Shop) -> int:
    return session.scalar(select(func.coalesce(func.max(LedgerEntry.id), 0)).where(LedgerEntry.shop_id == shop.id))


def reconcile_shop(admin: AdminAccess, session: Session, shop: Shop, *, since: datetime,
                   clock: Callable[[], datetime]) -> ReconcileReport:
    report = ReconcileReport(shop.domain)
    query = f"updated_at:>='{since.strftime('%Y-%m-%dT%H:%M:%SZ')}'"
    after = None
    while True:
        result = call_admin_partial(admin, session, shop, ORDERS_UPDATED_SINCE, {"query": query, "after": after})
        _note_withheld(shop, report, withheld_customer_fields(result))
        page = result.data["orders"]
        for node in page["nodes"]:
            reconcile_order(admin, session, shop, node, report, now=clock())
        if not page["pageInfo"]["hasNextPage"]:
            return report
        after = page["pageInfo"]["endCursor"]


def _note_withheld(shop: Shop, report: ReconcileReport, fields: list[str]) -> None:
    if fields and not set(fields) <= report.withheld:
        report.withheld.update(fields)
        log.warning("reconcile %s: %s", shop.domain, withheld_advice(sorted(report.withheld)))


def reconcile_order(admin: AdminAccess, session: Session, shop: Shop, node: dict, report: ReconcileReport, *,
                    now: datetime) -> None:
    payload = order_payload_from_graphql(node, _all_line_items(admin, session, shop, node),
                                         _refunds(admin, session, shop, node))
    known_order, missing_refunds = _known(session, shop, payload)
    before = _last_entry_id(session, shop)
    apply_order(session, shop, parse_order(payload), now=now)
    session.commit()  # one order per transaction keeps member locks short
    added = session.execute(select(LedgerEntry.kind, LedgerEntry.points).where(
        LedgerEntry.shop_id == shop.id, LedgerEntry.id > before)).all()
    report.orders_seen += 1
    report.orders_missing += not known_order
    report.refunds_missing += len(missing_refunds)
    for kind, points in added:
        report.entries_added[kind] += 1
        report.points_added += points
    if added:
        report.repaired.append(f"order {payload['name']}: " + ", ".join(f"{k} {p:+}" for k, p in added))
