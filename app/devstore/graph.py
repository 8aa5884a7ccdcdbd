"""Small helpers for the stand-in's GraphQL answers: money, connections, timestamps.

Resolvers return plain dicts; graphql-core's default resolver reads their keys and calls
callables with the field's arguments, which is how connections honour `first`/`after`.
"""
from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any


def iso(at: datetime | None) -> str | None:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if at else None


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def amount_text(value: Decimal | str | int) -> str:
    return f"{Decimal(value):.2f}"


def money(value: Decimal | str, currency: str) -> dict[str, str]:
    return {"amount": amount_text(value), "currencyCode": currency}


def money_bag(value: Decimal | str, currency: str) -> dict[str, dict[str, str]]:
    # The demo shop sells in its own currency only, so both sides of the bag agree.
    return {"shopMoney": money(value, currency), "presentmentMoney": money(value, currency)}


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def _index(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(base64.b64decode(cursor).decode().split(":", 1)[1])
    except (ValueError, IndexError):
        return None


def connection(items: Sequence[Any], *, first: int | None = None, after: str | None = None,
               last: int | None = None, before: str | None = None,
               to_node: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """A Relay connection page; `to_node` shapes only the items on the page."""
    indexed = list(enumerate(items))
    start, end = _index(after), _index(before)
    if start is not None:
        indexed = [(i, item) for i, item in indexed if i > start]
    if end is not None:
        indexed = [(i, item) for i, item in indexed if i < end]
    page = indexed[:first] if first is not None else indexed
    if last is not None:
        page = page[-last:]
    if to_node is not None:
        page = [(i, to_node(item)) for i, item in page]
    return {"nodes": [item for _, item in page],
            "edges": [{"cursor": _cursor(i), "node": item} for i, item in page],
            "pageInfo": {"hasNextPage": bool(page) and page[-1][0] < (indexed[-1][0] if indexed else -1),
                         "hasPreviousPage": bool(page) and page[0][0] > 0,
                         "startCursor": _cursor(page[0][0]) if page else None,
                         "endCursor": _cursor(page[-1][0]) if page else None}}


def paged(items: Sequence[Any]) -> Callable[..., dict[str, Any]]:
    """A field resolver for a connection over `items` (ignores sort/query arguments)."""
    def resolve(_info, first=None, after=None, last=None, before=None, **_ignored):
        return connection(items, first=first, after=after, last=last, before=before)
    return resolve


def user_error(field: list[str], code: str | None, message: str, *, extra_info: bool = True) -> dict[str, Any]:
    error: dict[str, Any] = {"field": field, "code": code, "message": message}
    if extra_info:
        error["extraInfo"] = None
    return error
