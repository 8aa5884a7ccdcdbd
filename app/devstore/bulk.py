"""Bulk query operations of the stand-in's Admin API: `bulkOperationRunQuery`, the operation
read back with `node(id:)`, `bulkOperation(id:)` or `bulkOperations`, and its JSONL file served by the app at
/devstore/bulk/<token>.jsonl (the stand-in for Shopify's signed storage links).

The query is held to Shopify's bulk rules (one top-level connection, at most five connections
nested at most two deep, no connection inside a list field, no variables) and to the real
schema, then run by graphql-core over the demo shop's records like any other query, and its
answer written as Shopify writes it: one line per node of every connection, a nested node
carrying `__parentId`. Lines are grouped (each parent's children right after it) only when the
mutation asks with `groupObjects: true`; otherwise, as Shopify's default since 2026-01, they come
in no promised order: the stand-in shuffles them (seeded by the operation, so a file is the same
every time it is read), children before their parents included, so a client that relies on
grouping fails here. The operation moves CREATED -> RUNNING -> COMPLETED one
step each time it is read, so a client has to poll as it does with Shopify.
"""
from __future__ import annotations

import json
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from graphql import (DocumentNode, FieldNode, GraphQLError, GraphQLSchema, InlineFragmentNode, OperationDefinitionNode,
                     OperationType, SelectionSetNode, execute, get_named_type, get_nullable_type, is_leaf_type,
                     is_list_type, parse, validate)

from app.devstore.graph import connection, iso, user_error
from app.devstore.schema import document_problems
from app.devstore.state import ShopState, gid, next_id

MAX_CONNECTIONS = 5
MAX_DEPTH = 2
# Shopify's words (bulkOperationRunQuery userErrors), e.g. for refunds { refundLineItems { ... } }.
CONNECTION_IN_LIST = "Queries that contain a connection field within a list field are not currently supported."
IN_PROGRESS = ("CREATED", "RUNNING")


@dataclass(frozen=True)
class BulkContext:
    """What running a bulk query needs beyond the shop's records."""

    schema: GraphQLSchema
    files: Path  # where the JSONL files are written
    file_url: Callable[[str], str]  # token -> the file's URL
    root: Callable[[], Any]  # the query root that resolves the inner query
    denied_scope: Callable[[str], str | None]  # root field -> the missing access scope, if any


def _operations(shop: ShopState) -> dict[str, dict]:
    return shop.setdefault("bulk_operations", {})


def run_query(shop: ShopState, query: str, context: BulkContext, now: datetime,
              group_objects: bool = False) -> dict[str, Any]:
    """The `bulkOperationRunQuery` payload."""
    running = next((op for op in _operations(shop).values() if op["status"] in IN_PROGRESS), None)
    if running is not None:
        return _refused("OPERATION_IN_PROGRESS", f"A bulk query operation for this app and shop is already in "
                                                 f"progress: {gid('BulkOperation', running['id'])}.", field=None)
    try:
        document = parse(query)
    except GraphQLError as exc:
        return _refused("INVALID", f"Invalid bulk query: {exc.message}")
    problems = [e.message for e in document_problems(context.schema, document)] or bulk_query_problems(context.schema, document)
    if problems:
        # Shopify's own sentence is passed on as it is; the stand-in's findings say what they are.
        return _refused("INVALID", problems[0] if problems[0] == CONNECTION_IN_LIST else
                        f"Invalid bulk query: {problems[0]}")
    operation_id = next_id(shop, "BulkOperation")
    record = {"id": operation_id, "token": secrets.token_urlsafe(18), "query": query, "status": "CREATED",
              "error_code": None, "created_at": iso(now), "completed_at": None, "object_count": 0,
              "root_object_count": 0, "file_size": None, "has_file": False, "group_objects": group_objects}
    denied = context.denied_scope(_top_field(document).name.value)
    if denied:
        record.update(status="FAILED", error_code="ACCESS_DENIED")
    _operations(shop)[str(operation_id)] = record
    return {"bulkOperation": _node(record, context), "userErrors": []}


def _refused(code: str, message: str, field: list[str] | None = ("query",)) -> dict[str, Any]:
    return {"bulkOperation": None, "userErrors": [user_error(list(field) if field else None, code, message,
                                                             extra_info=False)]}


def find_operation(shop: ShopState, node_id: str, context: BulkContext, now: datetime) -> dict[str, Any] | None:
    """`node(id:)`: only bulk operations are nodes the stand-in serves this way."""
    if not str(node_id).startswith("gid://shopify/BulkOperation/"):
        return None
    record = _operations(shop).get(str(node_id).rsplit("/", 1)[-1])
    return _advanced(shop, record, context, now) if record else None


