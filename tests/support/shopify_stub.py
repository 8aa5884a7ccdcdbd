"""A `responses`-based Admin GraphQL boundary for tests: every request's document AND variables
are checked against the real Admin schema (deprecated fields refused, as the demo store does),
then answered from a script of replies."""
from __future__ import annotations

import itertools
import json
from decimal import Decimal
from collections.abc import Callable
from datetime import datetime, timezone

import requests
import responses
from graphql import parse
from graphql.execution.values import get_variable_values
from graphql.language import OperationDefinitionNode

from app.devstore.schema import deprecated_input_fields
from config import DEFAULT_SCOPES
from tests.support import API_VERSION, SHOP
from tests.support.admin_schema import admin_schema, validation_errors

URL = f"https://{SHOP}/admin/api/{API_VERSION}/graphql.json"
COST = {"requestedQueryCost": 10, "actualQueryCost": 10,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}}
_ids = itertools.count(1476212408601)
STAND_IN_OPERATIONS = ("CreateLoyaltyMetafieldDefinition", "SetLoyaltyMetafields", "SendFlowTrigger")


def schema_problems(body: dict) -> list[str]:
    problems = validation_errors(body["query"])
    if problems:
        return problems
    operation = next(d for d in parse(body["query"]).definitions if isinstance(d, OperationDefinitionNode))
    variables = body.get("variables") or {}
    coerced = get_variable_values(admin_schema(), operation.variable_definitions or [], variables)
    if isinstance(coerced, list):
        return [e.message for e in coerced]
    return deprecated_input_fields(admin_schema(), operation, variables)


def created(body: dict) -> dict:
    """Shopify's success answer for the discount mutation in `body`."""
    field = "discountCodeFreeShippingCreate" if "discountCodeFreeShippingCreate" in body["query"] else \
        "discountCodeBasicCreate"
    if body["operationName"] == "DeactivateRewardCode":
        return {"data": {"discountCodeDeactivate": {"codeDiscountNode": {"id": body["variables"]["id"]},
                                                    "userErrors": []}}}
    if "storeCreditAccountCredit" in body["query"]:
        return {"data": {"storeCreditAccountCredit": {"storeCreditAccountTransaction": {
            "id": f"gid://shopify/StoreCreditAccountCreditTransaction/{next(_ids)}",
            "amount": body["variables"]["creditInput"]["creditAmount"], "account": {"id": "gid://x", "balance": {}}},
            "userErrors": []}}, "extensions": {"cost": COST}}
    discount = next(iter(body["variables"].values()))
    return {"data": {field: {"codeDiscountNode": {
        "id": f"gid://shopify/DiscountCodeNode/{next(_ids)}",
        "codeDiscount": {"title": discount["title"], "status": "ACTIVE", "endsAt": discount.get("endsAt"),
                         "usageLimit": 1, "codes": {"nodes": [{"id": "gid://shopify/DiscountRedeemCode/1",
                                                               "code": discount["code"]}]}}},
        "userErrors": []}}, "extensions": {"cost": COST}}


def user_errors(code: str, message: str = "Code must be unique. Please try a different code.") -> Callable:
    def reply(body):
        field = "discountCodeFreeShippingCreate" if "FreeShipping" in body["query"] else "discountCodeBasicCreate"
        return {"data": {field: {"codeDiscountNode": None, "userErrors": [
            {"field": ["basicCodeDiscount", "code"], "code": code, "message": message, "extraInfo": None}]}}}
    return reply


THROTTLED = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
             "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": None, "throttleStatus": {
                 "maximumAvailable": 2000.0, "currentlyAvailable": 0, "restoreRate": 100.0}}}}


class AppliedThenLost:
    """Shopify applied the mutation, then its answer was lost on the way back."""

    def __init__(self, failure):
        self.failure = failure


def applied_then_lost(failure=502) -> AppliedThenLost:
    """`failure`: the status code or exception the caller sees instead of the answer."""
    return AppliedThenLost(failure)


