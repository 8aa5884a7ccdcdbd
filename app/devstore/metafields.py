"""Metafield definitions and values as the Admin API keeps them (metafieldDefinitionCreate,
metafieldsSet), for the demo store and the test stub alike: the same refusals Shopify gives
(unknown types, values that do not parse, a type that contradicts the definition, more than 25
metafields per call, reserved or malformed namespaces and keys, owners that do not exist).
metafieldsSet is atomic: one bad metafield and nothing is written."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

MAX_PER_CALL = 25
SAFE_INTEGER = 9007199254740991
KEY = re.compile(r"[A-Za-z0-9_-]{2,64}")
NAMESPACE = re.compile(r"(\$app(:[A-Za-z0-9_-]{2,255})?|[A-Za-z0-9_-]{3,255})")
RESERVED_NAMESPACES = ("shopify", "shopify_standard", "shopify--")


def _integer(value: str) -> bool:
    return bool(re.fullmatch(r"-?[0-9]+", value)) and abs(int(value)) <= SAFE_INTEGER


def _url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https", "mailto", "sms", "tel") and bool(parts.netloc or parts.path)


VALUE_RULES = {
    "number_integer": (_integer, "Value must be an integer."),
    "single_line_text_field": (lambda v: "\n" not in v and "\r" not in v, "Value must be a single line text string."),
    "multi_line_text_field": (lambda v: True, ""),
    "url": (_url, "Value must be a valid URL with an allowed scheme (http, https, mailto, sms, tel)."),
    "boolean": (lambda v: v in ("true", "false"), "Value must be true or false."),
}


def _error(field: list, code: str, message: str, index: int | None = None, **extra) -> dict[str, Any]:
    return {"field": field, "code": code, "message": message, **({"elementIndex": index} if index is not None
                                                                    else {}), **extra}


def _namespace_problem(namespace: str) -> str | None:
    if not NAMESPACE.fullmatch(namespace):
        return "Namespace is invalid: use 3-255 letters, digits, '-' or '_', or '$app:' followed by them."
    if namespace.startswith(RESERVED_NAMESPACES):
        return f"Namespace {namespace} is reserved by Shopify."
    return None


def create_definition(state: dict, definition: dict, now: datetime) -> dict[str, Any]:
    """The payload of metafieldDefinitionCreate."""
    definitions = state.setdefault("metafield_definitions", [])
    namespace, key, kind = definition.get("namespace") or "$app", definition["key"], definition["type"]
    owner = definition["ownerType"]

    def refused(field, code, message):
        return {"createdDefinition": None, "userErrors": [_error(["definition", field], code, message)]}

    if problem := _namespace_problem(namespace):
        return refused("namespace", "INVALID", problem)
    if not KEY.fullmatch(key):
        return refused("key", "INVALID_CHARACTER", "Key contains one or more invalid characters.")
    if kind not in VALUE_RULES:
        return refused("type", "INCLUSION", f"Type name {kind} is not a valid type.")
    if any(d["namespace"] == namespace and d["key"] == key and d["ownerType"] == owner for d in definitions):
        return refused("key", "TAKEN", f"Key is in use for {owner.title()} metafields on the '{namespace}' namespace.")
    record = {"id": f"gid://shopify/MetafieldDefinition/{1000 + len(definitions)}", "name": definition["name"],
              "namespace": namespace, "key": key, "ownerType": owner, "type": kind,
              "access": definition.get("access") or {}, "created_at": now.isoformat()}
    definitions.append(record)
    return {"createdDefinition": definition_node(record), "userErrors": []}


def definition_node(record: dict) -> dict[str, Any]:
    storefront = (record.get("access") or {}).get("storefront") or "NONE"
    return {"id": record["id"], "name": record["name"], "namespace": record["namespace"], "key": record["key"],
            "ownerType": record["ownerType"], "type": {"name": record["type"], "category": "TEXT"},
            "access": {"storefront": storefront, "admin": "MERCHANT_READ", "customerAccount": "NONE"}}


def set_metafields(state: dict, inputs: list[dict], owner_exists, now: datetime) -> dict[str, Any]:
    """The payload of metafieldsSet; `owner_exists(gid)` says whether the owner is there."""
    if len(inputs) > MAX_PER_CALL:
        message = f"Exceeded the maximum metafields input limit of {MAX_PER_CALL}."
        return {"metafields": None, "userErrors": [_error(["metafields"], "LESS_THAN_OR_EQUAL_TO", message)]}
    errors = [e for i, entry in enumerate(inputs) for e in _problems(state, entry, i, owner_exists)]
    if errors:
        return {"metafields": None, "userErrors": errors}
    values = state.setdefault("metafields", {})
    written = []
    for entry in inputs:
        namespace = entry.get("namespace") or "$app"
        kind = entry.get("type") or _definition(state, entry["ownerId"], namespace, entry["key"])["type"]
        record = {"namespace": namespace, "key": entry["key"], "type": kind, "value": entry["value"],
                  "updated_at": now.isoformat()}
        values.setdefault(entry["ownerId"], {})[f"{namespace}.{entry['key']}"] = record
        written.append({"key": entry["key"], "namespace": namespace, "value": entry["value"], "type": kind,
                        "updatedAt": record["updated_at"]})
    return {"metafields": written, "userErrors": []}


def _definition(state: dict, owner_id: str, namespace: str, key: str) -> dict | None:
    owner = owner_id.split("/")[-2].upper() if owner_id.count("/") >= 4 else ""
    return next((d for d in state.get("metafield_definitions", []) if d["namespace"] == namespace
                 and d["key"] == key and d["ownerType"] == owner), None)


def _problems(state: dict, entry: dict, index: int, owner_exists) -> list[dict]:
    namespace, key, value, kind = entry.get("namespace") or "$app", entry["key"], entry["value"], entry.get("type")
    field = ["metafields", str(index)]
    if problem := _namespace_problem(namespace):
        return [_error([*field, "namespace"], "INVALID", problem, index)]
    if not KEY.fullmatch(key):
        return [_error([*field, "key"], "INVALID", "Key is invalid: use 2-64 letters, digits, '-' or '_'.", index)]
    if not owner_exists(entry["ownerId"]):
        return [_error([*field, "ownerId"], "INVALID", "Owner does not exist.", index)]
    definition = _definition(state, entry["ownerId"], namespace, key)
    if kind is None and definition is None:
        return [_error([*field, "type"], "BLANK", "Type can't be blank.", index)]
    if definition is not None and kind is not None and kind != definition["type"]:
        return [_error([*field, "type"], "INVALID_TYPE", f"Type '{kind}' must be consistent with the "
                                                         f"definition's type: '{definition['type']}'.", index)]
    kind = kind or definition["type"]
    if kind not in VALUE_RULES:
        return [_error([*field, "type"], "INVALID_TYPE", f"Type '{kind}' is not a valid type.", index)]
    valid, message = VALUE_RULES[kind]
    if not value.strip() or not valid(value):
        return [_error([*field, "value"], "INVALID_VALUE", message or "Value can't be blank.", index)]
    return []
