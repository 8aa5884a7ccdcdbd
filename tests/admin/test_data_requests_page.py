"""The data requests page: what a customer asked for, and the export the owner sends them."""
from tests.admin.helpers import get_page
from tests.support import OTHER_SHOP, payload
from tests.support.ledger import deliver


def test_the_page_shows_a_data_request_with_the_export_to_send(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    deliver(client, t, "customers/data_request", payload("customers/data_request"))
    response = get_page(client, "/data-requests")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Shopify request 4401" in html
    assert "jordan.lee@example.com" in html and "Show the export" in html


def test_the_page_shows_no_other_shops_requests(client, t, shop, other_shop):
    deliver(client, t, "customers/data_request", payload("customers/data_request"))
    html = get_page(client, "/data-requests", shop=OTHER_SHOP).get_data(as_text=True)
    assert "4401" not in html and "No data requests yet" in html