class AdminStub:
    """Queue replies (a dict, a callable(body) -> dict, an int status, an exception, a
    (status, headers) tuple, or applied_then_lost(...)); when the queue is empty every mutation
    succeeds. Store credits that succeed are kept, and read back as Shopify would show them;
    variant prices are what `variant_prices` says (an unknown variant is null, as in Shopify)."""

    def __init__(self, rsps: responses.RequestsMock, clock: Callable | None = None):
        self.clock = clock  # stamps store credits with the test's time
        self.replies: list = []
        self.bodies: list[dict] = []
        self.lookups: dict[str, dict | None] = {}
        # Built now (once per process) rather than inside the first answer, where a second or
        # more under load would count against a browser test's wait for the widget.
        admin_schema()
        self.variant_prices: dict[int, str] = {}
        self.store_credits: list[dict] = []
        # What the stand-in operations keep: metafield definitions and values, Flow triggers.
        self.shop_state: dict = {}
        self.store_debits: list[dict] = []
        self.customer_tags: dict[str, list[str]] = {}  # customer gid -> tags, as tagsAdd/tagsRemove left them
        # Store locations by id (LocationName); reading them needs read_locations, as in Shopify.
        self.locations: dict[int, str] = {}
        self.scopes: set[str] = set(DEFAULT_SCOPES.split(","))
        rsps.add_callback(responses.POST, URL, callback=self._answer, content_type="application/json")

    def then(self, *replies) -> "AdminStub":
        self.replies.extend(replies)
        return self

    @property
    def mutations(self) -> list[dict]:
        return [b for b in self.bodies if b["query"].lstrip().startswith("mutation")]

    def _answer(self, request):
        body = json.loads(request.body)
        problems = schema_problems(body)
        assert not problems, f"{body.get('operationName')} does not match the Admin schema: {problems}"
        self.bodies.append(body)
        from tests.support.bulk_files import bulk_refusal
        if (refused := bulk_refusal(body)) is not None:  # Shopify's bulk rules, whatever is scripted
            return 200, {}, json.dumps(refused)
        if body["operationName"] == "DiscountByCode":
            return 200, {}, json.dumps({"data": {"codeDiscountNode": self.lookups.get(body["variables"]["code"])}})
        if body["operationName"] == "LocationName":
            return 200, {}, json.dumps(self._location(body["variables"]["id"]))
        if body["operationName"] in ("RewardVariantPrice", "StoreCreditCredits"):
            return 200, {}, json.dumps(self._read(body))
        if body["operationName"] in STAND_IN_OPERATIONS and not self.replies:
            return 200, {}, json.dumps(self._stand_in(body))
        if body["operationName"] == "StoreCreditDebits":
            return 200, {}, json.dumps(self._debits_read(body))
        reply = self.replies.pop(0) if self.replies else created
        if isinstance(reply, AppliedThenLost):
            self._apply(body)
            reply = reply.failure
        elif reply is created:
            return 200, {}, json.dumps(self._apply(body))
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, int):
            return reply, {}, json.dumps({"errors": "server error"})
        if isinstance(reply, tuple):
            return reply[0], reply[1], json.dumps({"errors": "slow down"})
        return 200, {}, json.dumps(reply(body) if callable(reply) else reply)

    def _stand_in(self, body: dict) -> dict:
        """Metafields and Flow triggers, answered by the demo store's own rules (as strict as
        Shopify: types, values, the 25 limit, namespaces, trigger handles and fields)."""
        from app.devstore import flow, metafields
        now, variables = self.clock() if self.clock else datetime.now(timezone.utc), body["variables"]
        if body["operationName"] == "CreateLoyaltyMetafieldDefinition":
            data = {"metafieldDefinitionCreate": metafields.create_definition(self.shop_state,
                                                                              variables["definition"], now)}
        elif body["operationName"] == "SetLoyaltyMetafields":
            data = {"metafieldsSet": metafields.set_metafields(
                self.shop_state, variables["metafields"], lambda gid: gid.startswith("gid://shopify/Customer/"), now)}
        else:
            data = {"flowTriggerReceive": flow.receive_trigger(self.shop_state, variables["handle"],
                                                               variables["payload"], now)}
        return {"data": data, "extensions": {"cost": COST}}

    def _apply(self, body: dict) -> dict:
        if "storeCreditAccountDebit" in body["query"]:
            return self._debit(body)
        if "tagsAdd" in body["query"] or "tagsRemove" in body["query"]:
            return self._tag(body)
        shipping = body["variables"].get("freeShippingCodeDiscount") or {}
        if (shipping.get("combinesWith") or {}).get("shippingDiscounts"):  # one shipping discount per order
            return {"data": {"discountCodeFreeShippingCreate": {"codeDiscountNode": None, "userErrors": [
                {"field": ["freeShippingCodeDiscount", "combinesWith", "shippingDiscounts"],
                 "code": "INVALID_COMBINES_WITH_FOR_DISCOUNT_CLASS",
                 "message": "The combinesWith settings are invalid for the discount class.", "extraInfo": None}]}}}
        answer = created(body)
        if "storeCreditAccountCredit" in body["query"]:
            transaction = answer["data"]["storeCreditAccountCredit"]["storeCreditAccountTransaction"]
            self.store_credits.append({"__typename": "StoreCreditAccountCreditTransaction", "id": transaction["id"],
                                       "createdAt": self.clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
                                       "expiresAt": body["variables"]["creditInput"].get("expiresAt"),
                                       "amount": body["variables"]["creditInput"]["creditAmount"],
                                       "customer": body["variables"]["id"]})
        return answer

    def _read(self, body: dict) -> dict:
        variables = body["variables"]
        if body["operationName"] == "RewardVariantPrice":
            variant_id = int(variables["id"].rsplit("/", 1)[-1])
            price = self.variant_prices.get(variant_id)
            return {"data": {"productVariant": None if price is None else {"id": variables["id"], "price": price}},
                    "extensions": {"cost": COST}}
        credits = [{k: v for k, v in c.items() if k != "customer"} for c in reversed(self.store_credits)
                   if c["customer"] == variables["customerId"]]
        accounts = [{"id": "gid://shopify/StoreCreditAccount/1", "transactions": {"nodes": credits}}] if credits else []
        return {"data": {"customer": {"storeCreditAccounts": {"nodes": accounts}}}, "extensions": {"cost": COST}}
    # ---- store credit debits (cashback clawbacks), as strict as Shopify -------------------------
    def credit_balance(self, customer_gid: str) -> Decimal:
        credited = sum(Decimal(c["amount"]["amount"]) for c in self.store_credits if c["customer"] == customer_gid)
        debited = sum(Decimal(d["amount"]) for d in self.store_debits if d["customer"] == customer_gid)
        return credited - debited


    def _debit(self, body: dict) -> dict:
        """No account -> ACCOUNT_NOT_FOUND (a debit never opens one); more than the balance ->
        INSUFFICIENT_FUNDS: store credit never goes below zero."""
        customer, wanted = body["variables"]["id"], body["variables"]["debitInput"]["debitAmount"]
        amount, balance = Decimal(wanted["amount"]), self.credit_balance(customer)
        code = ("ACCOUNT_NOT_FOUND" if not any(c["customer"] == customer for c in self.store_credits) else
                "NEGATIVE_OR_ZERO_AMOUNT" if amount <= 0 else "INSUFFICIENT_FUNDS" if amount > balance else None)
        if code:
            return {"data": {"storeCreditAccountDebit": {"storeCreditAccountTransaction": None, "userErrors": [
                {"field": ["debitInput", "debitAmount", "amount"], "code": code, "message": code.lower()}]}},
                "extensions": {"cost": COST}}
        debit = {"id": f"gid://shopify/StoreCreditAccountDebitTransaction/{next(_ids)}", "amount": str(amount),
                 "currency": wanted["currencyCode"], "customer": customer,
                 "createdAt": self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")}
        self.store_debits.append(debit)
        return {"data": {"storeCreditAccountDebit": {"storeCreditAccountTransaction": {
            "id": debit["id"], "amount": {"amount": f"-{amount}", "currencyCode": debit["currency"]},
            "balanceAfterTransaction": {"amount": str(balance - amount), "currencyCode": debit["currency"]}},
            "userErrors": []}}, "extensions": {"cost": COST}}


    def _debits_read(self, body: dict) -> dict:
        customer = body["variables"]["customerId"]
        if not any(c["customer"] == customer for c in self.store_credits):
            return {"data": {"customer": {"storeCreditAccounts": {"nodes": []}}}, "extensions": {"cost": COST}}
        debits = [{"__typename": "StoreCreditAccountDebitTransaction", "id": d["id"], "createdAt": d["createdAt"],
                   "amount": {"amount": f"-{d['amount']}", "currencyCode": d["currency"]}}
                  for d in reversed(self.store_debits) if d["customer"] == customer]
        currency = next(c["amount"]["currencyCode"] for c in self.store_credits if c["customer"] == customer)
        return {"data": {"customer": {"storeCreditAccounts": {"nodes": [{
            "id": "gid://shopify/StoreCreditAccount/1",
            "balance": {"amount": str(self.credit_balance(customer)), "currencyCode": currency},
            "transactions": {"nodes": debits}}]}}}, "extensions": {"cost": COST}}


    def _tag(self, body: dict) -> dict:
        """tagsAdd / tagsRemove on a customer, with Shopify's userErrors for blank or long tags
        and for ids that are not customers."""
        field = "tagsAdd" if "tagsAdd" in body["query"] else "tagsRemove"
        owner, tags = body["variables"]["id"], [t.strip() for i in body["variables"]["tags"] for t in i.split(",")]
        error = ("id", "Resource does not exist or does not support tags") if "/Customer/" not in owner else \
            ("tags", "Tags can't be blank") if not all(tags) else \
            ("tags", "Tags are too long (maximum is 255 characters)") if any(len(t) > 255 for t in tags) else None
        if error:
            return {"data": {field: {"node": None, "userErrors": [{"field": [error[0]], "message": error[1]}]}}}
        current = self.customer_tags.setdefault(owner, [])
        if field == "tagsAdd":
            current.extend(t for t in tags if t.lower() not in {c.lower() for c in current})
        else:
            current[:] = [c for c in current if c.lower() not in {t.lower() for t in tags}]
        return {"data": {field: {"node": {"id": owner}, "userErrors": []}}, "extensions": {"cost": COST}}


    def _location(self, location_gid: str) -> dict:
        if "read_locations" not in self.scopes and "write_locations" not in self.scopes:
            return {"data": {"location": None}, "errors": [{
                "message": "Access denied for location field. Required access: `read_locations` access scope.",
                "path": ["location"], "extensions": {"code": "ACCESS_DENIED",
                                                    "requiredAccess": "`read_locations` access scope."}}]}
        name = self.locations.get(int(location_gid.rsplit("/", 1)[-1]))
        return {"data": {"location": None if name is None else {"id": location_gid, "name": name}},
                "extensions": {"cost": COST}}


def timeout() -> Exception:
    return requests.Timeout("read timed out")
