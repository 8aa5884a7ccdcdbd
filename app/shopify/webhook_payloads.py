"""What each webhook topic's body looks like (Shopify's payload shapes, as in tests/ fixtures).

The HMAC covers the body only: the topic and shop headers are not signed. A captured body
replayed with another X-Shopify-Topic or X-Shopify-Shop-Domain still verifies, so before a
delivery is applied its body must have the shape of its topic, and the shop fields Shopify puts
in some bodies (`myshopify_domain`, `shop_domain`) must name the shop the delivery is for.
Each shape lists keys the body must carry (with their JSON type) and the marker keys of other
shapes it must not carry: a customers/redact body names a shop too, but it must never pass
for a shop/redact.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PayloadShape:
    name: str
    required: dict[str, type]
    forbidden: frozenset[str]
    shop_field: str | None = None


_SHOP_FIELDS = frozenset({"myshopify_domain", "shop_domain"})
ORDER = PayloadShape("an order", {"id": int, "line_items": list},
                     frozenset({"order_id", "refund_line_items"}) | _SHOP_FIELDS)
REFUND = PayloadShape("a refund", {"id": int, "order_id": int, "refund_line_items": list},
                      frozenset({"line_items"}) | _SHOP_FIELDS)
CUSTOMER = PayloadShape("a customer", {"id": int},
                        frozenset({"line_items", "order_id", "refund_line_items"}) | _SHOP_FIELDS)
SHOP = PayloadShape("a shop", {"id": int, "myshopify_domain": str},
                    frozenset({"line_items", "refund_line_items", "shop_domain", "customer"}), "myshopify_domain")
DATA_REQUEST = PayloadShape("a customer data request",
                            {"shop_id": int, "shop_domain": str, "customer": dict, "data_request": dict},
                            frozenset({"orders_to_redact"}), "shop_domain")
CUSTOMER_REDACT = PayloadShape("a customer redaction",
                               {"shop_id": int, "shop_domain": str, "customer": dict, "orders_to_redact": list},
                               frozenset({"data_request", "orders_requested"}), "shop_domain")
SHOP_REDACT = PayloadShape("a shop redaction", {"shop_id": int, "shop_domain": str},
                           frozenset({"customer", "orders_to_redact", "data_request", "orders_requested"}),
                           "shop_domain")

SHAPE_BY_TOPIC: dict[str, PayloadShape] = {
    **{f"orders/{event}": ORDER for event in ("create", "paid", "updated", "cancelled", "fulfilled")},
    "refunds/create": REFUND,
    **{f"customers/{event}": CUSTOMER for event in ("create", "update", "delete")},
    "app/uninstalled": SHOP,
    "shop/update": SHOP,
    "customers/data_request": DATA_REQUEST,
    "customers/redact": CUSTOMER_REDACT,
    "shop/redact": SHOP_REDACT,
}

_JSON_TYPE = {int: "a number", str: "a string", list: "a list", dict: "an object"}


def payload_mismatch(topic: str, payload: Any, shop_domain: str) -> str | None:
    """Why this body cannot be a `topic` delivery for `shop_domain`, or None when it can."""
    shape = SHAPE_BY_TOPIC.get(topic)
    if shape is None:
        return None
    if not isinstance(payload, dict):
        return f"a {topic} body is {shape.name} (a JSON object)"
    for key, kind in shape.required.items():
        if not _is(payload.get(key), kind):
            return f"a {topic} body is {shape.name} with '{key}' as {_JSON_TYPE[kind]}"
    extra = sorted(shape.forbidden & payload.keys())
    if extra:
        return f"a {topic} body is {shape.name}, but this one carries {', '.join(extra)}"
    if shape.shop_field and payload[shape.shop_field].strip().lower() != shop_domain:
        return (f"the body's {shape.shop_field} ({payload[shape.shop_field]!r}) is not the shop in "
                f"X-Shopify-Shop-Domain ({shop_domain})")
    return None


def _is(value: Any, kind: type) -> bool:
    # JSON true/false are bools, which Python also counts as ints.
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))
