"""Imports from the Admin API (stubbed at the HTTP boundary): customers page by page, historical
orders through a bulk export, both with progress and resumable after an interruption or a
Shopify failure; the owner's choices for past orders; the import page and the JSON API."""
import json

import pytest
import responses
from sqlalchemy import func, select

from app.models import BulkExportLine, ImportJob, Order, Shop
from app.queries.imports import find_import
from app.services.import_jobs import run_import_step, start_import
from tests.admin.helpers import get_page, post_form
from tests.support import ORDER_ID, payload
from tests.support.admin_schema import validation_errors
from tests.support.bulk_files import FILE_URL, OPERATION_ID, FileServer, jsonl, operation, refund_details, started
from tests.support.ledger import balance, deliver, ledger, member_of, set_program
from tests.support.shopify_stub import AdminStub


def count(connection: str, n: int, precision: str = "EXACT") -> dict:
    return {"data": {f"{connection}Count": {"count": n, "precision": precision}}}


def customer_node(customer_id: int, email: str, state: str = "ENABLED") -> dict:
    return {"legacyResourceId": str(customer_id), "firstName": email.split("@")[0].title(),
            "lastName": "Imported", "state": state, "createdAt": "2023-05-01T10:00:00Z",
            "defaultEmailAddress": {"emailAddress": email, "marketingState": "NOT_SUBSCRIBED"},
            "defaultPhoneNumber": None}


def customers_page(*nodes, cursor=None) -> dict:
    return {"data": {"customers": {"nodes": list(nodes), "pageInfo": {"hasNextPage": cursor is not None,
                                                                       "endCursor": cursor}}}}


def step(t, shop, job_id, **kwargs):
    with t.db.scope() as session:
        shop_row = session.get(Shop, shop.id)
        return run_import_step(t.shopify, session, shop_row, find_import(session, shop_row, job_id), clock=t.clock,
                               **kwargs)


def start(t, shop, kind, **options):
    with t.db.scope() as session:
        return start_import(session, session.get(Shop, shop.id), kind, now=t.clock(), options=options).id


def sent(stub) -> list[tuple[str, dict]]:
    return [(b["operationName"], b["variables"]) for b in stub.bodies]


def test_customers_are_imported_page_by_page_like_customer_webhooks(t, shop, stub):
    stub.then(count("customers", 3),
              customers_page(customer_node(11, "ana@example.com"), customer_node(12, "bo@example.com", "DISABLED"),
                             cursor="c1"),
              customers_page(customer_node(13, "cy@example.com")))
    job = step(t, shop, start(t, shop, "customers"), budget_seconds=60)  # all pages, however loaded the machine
    assert (job.status, job.processed, job.total) == ("done", 3, 3)
    assert sent(stub) == [("CustomersCount", {}), ("CustomersPage", {"after": None}),
                          ("CustomersPage", {"after": "c1"})]
    assert member_of(t, shop, 11).email == "ana@example.com" and member_of(t, shop, 11).account_state == "enabled"
    # enabled accounts get the sign-up points, as with a customers/update webhook
    assert balance(t, shop, 11).balance == 100 and balance(t, shop, 12).balance == 0


def test_customers_whose_protected_fields_shopify_withholds_are_imported_with_a_warning(client, t, shop, stub):
    from tests.admin.helpers import bearer
    from tests.support.graphql_orders import withholding
    fields = ("defaultEmailAddress", "firstName", "lastName", "defaultPhoneNumber")
    stub.then(count("customers", 2),
              withholding(customers_page(customer_node(11, "ana@example.com"), cursor="c1"), "customers", fields),
              withholding(customers_page(customer_node(12, "bo@example.com")), "customers", fields))
    job = step(t, shop, start(t, shop, "customers"), max_pages=5, budget_seconds=60)
    assert (job.status, job.processed, job.last_error) == ("done", 2, None)
    assert member_of(t, shop, 11).email is None and balance(t, shop, 11).balance == 100  # sign-up points still
    [warning] = job.warnings
    assert warning["fields"] == ["defaultEmailAddress", "defaultPhoneNumber", "firstName", "lastName"]
    shown = client.get(f"/api/v1/imports/{job.id}", headers=bearer()).json["warnings"]
    assert shown == [warning["message"]] and "request access to protected customer data" in shown[0]
    assert "withheld protected customer fields" in get_page(client, "/import").get_data(as_text=True)


