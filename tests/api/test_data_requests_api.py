"""GET /api/v1/data-requests: the owner sees customers' data requests with the export to send
them, and erasures; only their own shop's; a bad filter is 422 naming the field."""
import pytest

from tests.admin.helpers import bearer
from tests.support import CUSTOMER_ID, OTHER_SHOP, payload, send_webhook
from tests.support.ledger import deliver


@pytest.fixture
def data_request(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    deliver(client, t, "customers/data_request", payload("customers/data_request"))


@pytest.mark.both_backends
def test_the_owner_gets_the_export_to_answer_a_customers_data_request(client, t, shop, data_request):
    body = client.get("/api/v1/data-requests", headers=bearer()).json
    [request] = body["data_requests"]
    assert (request["kind"], request["customer_id"], request["shopify_request_id"]) == (
        "data_request", CUSTOMER_ID, "4401")
    assert request["export"]["email"] == "jordan.lee@example.com" and request["export"]["ledger"][0]["points"] == 110
    assert body["next_before"] is None


@pytest.mark.both_backends
def test_after_a_redact_the_request_is_listed_without_the_customers_data(client, t, shop, data_request):
    deliver(client, t, "customers/redact", payload("customers/redact"))
    requests = client.get("/api/v1/data-requests", headers=bearer()).json["data_requests"]
    assert [r["kind"] for r in requests] == ["customer_redact", "data_request"]
    assert "jordan" not in str(requests).lower()
    only = client.get("/api/v1/data-requests?kind=customer_redact", headers=bearer()).json["data_requests"]
    assert [r["kind"] for r in only] == ["customer_redact"]


def test_another_shops_data_requests_are_not_visible(client, t, shop, other_shop, data_request):
    assert client.get("/api/v1/data-requests", headers=bearer(shop=OTHER_SHOP)).json["data_requests"] == []


def test_a_bad_filter_is_422_with_the_field(client, t, shop):
    response = client.get("/api/v1/data-requests?kind=everything&before=x", headers=bearer())
    assert response.status_code == 422
    assert {f["field"] for f in response.json["error"]["fields"]} == {"kind", "before"}


def test_data_requests_need_a_session_token(client, t, shop, data_request):
    assert client.get("/api/v1/data-requests").status_code == 401
