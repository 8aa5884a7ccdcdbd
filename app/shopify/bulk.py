"""Reading a bulk operation's JSONL file: streamed over HTTP, resumable at a byte offset, and
put back together into one order at a time.

Shopify writes a root object (an order) on one line, followed by one line per node of its
nested connections, each carrying `__parentId`: the order's id for line items and shipping
lines, the refund's id for refund line items and refund shipping lines (refunds themselves are
a plain list, so they stay inside the order's line). Up to API version 2025-01 a parent's
children follow it before the next root object starts, so an order is complete when the next
order's line arrives; a child that turns up anywhere else means the file cannot be read in one
pass, and reading stops with BulkFileError rather than importing half an order.

Every order comes with the byte offset just after its last line: saving that offset after a
batch is committed lets a resumed import ask for the rest of the file with an HTTP Range
request instead of downloading what it already imported.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

CHUNK_BYTES = 1 << 20
DOWNLOAD_TIMEOUT = (10, 120)  # connect, and between two chunks


class BulkFileError(Exception):
    """The file cannot be read as Tessera's orders export (cut short, or children out of place)."""


class BulkDownloadError(Exception):
    """The file could not be downloaded (expired link, network failure)."""


@dataclass
class BulkOrder:
    """One order from the file, in the shapes `order_payload_from_graphql` reads."""

    node: dict[str, Any]
    line_items: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    end_offset: int = 0  # byte offset just after the order's last line
    lines: int = 0


def stream_records(http: requests.Session, url: str, *, start_offset: int = 0) -> Iterator[tuple[int, dict]]:
    """(offset after the line, the line's object) from `start_offset` to the end of the file."""
    headers = {"Range": f"bytes={start_offset}-"} if start_offset else {}
    try:
        with http.get(url, headers=headers, stream=True, timeout=DOWNLOAD_TIMEOUT) as response:
            if response.status_code == 416:  # nothing after the offset: the file was read to its end
                return
            if response.status_code not in (200, 206):
                raise BulkDownloadError(f"the orders file answered HTTP {response.status_code}")
            # A server that ignores Range sends the whole file: skip what was imported already.
            skip = start_offset if response.status_code == 200 else 0
            yield from jsonl_records(_skipping(response.iter_content(CHUNK_BYTES), skip), start_offset)
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
    offset, pending = start_offset, b""
    for chunk in chunks:
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            offset += len(line) + 1
            if line.strip():
                yield offset, json.loads(line)
    if pending.strip():
        yield offset + len(pending), json.loads(pending)


def orders_from_records(records: Iterable[tuple[int, dict]]) -> Iterator[BulkOrder]:
    """Orders with their children, in file order."""
    current: _Assembly | None = None
    for offset, record in records:
        parent = record.pop("__parentId", None)
        if parent is None:
            if current is not None:
                yield current.order
            current = _Assembly(record)
        elif current is None:
            raise BulkFileError(f"a line of {parent} comes before any order; the file does not start at an order")
        else:
            current.add(parent, record)
        current.order.end_offset = offset
        current.order.lines += 1
    if current is not None:
        yield current.order


class _Assembly:
    def __init__(self, node: dict):
        self.shipping_lines: list[dict] = []
        node["shippingLines"] = {"nodes": self.shipping_lines}
        self.refunds = {refund["id"]: refund for refund in node.get("refunds") or []}
        for refund in self.refunds.values():
            refund["refundLineItems"], refund["refundShippingLines"] = {"nodes": []}, {"nodes": []}
        self.order = BulkOrder(node=node, refunds=list(self.refunds.values()))

    def add(self, parent: str, record: dict) -> None:
        # Which connection a line belongs to, from the fields Tessera's query selects for it.
        if parent == self.order.node["id"]:
            target = self.order.line_items if "quantity" in record else self.shipping_lines
            target.append(record)
        elif parent in self.refunds:
            refund = self.refunds[parent]
            key = "refundLineItems" if "subtotalSet" in record else "refundShippingLines"
            refund[key]["nodes"].append(record)
        else:
            raise BulkFileError(f"a line of {parent} is not next to its order {self.order.node['id']}; "
                                "the file's lines are not grouped by order")
