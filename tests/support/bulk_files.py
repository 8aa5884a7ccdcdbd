"""Shopify's bulk export of orders, for tests: the JSONL file the orders query of
app.shopify.documents.BULK_ORDERS_QUERY gives for real-shaped REST orders (ungrouped, as
Shopify writes it unless asked for `groupObjects: true`: children apart from their parents,
some before them), the operation as `node(id:)` reports it, the refunds' details as
`nodes(ids:)` answers them, and the file served with Range support through `responses`."""
from __future__ import annotations

import json
import re
from collections.abc import Callable

import responses

from tests.support.graphql_orders import order_node, refund_node

FILE_URL = "https://storage.googleapis.com/shopify-tiers-assets-prod-us-east1/bulk-operation-outputs/export.jsonl"
OPERATION_ID = "gid://shopify/BulkOperation/3514700001"


def _refund_gid(refund: dict) -> str:
    return f"gid://shopify/Refund/{refund['id']}"


def order_lines(order: dict, refunds: list[dict]) -> list[dict]:
    """The order's line, then its children with `__parentId`, as grouped output has them. The
    refunds are named in the order's line only: their line items are a connection inside a list,
    which a bulk query cannot select."""
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
    return [line, *children]


def jsonl(*orders: tuple[dict, list[dict]], grouped: bool = False) -> bytes:
    """The export file. Ungrouped (Shopify's default since 2026-01): the children of every order
    first, in reverse, then the orders; so each child comes before its order, far from it."""
    per_order = [order_lines(order, refunds) for order, refunds in orders]
    if grouped:
        lines = [line for lines_ in per_order for line in lines_]
    else:
        lines = [child for lines_ in reversed(per_order) for child in reversed(lines_[1:])] + \
            [lines_[0] for lines_ in per_order]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def refund_details(*refunds: dict) -> Callable[[dict], dict]:
    """`nodes(ids:)` over these REST refunds: each asked-for refund in its place, null for one
    Shopify does not have, as Shopify answers."""
    known = {_refund_gid(r): {"id": _refund_gid(r), **_paged(refund_node(r))} for r in refunds}

    def reply(body: dict) -> dict:
        assert body["operationName"] == "RefundDetails", body["operationName"]
        return {"data": {"nodes": [known.get(i) for i in body["variables"]["ids"]]}}
    return reply


def _paged(refund: dict) -> dict:
    last_page = {"hasNextPage": False, "endCursor": None}
    return {**refund, "refundLineItems": {**refund["refundLineItems"], "pageInfo": last_page},
            "refundShippingLines": {**refund["refundShippingLines"], "pageInfo": {"hasNextPage": False}}}


def bulk_refusal(body: dict) -> dict | None:
    """Shopify's answer to a bulkOperationRunQuery whose query breaks the bulk rules (a
    connection inside a list, too deep, ...), or None when the query is acceptable."""
    from graphql import GraphQLError, parse

    from app.devstore.bulk import CONNECTION_IN_LIST, bulk_query_problems
    from tests.support.admin_schema import admin_schema
    if "bulkOperationRunQuery" not in body["query"]:
        return None
    try:
        problems = bulk_query_problems(admin_schema(), parse(body["variables"]["query"]))
    except GraphQLError as exc:
        problems = [exc.message]
    if not problems:
        return None
    message = problems[0] if problems[0] == CONNECTION_IN_LIST else f"Invalid bulk query: {problems[0]}"
    return {"data": {"bulkOperationRunQuery": {"bulkOperation": None, "userErrors": [
        {"field": ["query"], "code": "INVALID", "message": message}]}}}


def started(operation_id: str = OPERATION_ID) -> dict:
    return {"data": {"bulkOperationRunQuery": {"bulkOperation": {"id": operation_id, "status": "CREATED",
                                                                 "createdAt": "2025-02-14T15:00:00Z"},
                                               "userErrors": []}}}


def operation(status: str, *, roots: int = 0, url: str | None = None, error_code: str | None = None,
              operation_id: str = OPERATION_ID, query: str = "", file_size: int | None = None) -> dict:
    file_size = None if file_size is None else str(file_size)
    return {"data": {"node": {"id": operation_id, "status": status, "errorCode": error_code,
                              "createdAt": "2025-02-14T15:00:00Z", "completedAt": None,
                              "objectCount": str(roots * 3), "rootObjectCount": str(roots), "fileSize": file_size,
                              "url": url, "partialDataUrl": None, "query": query}}}


class FileServer:
    """The export file behind FILE_URL; records each request's Range header. Queue statuses
    (e.g. 500) to answer the next requests with instead, or byte counts to cut the next answers
    to (a connection that closes early without an error)."""

    def __init__(self, rsps: responses.RequestsMock, content: bytes):
        self.content = content
        self.ranges: list[str | None] = []
        self.failures: list[int] = []
        self.cuts: list[int] = []
        rsps.add_callback(responses.GET, FILE_URL, callback=self._answer)

    def _answer(self, request):
        self.ranges.append(request.headers.get("Range"))
        if self.failures:
            return self.failures.pop(0), {}, b"unavailable"
        status, headers, body = self._file(request)
        return (status, headers, body[:self.cuts.pop(0)]) if self.cuts else (status, headers, body)

    def _file(self, request):
        match = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range") or "")
        if match is None:
            return 200, {"Content-Type": "application/jsonl"}, self.content
        start = int(match.group(1))
        if start >= len(self.content):
            return 416, {}, b""
        return 206, {"Content-Range": f"bytes {start}-{len(self.content) - 1}/{len(self.content)}"}, \
            self.content[start:]
