"""Shopify's bulk export of orders, for tests: the JSONL file the orders query of
app.shopify.documents.BULK_ORDERS_QUERY gives for real-shaped REST orders, the operation as
`node(id:)` reports it, and the file served with Range support through `responses`."""
from __future__ import annotations

import json
import re

import responses

from tests.support.graphql_orders import order_node, refund_node

FILE_URL = "https://storage.googleapis.com/shopify-tiers-assets-prod-us-east1/bulk-operation-outputs/export.jsonl"
OPERATION_ID = "gid://shopify/BulkOperation/3514700001"


def _refund_gid(refund: dict) -> str:
    return f"gid://shopify/Refund/{refund['id']}"


def order_lines(order: dict, refunds: list[dict]) -> list[dict]:
    """The order's line, then its children with `__parentId`, as Shopify groups them (2025-01)."""
    node = order_node(order)
    line = {k: v for k, v in node.items() if k not in ("lineItems", "shippingLines", "refunds")}
    taxes_included = order.get("taxes_included", False)
    line["refunds"] = [{"id": _refund_gid(r), "legacyResourceId": str(r["id"]), "createdAt": r["created_at"],
                        "totalRefundedSet": refund_node(r, taxes_included)["totalRefundedSet"], "duties": []}
                       for r in refunds]
    children = [{"id": f"gid://shopify/ShippingLine/{i}", **s, "__parentId": node["id"]}
                for i, s in enumerate(node["shippingLines"]["nodes"])]
    children += [{"id": f"gid://shopify/LineItem/{i}", **li, "__parentId": node["id"]}
                 for i, li in enumerate(node["lineItems"]["nodes"])]
    for refund in refunds:
        shaped = refund_node(refund, taxes_included)
        children += [{"id": f"gid://shopify/RefundLineItem/{i}", **item, "__parentId": _refund_gid(refund)}
                     for i, item in enumerate(shaped["refundLineItems"]["nodes"])]
        children += [{"id": f"gid://shopify/RefundShippingLine/{i}", **s, "__parentId": _refund_gid(refund)}
                     for i, s in enumerate(shaped["refundShippingLines"]["nodes"])]
    return [line, *children]


def jsonl(*orders: tuple[dict, list[dict]]) -> bytes:
    lines = [line for order, refunds in orders for line in order_lines(order, refunds)]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def started(operation_id: str = OPERATION_ID) -> dict:
    return {"data": {"bulkOperationRunQuery": {"bulkOperation": {"id": operation_id, "status": "CREATED",
                                                                 "createdAt": "2025-02-14T15:00:00Z"},
                                               "userErrors": []}}}


def operation(status: str, *, roots: int = 0, url: str | None = None, error_code: str | None = None,
              operation_id: str = OPERATION_ID, query: str = "") -> dict:
    return {"data": {"node": {"id": operation_id, "status": status, "errorCode": error_code,
                              "createdAt": "2025-02-14T15:00:00Z", "completedAt": None,
                              "objectCount": str(roots * 3), "rootObjectCount": str(roots), "fileSize": None,
                              "url": url, "partialDataUrl": None, "query": query}}}


class FileServer:
    """The export file behind FILE_URL; records each request's Range header. Queue statuses
    (e.g. 500) to answer the next requests with instead."""

    def __init__(self, rsps: responses.RequestsMock, content: bytes):
        self.content = content
        self.ranges: list[str | None] = []
        self.failures: list[int] = []
        rsps.add_callback(responses.GET, FILE_URL, callback=self._answer)

    def _answer(self, request):
        self.ranges.append(request.headers.get("Range"))
        if self.failures:
            return self.failures.pop(0), {}, b"unavailable"
        match = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range") or "")
        if match is None:
            return 200, {"Content-Type": "application/jsonl"}, self.content
        start = int(match.group(1))
        if start >= len(self.content):
            return 416, {}, b""
        return 206, {"Content-Range": f"bytes {start}-{len(self.content) - 1}/{len(self.content)}"}, \
            self.content[start:]
