"""The stand-in's Admin GraphQL API: a request is checked against the real schema (document
and variables), against the token's scopes and the shop's rate-limit bucket, then executed by
graphql-core with the resolvers below. Root fields the stand-in does not implement are refused
by name rather than answered with made-up nulls.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from flask import url_for
from graphql import (DocumentNode, FieldNode, GraphQLError, GraphQLSchema, OperationDefinitionNode, execute,
                     get_operation_ast, parse)

from app.devstore import billing, bulk, catalog, discounts, flow, metafields, nodes, store_credit
from app.devstore.commerce import find_customer, update_customer
from app.devstore.cost import MAX_QUERY_COST, Throttle, actual_cost, requested_cost
from app.devstore.graph import connection, iso, money, parse_time, user_error
from app.devstore.locations import location_node, shop_locations
from app.devstore.schema import deprecated_input_fields, document_problems
from app.devstore.state import ShopState, gid, next_id

# Write access implies read access, as in Shopify.
REQUIRED_SCOPES = {
    "codeDiscountNodeByCode": "read_discounts", "codeDiscountNode": "read_discounts",
    "discountCodeBasicCreate": "write_discounts", "discountCodeFreeShippingCreate": "write_discounts",
    "discountCodeDeactivate": "write_discounts", "orders": "read_orders", "order": "read_orders",
    "customers": "read_customers", "customer": "read_customers", "customersCount": "read_customers",
    "ordersCount": "read_orders", "collection": "read_products", "productVariant": "read_products",
    "storeCreditAccountCredit": "write_store_credit_account_transactions",
    # Customer metafields and their definitions need the customers scope (write implies read).
    "metafieldsSet": "write_customers", "metafieldDefinitionCreate": "write_customers",
    "storeCreditAccountDebit": "write_store_credit_account_transactions",
    # Shopify asks the scope of the tagged resource's type; the stand-in tags customers only.
    "tagsAdd": "write_customers", "tagsRemove": "write_customers",
    "location": "read_locations", "locations": "read_locations",
}
SEARCH_TERM = re.compile(r"""(\w+):(>=|<=|>|<)?['"]?([^'"\s]+)['"]?""")


def _numeric_id(global_id: str) -> str:
    return str(global_id).rsplit("/", 1)[-1]


def _compare(left: Any, op: str, right: Any) -> bool:
    return {">=": left >= right, "<=": left <= right, ">": left > right, "<": left < right, "": left == right}[op]


def _matches(record: dict, query: str | None, fields: dict[str, Any]) -> bool:
    """Shopify search syntax, the few terms the stand-in understands (`updated_at:>='...'`,
    `email:...`); other terms are ignored, as Shopify ignores unknown ones."""
    for name, op, value in SEARCH_TERM.findall(query or ""):
        if name not in fields:
            continue
        actual = fields[name](record)
        if name.endswith("_at"):
            if actual is None or not _compare(parse_time(actual), op or ">=", parse_time(value)):
                return False
        elif str(actual).lower() != value.lower():
            return False
    return True


ORDER_SEARCH = {"updated_at": lambda o: o["updated_at"], "created_at": lambda o: o["created_at"],
                "processed_at": lambda o: o["processed_at"], "customer_id": lambda o: o["customer_id"],
                "email": lambda o: o["email"], "name": lambda o: o["name"].lstrip("#"),
                "discount_code": lambda o: (o["discount"] or {}).get("code")}
CUSTOMER_SEARCH = {"email": lambda c: c["email"], "state": lambda c: c["state"],
                   "updated_at": lambda c: c["updated_at"], "created_at": lambda c: c["created_at"]}
ORDER_SORT = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at", "PROCESSED_AT": "processed_at"}


class AdminRoot:
    """Query and mutation root: graphql-core calls `root.<field>(info, **arguments)`."""

    def __init__(self, shop: ShopState, now: datetime, bulk_context: bulk.BulkContext | None = None):
        self.state = shop
        self.now = now
        self.bulk_context = bulk_context

    # --- queries ------------------------------------------------------------------------------
    def shop(self, _info):
        return nodes.shop_node(self.state)

    def codeDiscountNodeByCode(self, _info, code):  # noqa: N802 - GraphQL field names
        discount = discounts.find_by_code(self.state, code)
        return discounts.discount_node(discount, self.now, self.state["currency"]) if discount else None

    def codeDiscountNode(self, _info, id):  # noqa: N802,A002
        discount = discounts.find_by_node_id(self.state, id)
        return discounts.discount_node(discount, self.now, self.state["currency"]) if discount else None

    def orders(self, _info, first=None, after=None, last=None, before=None, query=None, sortKey="ID",  # noqa: N803
               reverse=False, **_):
        records = [o for o in self.state["orders"].values() if _matches(o, query, ORDER_SEARCH)]
        key = ORDER_SORT.get(sortKey)
        records.sort(key=(lambda o: (parse_time(o[key]), o["id"])) if key else (lambda o: o["id"]), reverse=reverse)
        return connection(records, first=first, after=after, last=last, before=before,
                          to_node=lambda o: nodes.order_node(self.state, o))

    def order(self, _info, id):  # noqa: A002
        record = self.state["orders"].get(_numeric_id(id))
        return nodes.order_node(self.state, record) if record else None

    def customers(self, _info, first=None, after=None, last=None, before=None, query=None, reverse=False, **_):
        records = [c for c in self.state["customers"].values() if _matches(c, query, CUSTOMER_SEARCH)]
        records.sort(key=lambda c: c["id"], reverse=reverse)
        return connection(records, first=first, after=after, last=last, before=before,
                          to_node=lambda c: nodes.customer_node(self.state, c))

    def customersCount(self, _info, query=None, **_):  # noqa: N802
        records = [c for c in self.state["customers"].values() if _matches(c, query, CUSTOMER_SEARCH)]
        return {"count": len(records), "precision": "EXACT"}

    def ordersCount(self, _info, query=None, **_):  # noqa: N802
        records = [o for o in self.state["orders"].values() if _matches(o, query, ORDER_SEARCH)]
        return {"count": len(records), "precision": "EXACT"}

    def customer(self, _info, id):  # noqa: A002
        record = self.state["customers"].get(_numeric_id(id))
        return nodes.customer_node(self.state, record) if record else None

    def productVariant(self, _info, id):  # noqa: N802,A002
        product = catalog.by_variant(int(_numeric_id(id))) if _numeric_id(id).isdigit() else None
        return nodes.variant_node(self.state, product) if product else None

    def collection(self, _info, id):  # noqa: A002
        return nodes.find_collection(id)

    def node(self, _info, id):  # noqa: A002
        if str(id).startswith("gid://shopify/Refund/"):
            return nodes.find_refund(self.state, id)
        if str(id).startswith("gid://shopify/AppSubscription/"):
            record = billing.find(self.state, id)
            return billing.subscription_node(record) if record else None
        return bulk.find_operation(self.state, id, self._bulk(), self.now)

    def bulkOperation(self, _info, id):  # noqa: N802,A002
        return bulk.find_operation(self.state, id, self._bulk(), self.now)

    def bulkOperations(self, _info, first=None, after=None, last=None, before=None, query=None,  # noqa: N802
                       sortKey="CREATED_AT", reverse=False):  # noqa: N803
        return bulk.list_operations(self.state, self._bulk(), self.now, query=query, sort_key=sortKey,
                                    reverse=reverse, page={"first": first, "after": after, "last": last,
                                                           "before": before})

    def nodes(self, info, ids):
        # Shopify answers null for an id it does not find, in the place of that id.
        return [self.node(info, node_id) for node_id in ids]

    def webhookSubscriptions(self, _info, first=None, after=None, last=None, before=None, topics=None,  # noqa: N802
                             uri=None, **_):
        subscriptions = [s for s in self.state["subscriptions"] if (not topics or s["topic"] in topics)
                         and (not uri or s["callback_url"] == uri)]
        return connection(subscriptions, first=first, after=after, last=last, before=before,
                          to_node=self._subscription_node)

    # --- mutations ----------------------------------------------------------------------------
    def bulkOperationRunQuery(self, _info, query, groupObjects=False):  # noqa: N802,N803
        return bulk.run_query(self.state, query, self._bulk(), self.now, group_objects=groupObjects)

    def discountCodeBasicCreate(self, _info, basicCodeDiscount):  # noqa: N802,N803
        return discounts.create_discount(self.state, "basicCodeDiscount", "basic", basicCodeDiscount, self.now)

    def discountCodeFreeShippingCreate(self, _info, freeShippingCodeDiscount):  # noqa: N802,N803
        return discounts.create_discount(self.state, "freeShippingCodeDiscount", "free_shipping",
                                         freeShippingCodeDiscount, self.now)

    def discountCodeDeactivate(self, _info, id):  # noqa: N802,A002
        return discounts.deactivate(self.state, id, self.now)

    def webhookSubscriptionCreate(self, _info, topic, webhookSubscription):  # noqa: N802,N803
        callback = (webhookSubscription.get("uri") or "").strip()
        field = ["webhookSubscription", "uri"]
        if not callback:
            return {"webhookSubscription": None, "userErrors": [{"field": field, "message": "Address can't be blank"}]}
        if any(s["topic"] == topic and s["callback_url"] == callback for s in self.state["subscriptions"]):
            return {"webhookSubscription": None, "userErrors": [
                {"field": field, "message": "Address for this topic has already been taken"}]}
        subscription = {"id": next_id(self.state, "WebhookSubscription"), "topic": topic, "callback_url": callback,
                        "format": webhookSubscription.get("format") or "JSON",
                        "include_fields": webhookSubscription.get("includeFields") or [], "created_at": iso(self.now)}
        self.state["subscriptions"].append(subscription)
        return {"webhookSubscription": self._subscription_node(subscription), "userErrors": []}

    def webhookSubscriptionDelete(self, _info, id):  # noqa: N802,A002
        before = len(self.state["subscriptions"])
        self.state["subscriptions"] = [s for s in self.state["subscriptions"] if str(s["id"]) != _numeric_id(id)]
        if len(self.state["subscriptions"]) == before:
            return {"deletedWebhookSubscriptionId": None,
                    "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}]}
        return {"deletedWebhookSubscriptionId": id, "userErrors": []}

    def storeCreditAccountCredit(self, _info, id, creditInput):  # noqa: N802,N803,A002
        errors, account = self._credit_errors(id, creditInput)
        if errors:
            return {"storeCreditAccountTransaction": None, "userErrors": errors}
        amount = Decimal(creditInput["creditAmount"]["amount"])
        account["balance"] = str(Decimal(account["balance"]) + amount)
        transaction_id = next_id(self.state, "StoreCreditAccountCreditTransaction")
        account["transactions"].append({"id": transaction_id, "amount": str(amount), "at": iso(self.now),
                                        "expires_at": creditInput.get("expiresAt"),
                                        "balance_after": account["balance"]})
        currency = account["currency"]
        return {"storeCreditAccountTransaction": {
            "id": gid("StoreCreditAccountCreditTransaction", transaction_id), "amount": money(amount, currency),
            "balanceAfterTransaction": money(account["balance"], currency), "createdAt": iso(self.now),
            "expiresAt": creditInput.get("expiresAt"), "remainingAmount": money(amount, currency),
            "account": {"id": gid("StoreCreditAccount", account["id"]),
                        "balance": money(account["balance"], currency)}},
            "userErrors": []}

    def appSubscriptionCreate(self, _info, **args):  # noqa: N802
        return billing.create(self.state, args, self.now, self._confirmation_url)

    def appSubscriptionCancel(self, _info, id, prorate=False):  # noqa: N802,A002
        return billing.cancel(self.state, id, self.now)

    # --- helpers ------------------------------------------------------------------------------
    def _confirmation_url(self, number: int) -> str:
        # The stand-in answers inside the demo store's own request, so it can name its own page.
        return url_for("demo_store.confirm_charge", shop=self.state["domain"], charge_id=number, _external=True)

    def _bulk(self) -> bulk.BulkContext:
        if self.bulk_context is None:
            raise GraphQLError("Bulk operations need the demo store's file storage (admin_graphql(bulk_files=...)).")
        return self.bulk_context

    def _subscription_node(self, subscription: dict) -> dict:
        return {"id": gid("WebhookSubscription", subscription["id"]), "legacyResourceId": str(subscription["id"]),
                "topic": subscription["topic"], "format": subscription["format"],
                "callbackUrl": subscription["callback_url"], "includeFields": subscription["include_fields"],
                "metafieldNamespaces": [], "filter": None, "createdAt": subscription["created_at"],
                "updatedAt": subscription["created_at"], "uri": subscription["callback_url"], "name": None,
                "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": subscription["callback_url"]}}

    def _credit_errors(self, owner_id: str, credit: dict) -> tuple[list[dict], dict | None]:
        def error(field: list[str], code: str, message: str):
            return [user_error(field, code, message, extra_info=False)], None

        accounts = self.state["store_credit_accounts"]
        account = next((a for a in accounts.values() if str(a["id"]) == _numeric_id(owner_id)), None)
        if account is None and "/Customer/" in str(owner_id):
            customer = find_customer(self.state, _numeric_id(owner_id))
            if customer is None:
                return error(["id"], "OWNER_NOT_FOUND", "Owner does not exist")
            account = accounts.setdefault(str(customer["id"]), {
                "id": next_id(self.state, "StoreCreditAccount"), "customer_id": customer["id"], "balance": "0",
                "currency": credit["creditAmount"]["currencyCode"], "transactions": []})
        if account is None:
            return error(["id"], "ACCOUNT_NOT_FOUND", "Store credit account does not exist")
        try:
            amount = Decimal(credit["creditAmount"]["amount"])
        except InvalidOperation:
            amount = Decimal(0)
        if amount <= 0:
            return error(["creditInput", "creditAmount", "amount"], "NEGATIVE_OR_ZERO_AMOUNT",
                         "A positive amount must be used to credit a store credit account")
        if credit["creditAmount"]["currencyCode"] != account["currency"]:
            return error(["creditInput", "creditAmount", "currencyCode"], "MISMATCHING_CURRENCY",
                         "The currency provided does not match the currency of the store credit account")
        if credit.get("expiresAt") and parse_time(credit["expiresAt"]) <= self.now:
            return error(["creditInput", "expiresAt"], "EXPIRES_AT_IN_PAST", "The expiry date must be in the future")
        return [], account


    def metafieldDefinitionCreate(self, _info, definition):  # noqa: N802
        return metafields.create_definition(self.state, definition, self.now)


    def metafieldsSet(self, _info, metafields: list):  # noqa: N802 - the argument is Shopify's name
        return _metafields_set(self.state, metafields, self.now)


    def flowTriggerReceive(self, _info, handle=None, payload=None, **_):  # noqa: N802
        return flow.receive_trigger(self.state, handle, payload, self.now)


    def storeCreditAccountDebit(self, _info, id, debitInput):  # noqa: N802,N803,A002
        errors, account = store_credit.debit_errors(self.state, _numeric_id(id), "/Customer/" in str(id), debitInput)
        if errors:
            return {"storeCreditAccountTransaction": None, "userErrors": errors}
        return {"storeCreditAccountTransaction": store_credit.debit(self.state, account, debitInput, iso(self.now)),
                "userErrors": []}


    def tagsAdd(self, _info, id, tags):  # noqa: N802,A002
        customer, errors = self._tagged_customer(id, tags)
        if errors:
            return {"node": None, "userErrors": errors}
        known = {t.lower() for t in customer.get("tags") or []}
        added = [t for t in dict.fromkeys(_tag_list(tags)) if t.lower() not in known]
        if len(known) + len(added) > MAX_CUSTOMER_TAGS:
            return {"node": None, "userErrors": [{"field": ["tags"], "message":
                                                  f"Tags cannot be more than {MAX_CUSTOMER_TAGS}"}]}
        update_customer(customer, self.now, tags=[*(customer.get("tags") or []), *added])
        return {"node": {"__typename": "Customer", "id": gid("Customer", customer["id"])}, "userErrors": []}


    def tagsRemove(self, _info, id, tags):  # noqa: N802,A002
        customer, errors = self._tagged_customer(id, tags)
        if errors:
            return {"node": None, "userErrors": errors}
        gone = {t.lower() for t in _tag_list(tags)}
        update_customer(customer, self.now, tags=[t for t in customer.get("tags") or [] if t.lower() not in gone])
        return {"node": {"__typename": "Customer", "id": gid("Customer", customer["id"])}, "userErrors": []}
    # --- helpers ------------------------------------------------------------------------------
    def _tagged_customer(self, owner_id: str, tags: list[str]) -> tuple[dict | None, list[dict]]:
        """The customer to tag, or Shopify's userErrors (unknown resource, blank or long tags)."""
        customer = self.state["customers"].get(_numeric_id(owner_id)) if "/Customer/" in str(owner_id) else None
        if customer is None:
            return None, [{"field": ["id"], "message": "Resource does not exist or does not support tags"}]
        if not _tag_list(tags):
            return None, [{"field": ["tags"], "message": "Tags can't be blank"}]
        if any(len(t) > MAX_TAG_LENGTH for t in _tag_list(tags)):
            return None, [{"field": ["tags"], "message": f"Tags are too long (maximum is {MAX_TAG_LENGTH} characters)"}]
        return customer, []


    def location(self, _info, id=None):  # noqa: A002
        return location_node(self.state, id or gid("Location", next(iter(shop_locations(self.state)))))


