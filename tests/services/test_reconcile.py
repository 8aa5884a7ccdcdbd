"""Reconciliation repairs missed webhooks through the same services, never awarding twice."""
import json

import pytest
import responses
from sqlalchemy import func, select

from app.services.reconcile import order_payload_from_graphql
from app.loyalty.orders import parse_order
from app.models import Order
from tests.support import API_VERSION, ORDER_ID, SHOP, payload
from tests.support.graphql_orders import order_node, orders_page, refunds_response
from tests.support.ledger import balance, deliver, ledger

pytestmark = pytest.mark.both_backends
URL = f"https://{SHOP}/admin/api/{API_VERSION}/graphql.json"


def run_reconcile(app, *args):
    result = app.test_cli_runner().invoke(args=["loyalty", "reconcile", "--shop", SHOP, *args])
    assert result.exit_code == 0, result.output
    return result.output


def partially_refunded_order() -> dict:
    body = payload("orders/updated")
    body["refunds"] = [payload("refunds/create")]
    return body


def test_graphql_order_reads_like_the_webhook_payload():
    rest = payload("orders/paid")
    node = order_node(rest)
    converted = parse_order(order_payload_from_graphql(node, node["lineItems"]["nodes"], []))
    original = parse_order(rest)
    assert (converted.bases, converted.customer_id, converted.paid, converted.discount_codes) == (
        original.bases, original.customer_id, original.paid, original.discount_codes)


@responses.activate
def test_missed_paid_order_and_missed_refund_are_repaired_once(app, t, shop):
    responses.post(URL, json=orders_page(partially_refunded_order()))
    responses.post(URL, json=refunds_response(payload("refunds/create")))
    output = run_reconcile(app, "--since", "7d")
    assert ledger(t, shop) == [(f"order:{ORDER_ID}:earn", 110), ("refund:978123456789:clawback", -55)]
    assert "1 unknown orders and 1 unknown refunds" in output and "+55 points" in output
    assert "repaired order #1042" in output
    query = json.loads(responses.calls[0].request.body)
    assert query["variables"]["query"] == "updated_at:>='2025-02-07T15:00:00Z'"
    responses.reset()
    responses.post(URL, json=orders_page(partially_refunded_order()))
    responses.post(URL, json=refunds_response(payload("refunds/create")))
    output = run_reconcile(app)  # again: nothing new
    assert "ledger entries added: nothing" in output and len(ledger(t, shop)) == 2


@responses.activate
def test_orders_already_seen_through_webhooks_are_left_alone(app, client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    deliver(client, t, "refunds/create", payload("refunds/create"))
    responses.post(URL, json=orders_page(partially_refunded_order()))
    responses.post(URL, json=refunds_response(payload("refunds/create")))
    output = run_reconcile(app)
    assert "ledger entries added: nothing" in output and balance(t, shop).balance == 55


@responses.activate
def test_pages_are_followed(app, t, shop):
    second = payload("orders/paid")
    second.update(id=ORDER_ID + 1, name="#1043", admin_graphql_api_id=f"gid://shopify/Order/{ORDER_ID + 1}")
    responses.post(URL, json=orders_page(payload("orders/paid"), has_next=True, cursor="c1"))
    responses.post(URL, json=orders_page(second))
    run_reconcile(app)
    assert json.loads(responses.calls[1].request.body)["variables"]["after"] == "c1"
    assert balance(t, shop).balance == 220


def test_reconcile_refuses_an_unknown_shop(app, t, shop):
    result = app.test_cli_runner().invoke(args=["loyalty", "reconcile", "--shop", "nope.myshopify.com"])
    assert result.exit_code != 0 and "not a Tessera shop" in result.output


@responses.activate
def test_withheld_customer_fields_leave_the_repair_intact_and_say_what_the_owner_can_do(app, t, shop, caplog):
    from tests.support.graphql_orders import withholding
    page = withholding(orders_page(partially_refunded_order()), "orders", ("email", "firstName", "lastName"),
                       under="customer")
    responses.post(URL, json=page)
    responses.post(URL, json=refunds_response(payload("refunds/create")))
    output = run_reconcile(app, "--since", "7d")
    assert ledger(t, shop) == [(f"order:{ORDER_ID}:earn", 110), ("refund:978123456789:clawback", -55)]
    assert "withheld protected customer fields (email, firstName, lastName)" in output
    assert "request access to protected customer data" in output and "Partner Dashboard" in output
    assert any("withheld protected customer fields" in r.getMessage() for r in caplog.records)


@responses.activate
def test_a_withheld_customer_is_not_taken_for_a_guest(app, t, shop):
    page = orders_page(partially_refunded_order())
    page["data"]["orders"]["nodes"][0]["customer"] = None
    page["errors"] = [{"message": "This app is not approved to access the Customer object.",
                       "path": ["orders", "nodes", 0, "customer"], "extensions": {"code": "ACCESS_DENIED"}}]
    responses.post(URL, json=page)
    result = app.test_cli_runner().invoke(args=["loyalty", "reconcile", "--shop", SHOP])
    assert "refused access to customer" in result.output
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0