def list_operations(shop: ShopState, context: BulkContext, now: datetime, *, query: str | None, sort_key: str,
                    reverse: bool, page: dict[str, Any]) -> dict[str, Any]:
    """`bulkOperations`: the app's operations matching `status:` / `operation_type:` terms,
    newest first unless `reverse` (Shopify's default order for this connection)."""
    terms = dict(term.split(":", 1) for term in (query or "").lower().split() if ":" in term)
    records = [op for op in _operations(shop).values()
               if terms.get("operation_type", "query") == "query" and terms.get("status", op["status"].lower())
               == op["status"].lower()]
    order_key = "completed_at" if sort_key == "COMPLETED_AT" else "created_at"
    records.sort(key=lambda op: (op[order_key] or "", op["id"]), reverse=not reverse)
    return connection(records, **page, to_node=lambda op: _advanced(shop, op, context, now))


def _advanced(shop: ShopState, record: dict, context: BulkContext, now: datetime) -> dict[str, Any]:
    if record["status"] == "CREATED":
        record["status"] = "RUNNING"
    elif record["status"] == "RUNNING":
        _write_file(shop, record, context, now)
    return _node(record, context)


def _node(record: dict, context: BulkContext) -> dict[str, Any]:
    url = context.file_url(record["token"]) if record["has_file"] else None
    return {"__typename": "BulkOperation", "id": gid("BulkOperation", record["id"]), "status": record["status"],
            "errorCode": record["error_code"], "createdAt": record["created_at"], "completedAt": record["completed_at"],
            "objectCount": str(record["object_count"]), "rootObjectCount": str(record["root_object_count"]),
            "fileSize": None if record["file_size"] is None else str(record["file_size"]), "url": url,
            "partialDataUrl": None, "query": record["query"], "type": "QUERY"}


def file_path(files: Path, token: str) -> Path:
    return files / f"{token}.jsonl"


def _write_file(shop: ShopState, record: dict, context: BulkContext, now: datetime) -> None:
    document = parse(record["query"])
    result = execute(context.schema, document, root_value=context.root())
    if result.errors:
        # Fields withheld from the app (protected customer data) fail the whole operation.
        denied = all((e.extensions or {}).get("code") == "ACCESS_DENIED" for e in result.errors)
        record.update(status="FAILED", error_code="ACCESS_DENIED" if denied else "INTERNAL_SERVER_ERROR")
        return
    lines = jsonl_lines(context.schema, document, result.data)
    if not record.get("group_objects"):
        random.Random(record["id"]).shuffle(lines)
    record.update(status="COMPLETED", completed_at=iso(now), object_count=len(lines),
                  root_object_count=sum(1 for line in lines if "__parentId" not in line))
    if lines:  # Shopify gives no file (url null) when nothing matched
        context.files.mkdir(parents=True, exist_ok=True)
        path = file_path(context.files, record["token"])
        path.write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))
        record.update(has_file=True, file_size=path.stat().st_size)


# ---- the bulk rules -------------------------------------------------------------------------

def _top_field(document: DocumentNode) -> FieldNode:
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return next(s for s in operation.selection_set.selections if isinstance(s, FieldNode))


def bulk_query_problems(schema: GraphQLSchema, document: DocumentNode) -> list[str]:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
        return ["a bulk query is one query operation"]
    operation = operations[0]
    if operation.variable_definitions:
        return ["bulk queries take no variables; write the values into the query"]
    fields = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
    if len(fields) != 1 or len(operation.selection_set.selections) != 1:
        return ["a bulk query selects exactly one top-level field"]
    if fields[0].name.value in ("node", "nodes"):
        return ["the top-level node and nodes fields can't be used in bulk queries"]
    definition = schema.query_type.fields[fields[0].name.value]
    if not _is_connection(definition.type):
        return [f"the top-level field {fields[0].name.value} must be a connection"]
    walk = _RuleWalk(schema)
    walk.connection(get_named_type(definition.type), fields[0], depth=1, parent_has_id=True)
    if walk.connections > MAX_CONNECTIONS:
        walk.problems.append(f"bulk queries allow at most {MAX_CONNECTIONS} connections ({walk.connections} here)")
    return walk.problems


def _is_connection(graphql_type) -> bool:
    return get_named_type(graphql_type).name.endswith("Connection")