def test_an_interrupted_import_resumes_from_the_saved_cursor(t, shop, stub):
    stub.then(count("customers", 3), customers_page(customer_node(11, "ana@example.com"), cursor="c1"))
    job_id = start(t, shop, "customers")
    job = step(t, shop, job_id, max_pages=1)  # then the browser closes / the process stops
    assert (job.status, job.cursor, job.processed) == ("pending", "c1", 1)
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


# ---- historical orders: the bulk export ------------------------------------------------------

def paid(n: int, **changes) -> dict:
    order = payload("orders/paid")
    order.update(id=ORDER_ID + n, name=f"#{1042 + n}", admin_graphql_api_id=f"gid://shopify/Order/{ORDER_ID + n}",
                 **changes)
    return order


def refund_of(order: dict, n: int = 1) -> dict:
    refund = payload("refunds/create")
    refund.update(id=978123456789 + n, order_id=order["id"])
    return refund


def history_file(stub, rsps, *orders, roots=None, grouped=False) -> FileServer:
    """Shopify accepts the export, is still writing it at the first look, then has the file; the
    refunds it names are then read by id."""
    content = jsonl(*orders, grouped=grouped)
    stub.then(started(), operation("RUNNING", roots=1),
              operation("COMPLETED", roots=roots or len(orders), url=FILE_URL, file_size=len(content)))
    refunds = [refund for _, order_refunds in orders for refund in order_refunds]
    if refunds:
        stub.then(refund_details(*refunds))
    return FileServer(rsps, content)


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def bulk_stub(rsps):
    return AdminStub(rsps)


def run_all(t, shop, job_id, **kwargs):
    job = step(t, shop, job_id, budget_seconds=60, **kwargs)
    while job.status in ("pending", "running"):
        job = step(t, shop, job_id, budget_seconds=60, **kwargs)
    return job


@pytest.mark.parametrize("grouped", [False, True])
def test_historical_orders_come_from_a_bulk_export_polled_until_its_file_is_ready(t, shop, bulk_stub, rsps, grouped):
    first, second = paid(0), paid(1, financial_status="partially_refunded")
    history_file(bulk_stub, rsps, (first, []), (second, [refund_of(second)]), grouped=grouped)
    job = run_all(t, shop, start(t, shop, "orders", earn_points="true", since="2024-06-01"))
    assert (job.status, job.processed, job.total, job.last_error) == ("done", 2, 2, None)
    assert [name for name, _ in sent(bulk_stub)] == ["RunBulkQuery", "BulkOperationById", "BulkOperationById",
                                                     "RefundDetails"]
    query = bulk_stub.bodies[0]["variables"]["query"]
    assert 'orders(query: "processed_at:>=2024-06-01")' in query and validation_errors(query) == []
    assert bulk_stub.bodies[3]["variables"] == {"ids": ["gid://shopify/Refund/978123456790"]}
    assert ledger(t, shop) == [(f"order:{ORDER_ID}:earn", 110), (f"order:{ORDER_ID + 1}:earn", 110),
                               ("refund:978123456790:clawback", -55)]
    cursor = json.loads(job.cursor)
    assert (cursor["phase"], cursor["operation_id"], cursor["objects"], cursor["lines"], cursor["offset"]) == \
        ("tiers", OPERATION_ID, 2, 8, len(jsonl((first, []), (second, [refund_of(second)]))))
    with t.db.scope(read_only=True) as session:  # the kept lines are gone with the import done
        assert session.scalar(select(func.count()).select_from(BulkExportLine)) == 0


