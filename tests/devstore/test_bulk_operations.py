"""The demo store's bulk operations: Tessera's historical import runs end to end against the
stand-in (bulkOperationRunQuery, polling, the JSONL file it serves), and the stand-in holds
bulk queries to Shopify's rules."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.devstore import DEMO_SHOP
from app.devstore.catalog import product
from app.models import ImportJob, LedgerEntry, Member, Order
from app.services.import_jobs import start_import
from app.services.shops import find_shop
from app.shopify.admin_access import call_admin
from app.shopify.documents import BULK_OPERATION, LATEST_BULK_QUERY, RUN_BULK_QUERY, Document, bulk_orders_query
from app.shopify.graphql import ShopifyUserErrors
from tests.devstore.conftest import access_token
from tests.support import API_VERSION

GRAPHQL = f"/devstore/shopify/{DEMO_SHOP}/admin/api/{API_VERSION}/graphql.json"
SILENT = ()  # the store changes, Tessera is not told: the history it has to import


def item(handle: str, quantity: int = 1):
    return (product(handle), quantity, None)


@pytest.fixture
def history(demo, installed, clock):
    """Four months ago, before Tessera: orders it never heard of."""
    clock.advance(days=-120)
    for email, first in (("alice@example.com", "Alice"), ("bob@example.com", "Bob")):
        demo.sign_up(email, first, "Past", only=SILENT)
    names = {
        "paid": demo.checkout("alice@example.com", [item("trailhead-hoodie")], only=SILENT),
        "refunded": demo.checkout("alice@example.com", [item("ridgeline-rain-shell"), item("merino-beanie")],
                                  only=SILENT),
        "gift": demo.checkout("bob@example.com", [item("gift-card"), item("enamel-camp-mug")], only=SILENT),
        "cancelled": demo.checkout("bob@example.com", [item("waxed-canvas-tote")], only=SILENT),
        "guest": demo.checkout(None, [item("trail-socks")], email="pat@example.com", only=SILENT),
    }
    names = {label: outcome.record["name"] for label, outcome in names.items()}
    order = next(o for o in demo.snapshot()["orders"].values() if o["name"] == names["refunded"])
    beanie = next(li for li in order["lines"] if li["handle"] == "merino-beanie")
    demo.refund(names["refunded"], items=[(beanie["id"], 1)], only=SILENT)
    demo.cancel(names["cancelled"], only=SILENT)
    clock.advance(days=120)
    return names


def import_orders(t, shop, **options):
    with t.db.scope() as session:
        job = start_import(session, session.get(type(shop), shop.id), "orders", now=t.clock(), options=options,
                           enqueue=t.queue.enqueue)
    t.queue.drain(t)  # the worker's slices, each queuing the next, until the job ends
    with t.db.scope(read_only=True) as session:
        return session.get(ImportJob, job.id)


def ledger_by_customer(t, shop) -> dict[str, list[tuple[str, int]]]:
    with t.db.scope(read_only=True) as session:
        rows = session.execute(select(Member.email, LedgerEntry.kind, LedgerEntry.points).join(
            Member, Member.id == LedgerEntry.member_id).where(LedgerEntry.shop_id == shop.id)
            .order_by(LedgerEntry.id)).all()
    found: dict[str, list] = {}
    for email, kind, points in rows:
        found.setdefault(email, []).append((kind, points))
    return found


def test_historical_orders_are_imported_from_the_demo_stores_bulk_export(demo, t, installed, history):
    job = import_orders(t, installed, earn_points=True, since=(t.clock() - timedelta(days=365)).date().isoformat())
    assert (job.status, job.processed, job.total, job.last_error) == ("done", 5, 5, None)
    assert json.loads(job.cursor)["phase"] == "tiers" and json.loads(job.cursor)["lines"] > 5
    # 1 point per $1 of merchandise: hoodie 68; shell 148 + beanie 28, the beanie refunded; the mug
    # 18 beside a gift card (no points); the tote 42, cancelled. The guest order makes no member.
    assert ledger_by_customer(t, installed) == {
        "alice@example.com": [("earn", 68), ("earn", 176), ("clawback", -28)],
        "bob@example.com": [("earn", 18), ("earn", 42), ("clawback", -42)]}
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(Order.refunded_base_minor).where(Order.name == history["refunded"])) == 2800
        assert len(session.scalars(select(Order.id).where(Order.shop_id == installed.id)).all()) == 5


def test_by_default_history_records_orders_without_points_and_later_webhooks_add_nothing(demo, t, installed,
                                                                                          history):
    job = import_orders(t, installed)
    assert job.status == "done" and job.options == {"since": "2024-02-14", "earn_points": False}  # 12 months back
    entries = ledger_by_customer(t, installed)
    assert entries == {"alice@example.com": [("import", 0), ("import", 0)],
                       "bob@example.com": [("import", 0), ("import", 0)]}
    # Shopify tells Tessera about the old orders later (an edit, a late refund): still nothing.
    demo.touch_order(history["refunded"])
    demo.refund(history["paid"], amount=Decimal("10.00"))
    assert ledger_by_customer(t, installed) == entries


def test_importing_again_adds_nothing(demo, t, installed, history):
    import_orders(t, installed, earn_points=True, since="2024-01-01")
    before = ledger_by_customer(t, installed)
    again = import_orders(t, installed, earn_points=True, since="2024-01-01")
    assert again.status == "done" and again.processed == 5
    assert ledger_by_customer(t, installed) == before


def test_the_export_file_honours_range_requests(demo, t, installed, history, client):
    with t.db.scope() as session:
        shop = find_shop(session, DEMO_SHOP)
        operation_id = call_admin(t.shopify, session, shop, RUN_BULK_QUERY, {"query": bulk_orders_query("2024-01-01")})[
            "bulkOperationRunQuery"]["bulkOperation"]["id"]
        operation = {}
        while operation.get("status") != "COMPLETED":
            operation = call_admin(t.shopify, session, shop, BULK_OPERATION, {"id": operation_id})["node"]
    whole = client.get(operation["url"]).get_data()
    part = client.get(operation["url"], headers={"Range": "bytes=100-"})
    assert part.status_code == 206 and part.get_data() == whole[100:]
    assert int(operation["fileSize"]) == len(whole) and int(operation["rootObjectCount"]) == 5
    lines = [json.loads(line) for line in whole.decode().splitlines()]
    orders = [line for line in lines if "__parentId" not in line]
    assert len(orders) == 5 and all(line["__parentId"].startswith("gid://shopify/Order/")
                                    for line in lines if line not in orders)
    # Not grouped (Tessera does not ask for it): some child comes before its own order's line.
    position = {line["id"]: i for i, line in enumerate(lines)}
    assert any(position[line["__parentId"]] > i for i, line in enumerate(lines) if "__parentId" in line)


def post(client, t, shop, query: str, variables: dict | None = None):
    return client.post(GRAPHQL, json={"query": RUN_BULK_QUERY.text, "operationName": "RunBulkQuery",
                                      "variables": {"query": query, **(variables or {})}},
                       headers={"X-Shopify-Access-Token": access_token(t, shop)}).get_json()


@pytest.mark.parametrize("query, problem", [
    ("{ orders { edges { node { id lineItems { edges { node { id } } } shippingLines { edges { node { id } } } "
     "fulfillmentOrders { edges { node { id lineItems { edges { node { id } } } } } } "
     "transactions { id } } } } }", "nest at most 2 levels"),
    ("query Q($q: String) { orders(query: $q) { edges { node { id } } } }", "no variables"),
    ("{ shop { name } }", "must be a connection"),
    ("{ orders { edges { node { id loyaltyPoints } } } }", "Cannot query field 'loyaltyPoints'"),
    ("{ orders { edges { node { lineItems { edges { node { id } } } } } } }", "select `id`"),
    ("{ orders { edges { node { id refunds { id refundLineItems { edges { node { id } } } } } } } }",
     "Queries that contain a connection field within a list field are not currently supported."),
])
def test_bulk_queries_breaking_shopifys_rules_are_refused(client, t, installed, query, problem):
    answer = post(client, t, installed, query)["data"]["bulkOperationRunQuery"]
    assert answer["bulkOperation"] is None and answer["userErrors"][0]["code"] == "INVALID"
    assert problem in answer["userErrors"][0]["message"]


def test_one_bulk_query_at_a_time(client, t, installed):
    with t.db.scope() as session:
        shop = find_shop(session, DEMO_SHOP)
        call_admin(t.shopify, session, shop, RUN_BULK_QUERY, {"query": bulk_orders_query("2024-01-01")})
        with pytest.raises(ShopifyUserErrors) as refused:
            call_admin(t.shopify, session, shop, RUN_BULK_QUERY, {"query": bulk_orders_query("2024-01-01")})
    assert refused.value.codes == {"OPERATION_IN_PROGRESS"}


def test_an_import_adopts_its_own_export_left_running_by_a_stopped_run(demo, t, installed, history):
    with t.db.scope() as session:
        shop = find_shop(session, DEMO_SHOP)
        call_admin(t.shopify, session, shop, RUN_BULK_QUERY, {"query": bulk_orders_query("2024-01-01")})
    job = import_orders(t, installed, earn_points=True, since="2024-01-01")
    assert (job.status, job.processed) == ("done", 5)


def test_the_apps_bulk_operations_are_listed_newest_first_and_filtered_by_status(t, installed):
    completed_only = Document("CompletedBulkQueries", """
    query CompletedBulkQueries { bulkOperations(first: 5, query: "status:completed") { nodes { id status } } }
    """, expected_cost=3)
    with t.db.scope() as session:
        shop = find_shop(session, DEMO_SHOP)
        first = call_admin(t.shopify, session, shop, RUN_BULK_QUERY, {"query": bulk_orders_query("2024-01-01")})
        first_id = first["bulkOperationRunQuery"]["bulkOperation"]["id"]
        while call_admin(t.shopify, session, shop, BULK_OPERATION, {"id": first_id})["node"]["status"] != "COMPLETED":
            pass
        second = call_admin(t.shopify, session, shop, RUN_BULK_QUERY, {"query": bulk_orders_query("2025-06-01")})
        latest = call_admin(t.shopify, session, shop, LATEST_BULK_QUERY)["bulkOperations"]["nodes"]
        completed = call_admin(t.shopify, session, shop, completed_only)["bulkOperations"]["nodes"]
    assert [n["id"] for n in latest] == [second["bulkOperationRunQuery"]["bulkOperation"]["id"]]
    assert latest[0]["query"] == bulk_orders_query("2025-06-01")
    assert completed == [{"id": first_id, "status": "COMPLETED"}]


# ---- grouping: only when asked (groupObjects, Admin API 2025-07 and later) --------------------
# A schema of just what the rule needs, so the test does not depend on one API version's schema.
GROUPING_SCHEMA = """
type Query { orders(first: Int, after: String, query: String): OrderConnection! }
type PageInfo { hasNextPage: Boolean! endCursor: String }
type OrderConnection { edges: [OrderEdge!]! pageInfo: PageInfo! }
type OrderEdge { node: Order! cursor: String! }
type Order { id: ID! name: String! lineItems(first: Int): LineItemConnection! }
type LineItemConnection { edges: [LineItemEdge!]! pageInfo: PageInfo! }
type LineItemEdge { node: LineItem! cursor: String! }
type LineItem { id: ID! quantity: Int! }
"""
GROUPING_QUERY = "{ orders { edges { node { id name lineItems { edges { node { id quantity } } } } } } }"


class _Orders:
    def orders(self, _info, **_):
        return {"edges": [{"node": {"id": f"gid://shopify/Order/{n}", "name": f"#{n}", "lineItems": {"edges": [
            {"node": {"id": f"gid://shopify/LineItem/{n}{i}", "quantity": i}} for i in range(1, 4)]}}}
            for n in range(1, 7)]}


def export_lines(tmp_path, now, *, group_objects: bool) -> list[dict]:
    from graphql import build_schema

    from app.devstore import bulk
    shop = {"ids": {}}
    context = bulk.BulkContext(schema=build_schema(GROUPING_SCHEMA), files=tmp_path, file_url=lambda token: token,
                               root=_Orders, denied_scope=lambda _field: None)
    started = bulk.run_query(shop, GROUPING_QUERY, context, now, group_objects=group_objects)
    assert started["userErrors"] == []
    operation = {}
    while operation.get("status") != "COMPLETED":
        operation = bulk.find_operation(shop, started["bulkOperation"]["id"], context, now)
    return [json.loads(line) for line in bulk.file_path(tmp_path, operation["url"]).read_text().splitlines()]


def grouped(lines: list[dict]) -> bool:
    """Every child comes after its parent, before the next order."""
    current = None
    for line in lines:
        if "__parentId" not in line:
            current = line["id"]
        elif line["__parentId"] != current:
            return False
    return True


def test_the_export_groups_children_under_their_order_only_when_asked(tmp_path, clock):
    asked = export_lines(tmp_path, clock(), group_objects=True)
    default = export_lines(tmp_path, clock(), group_objects=False)
    assert grouped(asked) and not grouped(default)
    assert sorted(map(json.dumps, asked)) == sorted(map(json.dumps, default)) and len(asked) == 6 * 4


# ---- protected customer data withheld (an app Shopify has not approved for them) ---------------

def test_the_stand_in_withholds_protected_customer_fields_as_shopify_does(demo, t, installed, history):
    from app.shopify.documents import CUSTOMERS_PAGE
    from app.shopify.graphql import ShopifyAccessDenied
    demo.withhold_protected_customer_data()
    with t.db.scope() as session, pytest.raises(ShopifyAccessDenied) as withheld:
        call_admin(t.shopify, session, find_shop(session, DEMO_SHOP), CUSTOMERS_PAGE, {"after": None})
    nodes = withheld.value.data["customers"]["nodes"]
    assert {n["legacyResourceId"] is not None and n["defaultEmailAddress"] is None
            and n["defaultPhoneNumber"] is None for n in nodes} == {True}
    assert {d.name for d in withheld.value.denied} == {"defaultEmailAddress", "firstName", "lastName",
                                                   "defaultPhoneNumber"}
    assert {d.path[:3] for d in withheld.value.denied} == {("customers", "nodes", i) for i in range(len(nodes))}
    assert all(e["extensions"]["code"] == "ACCESS_DENIED" and "not approved to use the" in e["message"]
               for e in withheld.value.errors)


def test_reconciliation_repairs_orders_without_the_withheld_customer_fields(demo, t, installed, history):
    from app.services.reconcile import reconcile_shop
    demo.withhold_protected_customer_data()
    with t.db.scope() as session:
        report = reconcile_shop(t.shopify, session, find_shop(session, DEMO_SHOP),
                                since=t.clock() - timedelta(days=200), clock=t.clock)
    assert (report.orders_seen, report.orders_missing) == (5, 5)
    assert report.withheld == {"defaultEmailAddress", "firstName", "lastName"}
    assert any("request access to protected customer data" in line for line in report.lines())
    with t.db.scope(read_only=True) as session:
        members = session.execute(select(Member.customer_id, Member.email)).all()
    assert len(members) == 2 and {email for _, email in members} == {None}  # known by id, nothing made up


def test_an_orders_import_exports_again_without_the_withheld_fields_and_says_so(demo, t, installed, history):
    demo.withhold_protected_customer_data()
    job = import_orders(t, installed, earn_points=True, since=(t.clock() - timedelta(days=365)).date().isoformat())
    assert (job.status, job.processed, job.last_error) == ("done", 5, None)
    assert [w["kind"] for w in job.warnings] == ["withheld_customer_fields"]
    assert "Partner Dashboard" in job.warnings[0]["message"]
    queries = [op["query"] for op in demo.snapshot()["bulk_operations"].values()]
    assert len(queries) == 2 and "email" in queries[0] and "email" not in queries[1]
    with t.db.scope(read_only=True) as session:
        points = dict(session.execute(select(Member.customer_id, func.sum(LedgerEntry.points)).join(
            LedgerEntry, LedgerEntry.member_id == Member.id).group_by(Member.customer_id)).all())
    assert sorted(points.values()) == [18, 176 - 28 + 68]  # as with the fields: alice 68+148, bob 18 (+42-42)
