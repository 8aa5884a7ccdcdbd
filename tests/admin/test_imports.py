"""Imports from the Admin API (stubbed at the HTTP boundary): customers and historical orders,
page by page with progress, resumable after an interruption or a Shopify failure; and the
import page's forms."""
import pytest
import responses
from sqlalchemy import func, select

from app.models import ImportJob, Shop
from app.services.imports import find_import, run_import_step, start_import
from tests.admin.helpers import get_page, post_form
from tests.support import ORDER_ID, payload
from tests.support.graphql_orders import orders_page
from tests.support.ledger import balance, deliver, ledger, member_of
from tests.support.shopify_stub import AdminStub


def count(connection: str, n: int, precision: str = "EXACT") -> dict:
    return {"data": {f"{connection}Count": {"count": n, "precision": precision}}}


def customer_node(customer_id: int, email: str, state: str = "ENABLED") -> dict:
    return {"legacyResourceId": str(customer_id), "email": email, "firstName": email.split("@")[0].title(),
            "lastName": "Imported", "phone": None, "state": state, "createdAt": "2023-05-01T10:00:00Z",
            "emailMarketingConsent": {"marketingState": "NOT_SUBSCRIBED"}}


def customers_page(*nodes, cursor=None) -> dict:
    return {"data": {"customers": {"nodes": list(nodes), "pageInfo": {"hasNextPage": cursor is not None,
                                                                       "endCursor": cursor}}}}


@pytest.fixture
def stub():
    with responses.RequestsMock() as rsps:
        yield AdminStub(rsps)


def step(t, shop, job_id, **kwargs):
    with t.db.scope() as session:
        shop_row = session.get(Shop, shop.id)
        return run_import_step(t, session, shop_row, find_import(session, shop_row, job_id), **kwargs)


def start(t, shop, kind):
    with t.db.scope() as session:
        return start_import(session, session.get(Shop, shop.id), kind, now=t.clock()).id


def sent(stub) -> list[tuple[str, dict]]:
    return [(b["operationName"], b["variables"]) for b in stub.bodies]


def test_customers_are_imported_page_by_page_like_customer_webhooks(t, shop, stub):
    stub.then(count("customers", 3),
              customers_page(customer_node(11, "ana@example.com"), customer_node(12, "bo@example.com", "DISABLED"),
                             cursor="c1"),
              customers_page(customer_node(13, "cy@example.com")))
    job = step(t, shop, start(t, shop, "customers"))
    assert (job.status, job.processed, job.total) == ("done", 3, 3)
    assert sent(stub) == [("CustomersCount", {}), ("CustomersPage", {"after": None}),
                          ("CustomersPage", {"after": "c1"})]
    assert member_of(t, shop, 11).email == "ana@example.com" and member_of(t, shop, 11).account_state == "enabled"
    # enabled accounts get the sign-up points, as with a customers/update webhook
    assert balance(t, shop, 11).balance == 100 and balance(t, shop, 12).balance == 0


def test_an_interrupted_import_resumes_from_the_saved_cursor(t, shop, stub):
    stub.then(count("customers", 3), customers_page(customer_node(11, "ana@example.com"), cursor="c1"))
    job_id = start(t, shop, "customers")
    job = step(t, shop, job_id, max_pages=1)  # then the browser closes / the process stops
    assert (job.status, job.cursor, job.processed) == ("running", "c1", 1)
    stub.then(customers_page(customer_node(12, "bo@example.com"), customer_node(13, "cy@example.com")))
    assert start(t, shop, "customers") == job_id  # starting again resumes the same job
    job = step(t, shop, job_id)
    assert (job.status, job.processed) == ("done", 3)
    assert sent(stub)[-1] == ("CustomersPage", {"after": "c1"})
    assert [name for name, _ in sent(stub)].count("CustomersCount") == 1