def test_refunds_are_read_a_page_at_a_time_within_shopifys_query_cost(t, shop, bulk_stub, rsps):
    from app.shopify.documents import REFUNDS_PER_PAGE
    orders = [(order, [refund_of(order, n)]) for n, order in ((n, paid(n, financial_status="refunded"))
                                                             for n in range(REFUNDS_PER_PAGE + 1))]
    history_file(bulk_stub, rsps, *orders)
    bulk_stub.then(refund_details(*[refund for _, refunds in orders for refund in refunds]))
    job = run_all(t, shop, start(t, shop, "orders", earn_points="true"))
    pages = [body["variables"]["ids"] for body in bulk_stub.bodies if body["operationName"] == "RefundDetails"]
    assert job.status == "done" and [len(ids) for ids in pages] == [REFUNDS_PER_PAGE, 1]
    assert sorted(key for key, _ in ledger(t, shop) if key.startswith("refund:")) == \
        sorted(f"refund:{978123456789 + n}:clawback" for n in range(REFUNDS_PER_PAGE + 1))


def test_a_refund_shopify_does_not_return_stops_the_import_before_anything_is_written(t, shop, bulk_stub, rsps):
    order = paid(0, financial_status="partially_refunded")
    history_file(bulk_stub, rsps, (order, []))
    bulk_stub.replies.clear()
    content = jsonl((order, [refund_of(order)]))
    rsps.replace(responses.GET, FILE_URL, body=content)
    bulk_stub.then(started(), operation("COMPLETED", roots=1, url=FILE_URL, file_size=len(content)),
                   refund_details())  # Shopify answers null for the refund
    job = run_all(t, shop, start(t, shop, "orders", earn_points="true"))
    assert job.status == "failed" and "did not return refund gid://shopify/Refund/978123456790" in job.last_error
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_a_file_shorter_than_shopify_says_is_downloaded_again_from_where_it_ended(t, shop, bulk_stub, rsps):
    orders = [(paid(n), []) for n in range(2)]
    files = history_file(bulk_stub, rsps, *orders)
    cut = files.content.index(b"\n") + 1
    files.cuts = [cut]
    bulk_stub.then(operation("COMPLETED", roots=2, url=FILE_URL, file_size=len(files.content)))
    job = run_all(t, shop, start(t, shop, "orders", earn_points="true"))
    assert (job.status, job.processed) == ("done", 2)
    assert files.ranges == [None, f"bytes={cut}-"]


def test_past_orders_earn_no_points_by_default_and_a_later_refund_takes_nothing_back(client, t, shop, bulk_stub,
                                                                                       rsps):
    history_file(bulk_stub, rsps, (paid(0), []))
    job = run_all(t, shop, start(t, shop, "orders"))
    assert job.options == {"since": "2024-02-14", "earn_points": False}  # 12 months before the clock
    assert 'processed_at:>=2024-02-14' in bulk_stub.bodies[0]["variables"]["query"]
    assert ledger(t, shop) == [(f"order:{ORDER_ID}:earn", 0)] and balance(t, shop).balance == 0
    deliver(client, t, "refunds/create", refund_of(paid(0)))
    assert ledger(t, shop) == [(f"order:{ORDER_ID}:earn", 0)]


def test_a_stopped_import_asks_only_for_the_rest_of_the_file(t, shop, bulk_stub, rsps, monkeypatch):
    monkeypatch.setattr("app.services.orders_import.KEEP_LINES", 4)
    orders = [(paid(n), []) for n in range(3)]
    files = history_file(bulk_stub, rsps, *orders)
    job_id = start(t, shop, "orders", earn_points="true")
    job = step(t, shop, job_id, budget_seconds=0.0)  # export asked for; Shopify still writing
    job = step(t, shop, job_id, budget_seconds=0.0)  # the file is ready
    bulk_stub.then(operation("COMPLETED", roots=3, url=FILE_URL, file_size=len(files.content)))
    job = step(t, shop, job_id, budget_seconds=0.0)  # four lines kept, then the process stops
    cursor = json.loads(job.cursor)
    assert (job.status, job.processed, cursor["phase"], cursor["lines"]) == ("pending", 0, "download", 4)
    offset = cursor["offset"]
    assert offset == len(b"".join(files.content.splitlines(keepends=True)[:4]))
    bulk_stub.then(operation("COMPLETED", roots=3, url=FILE_URL, file_size=len(files.content)))  # a fresh link
    job = run_all(t, shop, job_id)
    assert (job.status, job.processed) == ("done", 3)
    assert files.ranges == [None, f"bytes={offset}-"]
    assert [key for key, _ in ledger(t, shop)] == [f"order:{ORDER_ID + n}:earn" for n in range(3)]


