"""Shopify's calculated query cost and leaky bucket, as the stand-in reports them.

Cost rules (admin-graphql.md §2): scalars and enums 0, an object 1, a connection
2 + first x (cost of one item), a mutation 10; one request may not ask for more than 1000.
The requested cost is taken from the bucket before execution and the part the answer did not
use (fewer items than `first`) is given back after, as Shopify does. Plain lists count once
and union fragments as the dearest alternative, so the figures are estimates in Shopify's
spirit, not its exact numbers. Buckets live in the process's memory.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (DocumentNode, FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLSchema,
                     InlineFragmentNode, OperationDefinitionNode, OperationType, SelectionSetNode, get_named_type,
                     is_leaf_type, value_from_ast_untyped)

MUTATION_COST = 10
MAX_QUERY_COST = 1000


class _CostWalk:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any]):
        self.schema = schema
        self.variables = variables
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def selection_cost(self, parent_type, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        fields, alternatives = 0, [0]
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields += self.field_cost(parent_type, selection)
            else:
                alternatives.append(self._fragment_cost(parent_type, selection))
        return fields + max(alternatives)

    def _fragment_cost(self, parent_type, selection: InlineFragmentNode | FragmentSpreadNode) -> int:
        fragment = self.fragments.get(selection.name.value) if isinstance(selection, FragmentSpreadNode) else selection
        if fragment is None:
            return 0
        condition = fragment.type_condition
        return self.selection_cost(self.schema.get_type(condition.name.value) if condition else parent_type,
                                   fragment.selection_set)

    def field_cost(self, parent_type, node: FieldNode) -> int:
        definition = getattr(parent_type, "fields", {}).get(node.name.value)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        if named.name.endswith("Connection"):
            items = [1 + self.selection_cost(item_type, selection)
                     for item_type, selection, _ in self._items(named, node.selection_set, None)]
            return 2 + self._page_size(node) * max(items, default=0)
        return self._ids_count(node) * (1 + self.selection_cost(named, node.selection_set))

    def _items(self, connection_type, selection_set: SelectionSetNode | None, value: Any):
        """(item type, item selection, returned items) for a connection's `nodes` and `edges.node`;
        `pageInfo` and the edges themselves are free."""
        for field, owner in self._fields(connection_type, selection_set) if selection_set else ():
            definition = getattr(owner, "fields", {}).get(field.name.value)
            returned = (value or {}).get(field.alias.value if field.alias else field.name.value) or []
            if field.name.value == "nodes" and definition is not None:
                yield get_named_type(definition.type), field.selection_set, returned
            elif field.name.value == "edges" and definition is not None and field.selection_set:
                edge_type = get_named_type(definition.type)
                for inner, inner_owner in self._fields(edge_type, field.selection_set):
                    if inner.name.value == "node":
                        node_type = get_named_type(inner_owner.fields["node"].type)
                        yield node_type, inner.selection_set, [(e or {}).get("node") for e in returned]

    def data_cost(self, parent_type, selection_set: SelectionSetNode | None, data: Any) -> int:
        """The same rules over what was returned: a connection costs what its items cost."""
        if selection_set is None or not isinstance(data, dict):
            return 0
        total = 0
        for node, owner in self._fields(parent_type, selection_set):
            definition = getattr(owner, "fields", {}).get(node.name.value)
            value = data.get(node.alias.value if node.alias else node.name.value)
            if definition is None or value is None or is_leaf_type(get_named_type(definition.type)):
                continue
            named = get_named_type(definition.type)
            if named.name.endswith("Connection"):
                total += 2 + max((sum(1 + self.data_cost(item_type, selection, item) for item in items if item)
                                  for item_type, selection, items in self._items(named, node.selection_set, value)),
                                 default=0)
            elif isinstance(value, list) and self._ids_count(node) > 1:  # nodes(ids:): each object found
                total += sum(1 + self.data_cost(named, node.selection_set, item) for item in value if item)
            elif isinstance(value, list):  # plain lists count once, as requested
                total += 1 + self.data_cost(named, node.selection_set, value[0]) if value else 0
            else:
                total += 1 + self.data_cost(named, node.selection_set, value)
        return total

    def _fields(self, parent_type, selection_set: SelectionSetNode):
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent_type
                continue
            fragment = (self.fragments.get(selection.name.value) if isinstance(selection, FragmentSpreadNode)
                        else selection)
            if fragment is not None:
                condition = fragment.type_condition
                owner = self.schema.get_type(condition.name.value) if condition else parent_type
                yield from self._fields(owner, fragment.selection_set)

    def _ids_count(self, node: FieldNode) -> int:
        """How many objects `nodes(ids:)` asks for: Shopify charges each of them."""
        for argument in node.arguments or ():
            if argument.name.value == "ids":
                return max(1, len(value_from_ast_untyped(argument.value, self.variables) or []))
        return 1

    def _page_size(self, node: FieldNode) -> int:
        for argument in node.arguments:
            if argument.name.value in ("first", "last"):
                value = value_from_ast_untyped(argument.value, self.variables)
                return int(value or 0)
        return 1


def requested_cost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                   variables: dict[str, Any]) -> int:
    walk = _CostWalk(schema, document, variables)
    if operation.operation == OperationType.MUTATION:
        root_fields = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
        return MUTATION_COST * max(len(root_fields), 1)
    return walk.selection_cost(schema.query_type, operation.selection_set)


def actual_cost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                variables: dict[str, Any], data: dict[str, Any] | None) -> int:
    if operation.operation == OperationType.MUTATION:
        return requested_cost(schema, document, operation, variables)
    return _CostWalk(schema, document, variables).data_cost(schema.query_type, operation.selection_set, data)


@dataclass
class _Bucket:
    available: float
    observed_at: float


class Throttle:
    """One leaky bucket per shop: `maximum` points, refilled at `restore_rate` per second."""

    def __init__(self, maximum: float = 2000.0, restore_rate: float = 100.0,
                 monotonic: Callable[[], float] = time.monotonic):
        self.maximum = float(maximum)
        self.restore_rate = float(restore_rate)
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def charge(self, shop: str, cost: int) -> tuple[bool, dict[str, float]]:
        """Take `cost` points if the bucket holds them; (taken, throttleStatus) either way."""
        now = self.monotonic()
        with self._lock:
            bucket = self._buckets.setdefault(shop, _Bucket(self.maximum, now))
            bucket.available = min(self.maximum, bucket.available + (now - bucket.observed_at) * self.restore_rate)
            bucket.observed_at = now
            taken = bucket.available >= cost
            if taken:
                bucket.available -= cost
            return taken, self._status(bucket)

    def refund(self, shop: str, points: int) -> dict[str, float]:
        """Give back what a query was charged beyond its actual cost; the new throttleStatus."""
        with self._lock:
            bucket = self._buckets[shop]
            bucket.available = min(self.maximum, bucket.available + max(points, 0))
            return self._status(bucket)

    def _status(self, bucket: _Bucket) -> dict[str, float]:
        return {"maximumAvailable": self.maximum, "currentlyAvailable": int(bucket.available),
                "restoreRate": self.restore_rate}