SUPPORTED_FIELDS = frozenset(name for name in vars(AdminRoot) if not name.startswith("_"))


def _error(message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extra}}


def _root_fields(operation: OperationDefinitionNode) -> list[str]:
    return [s.name.value for s in operation.selection_set.selections
            if isinstance(s, FieldNode) and not s.name.value.startswith("__")]


def _granted(scopes: set[str], needed: str) -> bool:
    return needed in scopes or needed.replace("read_", "write_", 1) in scopes


class Refused(Exception):
    """The request never reaches execution; `answer` is Shopify's JSON reply."""

    def __init__(self, answer: dict[str, Any]):
        super().__init__(answer)
        self.answer = answer


@dataclass(frozen=True)
class _Request:
    document: DocumentNode
    operation: OperationDefinitionNode
    variables: dict[str, Any]
    name: str | None


def _checked(body: Any, schema: GraphQLSchema, scopes: set[str]) -> _Request:
    """The request, if its document is valid against the schema and allowed to this token."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise Refused({"errors": [_error("Send a JSON body with a `query` string (and optional `variables`).",
                                         "BAD_REQUEST")]})
    try:
        document = parse(body["query"])
    except GraphQLError as exc:
        raise Refused({"errors": [exc.formatted]}) from exc
    problems = document_problems(schema, document)
    if problems:
        raise Refused({"errors": [{**p.formatted, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
                                  for p in problems]})
    operation = get_operation_ast(document, body.get("operationName"))
    if operation is None:
        raise Refused({"errors": [_error("Name the operation to run (operationName).", "BAD_REQUEST")]})
    deprecated = deprecated_input_fields(schema, operation, body.get("variables") or {})
    if deprecated:
        raise Refused({"errors": [_error(message, "GRAPHQL_VALIDATION_FAILED") for message in deprecated]})
    refusal = _refusal(operation, scopes)
    if refusal:
        raise Refused({"errors": [refusal], "data": None})
    return _Request(document, operation, body.get("variables") or {}, body.get("operationName"))


def admin_graphql(shop: ShopState, body: Any, *, schema: GraphQLSchema, now: datetime, scopes: set[str],
                  throttle: Throttle, bulk_files: Path | None = None,
                  bulk_file_url: Callable[[str], str] | None = None) -> dict[str, Any]:
    """The JSON answer to one POST to /admin/api/<version>/graphql.json (HTTP 200 either way):
    checked, charged to the bucket, executed, and the unused part of the charge given back.
    Bulk operations write their files to `bulk_files`, reachable at `bulk_file_url(token)`."""
    try:
        request = _checked(body, schema, scopes)
    except Refused as refused:
        return refused.answer
    cost = requested_cost(schema, request.document, request.operation, request.variables)
    if cost > MAX_QUERY_COST:
        return {"errors": [_error(f"Query cost is {cost}, which exceeds the single query max cost limit "
                                  f"({MAX_QUERY_COST}).", "MAX_COST_EXCEEDED", cost=cost, maxCost=MAX_QUERY_COST)]}
    taken, status = throttle.charge(shop["domain"], cost)
    if not taken:
        return {"errors": [_error("Throttled", "THROTTLED", documentation="https://shopify.dev/api/usage/rate-limits")],
                "extensions": {"cost": {"requestedQueryCost": cost, "actualQueryCost": None, "throttleStatus": status}}}
    context = None
    if bulk_files is not None and bulk_file_url is not None:
        context = bulk.BulkContext(schema=schema, files=bulk_files, file_url=bulk_file_url,
                                   root=lambda: AdminRoot(shop, now),
                                   denied_scope=lambda field: _denied_scope(scopes, field))
    result = execute(schema, request.document, root_value=AdminRoot(shop, now, context),
                     variable_values=request.variables, operation_name=request.name)
    actual = actual_cost(schema, request.document, request.operation, request.variables, result.data)
    answer: dict[str, Any] = {"data": result.data, "extensions": {"cost": {
        "requestedQueryCost": cost, "actualQueryCost": actual,
        "throttleStatus": throttle.refund(shop["domain"], cost - actual)}}}
    if result.errors:
        answer["errors"] = [e.formatted for e in result.errors]
    return answer


def _denied_scope(scopes: set[str], field: str) -> str | None:
    needed = REQUIRED_SCOPES.get(field)
    return needed if needed and not _granted(scopes, needed) else None


def _refusal(operation: OperationDefinitionNode, scopes: set[str]) -> dict[str, Any] | None:
    fields = _root_fields(operation)
    missing = [f for f in fields if f not in SUPPORTED_FIELDS]
    if missing:
        return _error(f"The demo store's Admin API does not implement {', '.join(missing)} (it answers "
                      f"{', '.join(sorted(SUPPORTED_FIELDS))}); add it to app/devstore/admin_api.py.",
                      "NOT_IMPLEMENTED_IN_DEMO_STORE")
    for field in fields:
        needed = REQUIRED_SCOPES.get(field)
        if needed and not _granted(scopes, needed):
            return _error(f"Access denied for {field} field. Required access: `{needed}` access scope.",
                          "ACCESS_DENIED")
    return None


def _metafields_set(state: ShopState, inputs: list, now: datetime) -> dict:
    def owner_exists(owner_id: str) -> bool:
        is_customer = owner_id.startswith("gid://shopify/Customer/")
        return is_customer and find_customer(state, _numeric_id(owner_id)) is not None
    return metafields.set_metafields(state, inputs, owner_exists, now)
MAX_TAG_LENGTH = 255
MAX_CUSTOMER_TAGS = 250


def _tag_list(tags: list[str]) -> list[str]:
    """Tags as Shopify reads them: a list, any item of which may be a comma-separated list."""
    return [t.strip() for item in tags for t in item.split(",") if t.strip()]
