"""Reading a bulk operation's JSONL file: streamed over HTTP, resumable at a byte offset, and
its lines put back together into orders.

Shopify writes a root object (an order) on one line and one line per node of its nested
connections (line items, shipping lines), each carrying `__parentId`, the order's id. Refunds
are a plain list inside the order's line; Shopify refuses a bulk query with a connection inside
a list, so their line items come from the Admin API afterwards (`with_refund_details`).
Shopify promises no order of lines: up to 2025-10 a parent's children followed it (grouped);
from 2026-01 they do not unless `groupObjects: true` is asked for, and may come before their
parent or far from it. So the importer keeps the lines (services.bulk_staging) and puts each
order together from them once the whole file is read: `assemble_order`.

Every line comes with the byte offset just after it: saving that offset with the lines kept
lets a resumed import ask for the rest of the file with an HTTP Range request instead of
downloading what it already has.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

CHUNK_BYTES = 1 << 20
DOWNLOAD_TIMEOUT = (10, 120)  # connect, and between two chunks


class BulkFileError(Exception):
    """The file cannot be read as Tessera's orders export (a line cut short, a child without its order)."""


class BulkDownloadError(Exception):
    """The file could not be downloaded (expired link, network failure)."""


@dataclass
class BulkOrder:
    """One order from the file, in the shapes `order_payload_from_graphql` reads."""

    node: dict[str, Any]
    line_items: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)


def stream_records(http: requests.Session, url: str, *, start_offset: int = 0) -> Iterator[tuple[int, dict]]:
    """(offset after the line, the line's object) from `start_offset` to the end of the file."""
    for offset, line in stream_lines(http, url, start_offset=start_offset):
        yield offset, json.loads(line)


def stream_lines(http: requests.Session, url: str, *, start_offset: int = 0) -> Iterator[tuple[int, bytes]]:
    """(offset after the line, the line's bytes) from `start_offset` to the end of the file."""
    headers = {"Range": f"bytes={start_offset}-"} if start_offset else {}
    try:
        with http.get(url, headers=headers, stream=True, timeout=DOWNLOAD_TIMEOUT) as response:
            if response.status_code == 416:  # nothing after the offset: the file was read to its end
                return
            if response.status_code not in (200, 206):
                raise BulkDownloadError(f"the orders file answered HTTP {response.status_code}")
            # A server that ignores Range sends the whole file: skip what was imported already.
            skip = start_offset if response.status_code == 200 else 0
            yield from jsonl_lines(_skipping(response.iter_content(CHUNK_BYTES), skip), start_offset)
    except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
        raise BulkDownloadError(f"the orders file download was interrupted ({type(exc).__name__})") from exc


def _skipping(chunks: Iterable[bytes], skip: int) -> Iterator[bytes]:
    for chunk in chunks:
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        yield chunk[skip:]
        skip = 0


def jsonl_records(chunks: Iterable[bytes], start_offset: int = 0) -> Iterator[tuple[int, dict]]:
    for offset, line in jsonl_lines(chunks, start_offset):
        yield offset, json.loads(line)


def jsonl_lines(chunks: Iterable[bytes], start_offset: int = 0) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines of a stream cut anywhere, each with the offset just after it."""
    offset, pending = start_offset, b""
    for chunk in chunks:
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            offset += len(line) + 1
            if line.strip():
                yield offset, line
    if pending.strip():
        yield offset + len(pending), pending


# Inside a JSON string a quote is escaped, so this unescaped text can only be the key itself.
_PARENT_ID = re.compile(rb'"__parentId"\s*:\s*"([^"\\]+)"')


def parent_of_line(line: bytes) -> str | None:
    """A line's `__parentId` without parsing the whole line (millions of lines are kept)."""
    found = _PARENT_ID.search(line)
    return found.group(1).decode() if found else None


def assemble_order(node: dict, children: Iterable[dict]) -> BulkOrder:
    """An order from its line and its children's lines (any order, any source)."""
    shipping_lines: list[dict] = []
    order = BulkOrder(node={**node, "shippingLines": {"nodes": shipping_lines}},
                      refunds=[dict(refund) for refund in node.get("refunds") or []])
    for child in children:
        if child.get("__parentId") != node["id"]:
            raise BulkFileError(f"a line of {child.get('__parentId')} was given as a child of {node['id']}")
        # Which connection a line belongs to, from the fields Tessera's query selects for it.
        (order.line_items if "quantity" in child else shipping_lines).append(child)
    return order


def with_refund_details(order: BulkOrder, details: dict[str, dict]) -> BulkOrder:
    """The order's refunds completed with their line items and shipping lines, read by refund
    id from the Admin API (`details`: refund id -> Refund node)."""
    for refund in order.refunds:
        found = details.get(refund["id"])
        if found is None:
            raise BulkFileError(f"the details of refund {refund['id']} of {order.node['id']} are missing")
        refund["refundLineItems"] = found["refundLineItems"]
        refund["refundShippingLines"] = found["refundShippingLines"]
    return order