def test_a_broken_download_is_taken_up_again_from_the_last_commit(t, shop, bulk_stub, rsps):
    files = history_file(bulk_stub, rsps, (paid(0), []), (paid(1), []))
    files.failures = [503]
    bulk_stub.then(operation("COMPLETED", roots=2, url=FILE_URL))
    job = run_all(t, shop, start(t, shop, "orders", earn_points="true"))
    assert (job.status, job.processed) == ("done", 2) and len(ledger(t, shop)) == 2
    assert files.ranges == [None, None]


def test_a_bulk_query_shopify_refuses_stops_the_import_with_shopifys_words(t, shop, bulk_stub, monkeypatch):
    from app.shopify import documents
    nested = documents.BULK_ORDERS_QUERY.replace(
        "duties { amountSet { shopMoney { amount } } }",
        "duties { amountSet { shopMoney { amount } } } refundLineItems { edges { node { id } } }")
    monkeypatch.setattr(documents, "BULK_ORDERS_QUERY", nested)  # the query before the fix
    job = step(t, shop, start(t, shop, "orders"))
    assert job.status == "failed"
    assert "connection field within a list field are not currently supported" in job.last_error


def test_an_export_refused_even_without_customer_fields_stops_without_blaming_them(t, shop, bulk_stub, rsps):
    bulk_stub.then(started(), operation("FAILED", error_code="ACCESS_DENIED"),
                   started(), operation("FAILED", error_code="ACCESS_DENIED"))
    job = run_all(t, shop, start(t, shop, "orders"))
    queries = [b["variables"]["query"] for b in bulk_stub.bodies if b["operationName"] == "RunBulkQuery"]
    assert len(queries) == 2 and "email" in queries[0] and "email" not in queries[1]
    assert job.status == "failed" and "ended without a file (ACCESS_DENIED)" in job.last_error and not job.warnings


def test_a_failed_export_stops_the_job_and_resuming_starts_a_new_one(t, shop, bulk_stub, rsps):
    bulk_stub.then(started(), operation("FAILED", error_code="TIMEOUT"))
    job_id = start(t, shop, "orders", earn_points="true")
    job = step(t, shop, job_id)
    assert job.status == "failed" and "ended without a file (TIMEOUT)" in job.last_error
    assert "Resume the import" in job.last_error and json.loads(job.cursor)["operation_id"] is None
    history_file(bulk_stub, rsps, (paid(0), []))
    assert start(t, shop, "orders") == job_id
    job = run_all(t, shop, job_id)
    assert job.status == "done" and [name for name, _ in sent(bulk_stub)].count("RunBulkQuery") == 2


def test_an_export_already_running_for_another_purpose_stops_the_import_with_the_reason(t, shop, bulk_stub):
    refused = {"data": {"bulkOperationRunQuery": {"bulkOperation": None, "userErrors": [
        {"field": None, "code": "OPERATION_IN_PROGRESS", "message": "A bulk query operation is already in progress"}]}}}
    current = {"data": {"bulkOperations": {"nodes": [{**operation("RUNNING")["data"]["node"],
                                                      "query": "{ products { edges { node { id } } } }"}]}}}
    bulk_stub.then(refused, current)
    job = step(t, shop, start(t, shop, "orders"))
    assert job.status == "failed" and "Another export of this app is still running" in job.last_error


def test_tiers_are_worked_out_once_at_the_end_of_the_import(t, shop, bulk_stub, rsps):
    set_program(t, shop, {"tiers": {"enabled": True, "metric": "order_count", "levels": [
        {"key": "bronze", "name": "Bronze", "threshold": 0}, {"key": "silver", "name": "Silver", "threshold": 2}]}})
    history_file(bulk_stub, rsps, (paid(0), []), (paid(1), []))
    job = run_all(t, shop, start(t, shop, "orders"))
    assert job.status == "done" and member_of(t, shop).tier_key == "silver"


