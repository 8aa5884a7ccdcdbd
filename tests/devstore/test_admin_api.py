"""The stand-in's Admin GraphQL API holds Tessera to Shopify's contract: the real schema, the
discount rules Tessera relies on, scopes, tokens and the rate-limit bucket."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from graphql import parse
from sqlalchemy import select

from app.devstore import DEMO_SHOP
from app.devstore.admin_api import SUPPORTED_FIELDS
from app.devstore.cost import Throttle
from app.loyalty.rewards import RedemptionTerms
from app.models import ImportJob, Member
from app.services.import_jobs import start_import
from app.services.shops import register_webhooks
from app.shopify.admin_access import call_admin
from app.shopify.discounts import discount_request, store_credit_request
from app.shopify.documents import (ALL_DOCUMENTS, DEACTIVATE_DISCOUNT_CODE, DISCOUNT_BY_CODE, SHOP_INFO,
                                   SUBSCRIBE_WEBHOOK, Document)
from app.shopify.graphql import ShopifyGraphQLError, ShopifyUserErrors
from tests.devstore.conftest import access_token
from tests.support import API_VERSION

GRAPHQL = f"/devstore/shopify/{DEMO_SHOP}/admin/api/{API_VERSION}/graphql.json"
TERMS = RedemptionTerms(kind="amount_off", points=500, value=Decimal("5"), currency="USD", min_subtotal=None,
                        expiry_days=90, combines_with={"orderDiscounts": False, "productDiscounts": False,
                                                       "shippingDiscounts": True}, variant_id=None)


def post(client, t, shop, body: dict, token: str | None = None):
    return client.post(GRAPHQL, json=body, headers={"X-Shopify-Access-Token": token or access_token(t, shop)})


def create_code(t, shop, code: str, *, now=None, terms=TERMS):
    request = discount_request(terms, code=code, title=f"Reward - Tessera #{code}", customer_id=7412500000001,
                               now=now or t.clock())
    with t.db.scope() as session:
        return call_admin(t.shopify, session, shop, request.document, request.variables)


def test_a_document_the_admin_schema_does_not_have_is_refused(client, t, installed):
    answer = post(client, t, installed, {"query": "query { shop { name loyaltyPoints } }"}).get_json()
    assert "data" not in answer
    assert "Cannot query field 'loyaltyPoints' on type 'Shop'." in answer["errors"][0]["message"]


def test_variables_that_do_not_match_the_schema_are_refused(client, t, installed):
    request = discount_request(TERMS, code="5OFF-K7QX2M4PZH", title="x", customer_id=None, now=t.clock())
    variables = {"basicCodeDiscount": {**request.variables["basicCodeDiscount"], "loyaltyTier": "gold"}}
    answer = post(client, t, installed, {"query": request.document.text, "variables": variables}).get_json()
    assert answer["data"] is None
    assert "not to include unknown field 'loyaltyTier'" in answer["errors"][0]["message"]


def test_a_deprecated_field_in_the_document_is_refused_like_an_unknown_one(client, t, installed):
    answer = post(client, t, installed, {"query": "{ customers(first: 1) { nodes { email } } }"}).get_json()
    assert "data" not in answer and answer["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Customer.email is deprecated" in answer["errors"][0]["message"]


def test_a_deprecated_input_field_sent_in_the_variables_is_refused(client, t, installed):
    request = discount_request(TERMS, code="5OFF-OLDSTYLE", title="x", customer_id=None, now=t.clock())
    old_style = {key: value for key, value in request.variables["basicCodeDiscount"].items() if key != "context"}
    variables = {"basicCodeDiscount": {**old_style, "customerSelection": {"all": True}}}
    answer = post(client, t, installed, {"query": request.document.text, "variables": variables}).get_json()
    assert "data" not in answer and "customerSelection" in answer["errors"][0]["message"]
    with t.db.scope() as session:
        assert call_admin(t.shopify, session, installed, DISCOUNT_BY_CODE, {"code": "5OFF-OLDSTYLE"}) == {
            "codeDiscountNodeByCode": None}


def test_a_discount_for_everyone_and_one_customer_at_once_is_refused(client, t, installed):
    request = discount_request(TERMS, code="5OFF-BOTH", title="x", customer_id=7412500000001, now=t.clock())
    both = {**request.variables["basicCodeDiscount"]["context"], "all": "ALL"}
    variables = {"basicCodeDiscount": {**request.variables["basicCodeDiscount"], "context": both}}
    answer = post(client, t, installed, {"query": request.document.text, "variables": variables}).get_json()
    assert answer["data"] is None and "exactly one field must be specified" in answer["errors"][0]["message"]


def test_a_code_for_one_customer_is_limited_to_that_customer(t, installed):
    create_code(t, installed, "5OFF-JUSTYOU")
    with t.db.scope() as session:
        read = call_admin(t.shopify, session, installed, Document("CodeContext", """
            query CodeContext($code: String!) { codeDiscountNodeByCode(code: $code) { codeDiscount {
              ... on DiscountCodeBasic { context { __typename ... on DiscountCustomers { customers { legacyResourceId } } } }
            } } }""", expected_cost=2), {"code": "5OFF-JUSTYOU"})
    assert read["codeDiscountNodeByCode"]["codeDiscount"]["context"] == {
        "__typename": "DiscountCustomers", "customers": [{"legacyResourceId": "7412500000001"}]}


def test_a_field_the_stand_in_does_not_implement_is_refused_by_name(client, t, installed):
    answer = post(client, t, installed, {"query": "{ products(first: 1) { nodes { id } } }"}).get_json()
    assert answer["errors"][0]["extensions"]["code"] == "NOT_IMPLEMENTED_IN_DEMO_STORE"
    assert "products" in answer["errors"][0]["message"]


def test_the_stand_in_answers_every_root_field_of_tesseras_documents():
    asked = {s.name.value for d in ALL_DOCUMENTS for op in parse(d.text).definitions
             for s in op.selection_set.selections}
    assert asked - SUPPORTED_FIELDS == set()


def test_a_code_already_in_the_shop_is_TAKEN_whatever_its_case(t, installed):
    create_code(t, installed, "5OFF-K7QX2M4PZH")
    with pytest.raises(ShopifyUserErrors) as refused:
        create_code(t, installed, "5off-k7qx2m4pzh")
    assert refused.value.codes == {"TAKEN"}
    assert refused.value.user_errors[0]["field"] == ["basicCodeDiscount", "code"]


def test_a_code_that_would_end_before_it_starts_or_has_already_ended_is_INVALID(t, installed):
    ended = TERMS.__class__(**{**TERMS.__dict__, "expiry_days": 1})
    with pytest.raises(ShopifyUserErrors) as refused:
        create_code(t, installed, "5OFF-ENDED", now=t.clock() - timedelta(days=3), terms=ended)
    assert refused.value.codes == {"INVALID"}
    assert refused.value.user_errors[0]["field"] == ["basicCodeDiscount", "endsAt"]


def test_created_codes_are_kept_found_by_code_and_deactivated(t, installed):
    node_id = create_code(t, installed, "5OFF-FINDME")["discountCodeBasicCreate"]["codeDiscountNode"]["id"]
    with t.db.scope() as session:
        found = call_admin(t.shopify, session, installed, DISCOUNT_BY_CODE, {"code": "5off-findme"})["codeDiscountNodeByCode"]
        call_admin(t.shopify, session, installed, DEACTIVATE_DISCOUNT_CODE, {"id": node_id})
        after = call_admin(t.shopify, session, installed, DISCOUNT_BY_CODE, {"code": "5OFF-FINDME"})["codeDiscountNodeByCode"]
    assert found == {"id": node_id, "codeDiscount": {"title": "Reward - Tessera #5OFF-FINDME", "status": "ACTIVE"}}
    assert after["codeDiscount"]["status"] == "EXPIRED"


def test_store_credit_goes_to_a_known_customer_only(t, installed, demo):
    customer = demo.sign_up("alice@example.com", "Alice", "Martin").record
    terms = TERMS.__class__(**{**TERMS.__dict__, "kind": "store_credit"})
    with t.db.scope() as session:
        request = store_credit_request(terms, customer_id=customer["id"], now=t.clock())
        credited = call_admin(t.shopify, session, installed, request.document, request.variables)
        unknown = store_credit_request(terms, customer_id=1234, now=t.clock())
        with pytest.raises(ShopifyUserErrors) as refused:
            call_admin(t.shopify, session, installed, unknown.document, unknown.variables)
    account = credited["storeCreditAccountCredit"]["storeCreditAccountTransaction"]["account"]
    assert account["balance"] == {"amount": "5.00", "currencyCode": "USD"}
    assert refused.value.codes == {"OWNER_NOT_FOUND"}


def test_every_answer_reports_its_cost_and_an_empty_bucket_is_THROTTLED(app, client, t, installed):
    app.extensions["devstore"].throttle = Throttle(maximum=15, restore_rate=0.001)
    body = {"query": SHOP_INFO.text, "operationName": "ShopInfo"}
    first = post(client, t, installed, body).get_json()
    drained = [post(client, t, installed, body).get_json() for _ in range(8)][-1]
    assert first["data"]["shop"]["myshopifyDomain"] == DEMO_SHOP
    assert first["extensions"]["cost"]["requestedQueryCost"] == 2
    assert first["extensions"]["cost"]["throttleStatus"] == {"maximumAvailable": 15.0, "currentlyAvailable": 13,
                                                             "restoreRate": 0.001}
    assert drained["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert drained["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 1


def test_a_token_the_stand_in_never_issued_gets_401(client, t, installed):
    response = post(client, t, installed, {"query": "{ shop { name } }"}, token="shpat_made_up")
    assert response.status_code == 401
    assert "Invalid API key or access token" in response.get_json()["errors"]


def test_a_scope_the_app_was_not_granted_is_ACCESS_DENIED(t, installed, demo):
    with demo.stand_in.state.shop(DEMO_SHOP) as state:
        for entry in state["access_tokens"].values():
            entry["scope"] = "read_orders"
    with t.db.scope() as session, pytest.raises(ShopifyGraphQLError) as refused:
        call_admin(t.shopify, session, installed, DISCOUNT_BY_CODE, {"code": "ANY"})
    assert refused.value.errors[0]["extensions"]["code"] == "ACCESS_DENIED"


def test_customers_imported_from_the_demo_store_keep_email_phone_and_consent(demo, t, installed):
    demo.sign_up("alice@example.com", "Alice", "Martin", accepts_marketing=True, phone="+14165550142", only=())
    demo.sign_up("bob@example.com", "Bob", "Stone", only=())
    with t.db.scope() as session:
        job = start_import(session, session.get(type(installed), installed.id), "customers", now=t.clock(),
                           options={}, enqueue=t.queue.enqueue)
    t.queue.drain(t)
    with t.db.scope(read_only=True) as session:
        assert session.get(ImportJob, job.id).status == "done"
        members = session.execute(select(Member.email, Member.phone, Member.accepts_marketing)
                                  .where(Member.shop_id == installed.id).order_by(Member.email)).all()
    assert [tuple(m) for m in members] == [("alice@example.com", "+14165550142", True),
                                           ("bob@example.com", None, False)]


def test_webhooks_subscribed_by_api_name_their_address_with_uri_and_are_not_doubled(client, t, installed, demo):
    with t.db.scope() as session:
        shop = session.get(type(installed), installed.id)
        first = register_webhooks(t.shopify, session, shop, ["orders/paid", "refunds/create"], app_url=t.app_url)
        again = register_webhooks(t.shopify, session, shop, ["orders/paid", "refunds/create"], app_url=t.app_url)
    assert (first, again) == (["orders/paid", "refunds/create"], [])
    assert {(s["topic"], s["callback_url"]) for s in demo.snapshot()["subscriptions"]} == {
        ("ORDERS_PAID", f"{t.app_url}/webhooks"), ("REFUNDS_CREATE", f"{t.app_url}/webhooks")}
    old_style = {"query": SUBSCRIBE_WEBHOOK.text, "variables": {
        "topic": "ORDERS_CREATE", "webhookSubscription": {"callbackUrl": f"{t.app_url}/webhooks"}}}
    answer = post(client, t, installed, old_style).get_json()
    assert "data" not in answer and "WebhookSubscriptionInput.callbackUrl" in answer["errors"][0]["message"]