class _RuleWalk:
    def __init__(self, schema: GraphQLSchema):
        self.schema = schema
        self.connections = 0
        self.problems: list[str] = []

    def connection(self, connection_type, node: FieldNode, *, depth: int, parent_has_id: bool,
                   in_list: bool = False) -> None:
        self.connections += 1
        if in_list:
            self.problems.append(CONNECTION_IN_LIST)
        if depth > MAX_DEPTH:
            self.problems.append(f"connections nest at most {MAX_DEPTH} levels deep ({node.name.value} is deeper)")
        if not parent_has_id:
            # Without it the stand-in could not say whose child a line is.
            self.problems.append(f"select `id` on the object holding the nested connection {node.name.value}")
        for item_type, selection in _item_selections(connection_type, node.selection_set):
            self.object(item_type, selection, depth)

    def object(self, object_type, selection_set: SelectionSetNode | None, depth: int, in_list: bool = False) -> None:
        if selection_set is None:
            return
        has_id = any(isinstance(s, FieldNode) and s.name.value == "id" for s in selection_set.selections)
        for field_node, owner in _fields(self.schema, object_type, selection_set):
            definition = getattr(owner, "fields", {}).get(field_node.name.value)
            if definition is None or is_leaf_type(get_named_type(definition.type)):
                continue
            if _is_connection(definition.type):
                self.connection(get_named_type(definition.type), field_node, depth=depth + 1, parent_has_id=has_id,
                                in_list=in_list)
            else:
                listed = in_list or is_list_type(get_nullable_type(definition.type))
                self.object(get_named_type(definition.type), field_node.selection_set, depth, listed)


def _fields(schema: GraphQLSchema, parent_type, selection_set: SelectionSetNode):
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection, parent_type
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            owner = schema.get_type(condition.name.value) if condition else parent_type
            yield from _fields(schema, owner, selection.selection_set)


def _item_selections(connection_type, selection_set: SelectionSetNode | None):
    """(item type, item selection) of a connection's `nodes` or `edges { node }`."""
    for field_node in (selection_set.selections if selection_set else []):
        if not isinstance(field_node, FieldNode):
            continue
        if field_node.name.value == "nodes":
            yield get_named_type(connection_type.fields["nodes"].type), field_node.selection_set
        elif field_node.name.value == "edges" and field_node.selection_set:
            edge_type = get_named_type(connection_type.fields["edges"].type)
            for inner in field_node.selection_set.selections:
                if isinstance(inner, FieldNode) and inner.name.value == "node":
                    yield get_named_type(edge_type.fields["node"].type), inner.selection_set


# ---- the JSONL answer -----------------------------------------------------------------------

def jsonl_lines(schema: GraphQLSchema, document: DocumentNode, data: dict[str, Any]) -> list[dict[str, Any]]:
    top = _top_field(document)
    lines: list[dict] = []
    connection_type = get_named_type(schema.query_type.fields[top.name.value].type)
    _connection_lines(schema, connection_type, top, data.get(_key(top)), None, lines)
    return lines


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _connection_lines(schema, connection_type, node: FieldNode, value: dict | None, parent_id: str | None,
                      lines: list[dict]) -> None:
    for item_type, selection, item in _items(connection_type, node.selection_set, value or {}):
        nested: list[tuple] = []
        line = _object(schema, item_type, selection, item, nested, item.get("id"))
        if parent_id is not None:
            line["__parentId"] = parent_id
        lines.append(line)
        for child in nested:
            _connection_lines(schema, *child, lines)


def _items(connection_type, selection_set: SelectionSetNode | None, value: dict):
    for field_node in (selection_set.selections if selection_set else []):
        if not isinstance(field_node, FieldNode):
            continue
        if field_node.name.value == "nodes":
            item_type = get_named_type(connection_type.fields["nodes"].type)
            yield from ((item_type, field_node.selection_set, item) for item in value.get(_key(field_node)) or [])
        elif field_node.name.value == "edges":
            edge_type = get_named_type(connection_type.fields["edges"].type)
            for inner in field_node.selection_set.selections:
                if isinstance(inner, FieldNode) and inner.name.value == "node":
                    item_type = get_named_type(edge_type.fields["node"].type)
                    yield from ((item_type, inner.selection_set, (edge or {}).get(_key(inner)) or {})
                                for edge in value.get(_key(field_node)) or [])


def _object(schema, object_type, selection_set, value: dict, nested: list, owner_id: str | None) -> dict:
    """The object's line without its connections, which are collected in `nested` with the id
    of the object that holds them."""
    line: dict[str, Any] = {}
    for field_node, owner in _fields(schema, object_type, selection_set):
        key, field_value = _key(field_node), value.get(_key(field_node))
        definition = getattr(owner, "fields", {}).get(field_node.name.value)
        named = get_named_type(definition.type) if definition else None
        if named is not None and _is_connection(named):
            nested.append((named, field_node, field_value, owner_id))
        elif named is None or is_leaf_type(named) or field_value is None:
            line[key] = field_value
        elif isinstance(field_value, list):
            line[key] = [_object(schema, named, field_node.selection_set, item, nested, item.get("id") or owner_id)
                         for item in field_value]
        else:
            line[key] = _object(schema, named, field_node.selection_set, field_value, nested,
                                field_value.get("id") or owner_id)
    return line