def test_the_owners_choices_are_checked(client, t, shop):
    for since, problem in (("last year", "must be a date"), ("2999-01-01", "between 2006-01-01 and today")):
        response = post_form(client, "/import/jobs", {"kind": "orders", "since": since, "earn_points": "false"})
        [field] = response.json["error"]["fields"]
        assert response.status_code == 422 and field["field"] == "since" and problem in field["problem"]
    html = get_page(client, "/import").get_data(as_text=True)
    assert 'name="since" type="date"' in html and 'value="2024-02-14"' in html and 'max="2025-02-14"' in html
    assert "Do past orders earn points?" in html and 'name="earn_points" value="false" checked' in html
    assert "only the last 60 days" in html  # the test shop granted read_orders, not read_all_orders


def test_with_a_worker_the_page_starts_the_import_and_watches_its_progress(client, t, shop, bulk_stub, rsps):
    from tests.admin.helpers import bearer
    t.config["INPROCESS_WORKER"] = True  # as under `flask run` / gunicorn: the worker runs imports
    history_file(bulk_stub, rsps, (paid(0), []), (paid(1), []))
    started_job = post_form(client, "/import/jobs", {"kind": "orders", "since": "2024-10-01", "earn_points": "true"})
    assert started_job.json["background"] is True and started_job.json["job"]["status"] == "pending"
    job_id = started_job.json["job"]["id"]
    assert t.queue.pending() == 1  # the page did not run anything itself
    assert post_form(client, "/import/jobs", {"kind": "orders"}).json["job"]["id"] == job_id
    assert t.queue.pending() == 1  # resuming a job that is on its way queues nothing more
    t.queue.drain(t)
    progress = client.get(f"/api/v1/imports/{job_id}", headers=bearer()).json
    assert (progress["status"], progress["processed"], progress["percent"], progress["message"]) == \
        ("done", 2, 100, "2 imported")
    assert progress["options"] == {"since": "2024-10-01", "earn_points": True}
    html = get_page(client, "/import").get_data(as_text=True)
    assert "Historical orders" in html and "2 / 2" in html


def test_a_job_whose_worker_went_away_is_shown_stalled_and_queued_again_on_resume(client, t, shop):
    from tests.admin.helpers import bearer
    t.config["INPROCESS_WORKER"] = True
    job_id = post_form(client, "/import/jobs", {"kind": "customers"}).json["job"]["id"]
    t.queue = type(t.queue)()  # the process restarted: its queue is gone
    t.clock.advance(minutes=3)
    assert client.get(f"/api/v1/imports/{job_id}", headers=bearer()).json["stalled"] is True
    assert post_form(client, "/import/jobs", {"kind": "customers"}).json["job"]["id"] == job_id
    assert t.queue.pending() == 1


def test_an_import_whose_slice_was_lost_carries_on_by_itself_once_the_queue_is_idle(client, t, shop, stub):
    from app.jobs.tasks import resume_stalled_imports
    t.config["INPROCESS_WORKER"] = True
    stub.then(count("customers", 1), customers_page(customer_node(101, "ana@example.com")))
    job_id = post_form(client, "/import/jobs", {"kind": "customers"}).json["job"]["id"]
    t.queue = type(t.queue)()  # the process restarted: its queue is gone
    assert resume_stalled_imports(t) == 0  # quiet for less than the lease: a runner may still hold it
    t.clock.advance(minutes=3)
    t.queue.enqueue("sweep_inbox")
    assert resume_stalled_imports(t) == 0  # something waits in the queue: the slice may be among it
    t.queue.drain(t)
    assert resume_stalled_imports(t) == 1
    t.queue.drain(t)
    with t.db.scope(read_only=True) as session:
        job = session.get(ImportJob, job_id)
        assert (job.status, job.processed) == ("done", 1)
    assert resume_stalled_imports(t) == 0  # done imports are left alone


def test_the_api_starts_an_orders_import_with_the_owners_choices(client, t, shop):
    from tests.admin.helpers import bearer
    created = client.post("/api/v1/imports", json={"kind": "orders", "since": "2025-01-01", "earn_points": True},
                          headers=bearer())
    assert created.status_code == 201
    assert created.json["options"] == {"since": "2025-01-01", "earn_points": True}
    assert created.json["phase"] == "export" and created.json["message"] == "Asking Shopify for the orders"