def test_a_shopify_failure_stops_the_import_with_the_reason_and_resume_continues(t, shop, stub):
    stub.then(count("customers", 2), customers_page(customer_node(11, "ana@example.com"), cursor="c1"),
              500, 500, 500, 500, 500)
    job_id = start(t, shop, "customers")
    job = step(t, shop, job_id)
    assert job.status == "failed" and "Resume the import" in job.last_error and job.cursor == "c1"
    stub.then(customers_page(customer_node(12, "bo@example.com")))
    job = step(t, shop, job_id)
    assert (job.status, job.processed, job.last_error) == ("done", 2, None)


def test_historical_orders_earn_exactly_what_the_webhooks_would_and_only_once(client, t, shop, stub):
    second = payload("orders/paid")
    second.update(id=ORDER_ID + 1, name="#1043", admin_graphql_api_id=f"gid://shopify/Order/{ORDER_ID + 1}")
    stub.then(count("orders", 2), orders_page(payload("orders/paid"), has_next=True, cursor="o1"),
              orders_page(second))
    job = step(t, shop, start(t, shop, "orders"))
    assert (job.status, job.processed) == ("done", 2)
    assert ledger(t, shop) == [(f"order:{ORDER_ID}:earn", 110), (f"order:{ORDER_ID + 1}:earn", 110)]
    assert sent(stub)[1] == ("HistoricalOrders", {"after": None})
    # A webhook for an imported order, and a second import, add nothing.
    deliver(client, t, "orders/paid", payload("orders/paid"))
    stub.then(count("orders", 2), orders_page(payload("orders/paid"), second))
    job = step(t, shop, start(t, shop, "orders"))
    assert job.status == "done" and len(ledger(t, shop)) == 2


def test_a_count_beyond_shopifys_limit_leaves_the_total_open(t, shop, stub):
    stub.then(count("customers", 10000, "AT_LEAST"), customers_page(customer_node(11, "ana@example.com")))
    job = step(t, shop, start(t, shop, "customers"))
    assert job.total is None and job.processed == 1 and job.status == "done"


def test_import_page_starts_and_runs_an_import_with_progress(client, t, shop, stub):
    stub.then(count("customers", 2), customers_page(customer_node(11, "ana@example.com"), cursor="c1"),
              customers_page(customer_node(12, "bo@example.com")))
    started = post_form(client, "/import/jobs", {"kind": "customers"})
    assert started.status_code == 200 and started.json["job"]["status"] == "pending"
    job_id = started.json["job"]["id"]
    ran = post_form(client, f"/import/jobs/{job_id}/run", {})
    job = ran.json["job"]
    assert (job["status"], job["processed"], job["total"], job["percent"]) == ("done", 2, 2, 100)
    html = get_page(client, "/import").get_data(as_text=True)
    assert "Import history" in html and "Customers" in html


def test_import_forms_refuse_unknown_kinds_other_shops_jobs_and_missing_csrf(client, t, shop, other_shop):
    response = post_form(client, "/import/jobs", {"kind": "products"})
    assert response.status_code == 422 and response.json["error"]["fields"][0]["field"] == "kind"
    theirs = start(t, other_shop, "customers")
    assert post_form(client, f"/import/jobs/{theirs}/run", {}).status_code == 404
    assert post_form(client, "/import/jobs", {"kind": "customers"}, csrf="").status_code == 403


def test_import_api_starts_runs_and_reports(client, t, shop, stub):
    from tests.admin.helpers import bearer
    stub.then(count("customers", 1), customers_page(customer_node(11, "ana@example.com")))
    created = client.post("/api/v1/imports", json={"kind": "customers"}, headers=bearer())
    assert created.status_code == 201
    ran = client.post(f"/api/v1/imports/{created.json['id']}/run", headers=bearer())
    assert ran.json["status"] == "done"
    assert [j["kind"] for j in client.get("/api/v1/imports", headers=bearer()).json["imports"]] == ["customers"]
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(ImportJob)) == 1
