"""Activity: the webhook inbox with failed deliveries and their errors; "retry" puts a failed
delivery back in the queue and it is processed."""
import json

from sqlalchemy import select

from app.models import WebhookEvent
from tests.admin.helpers import bearer, get_page, post_form
from tests.support import ORDER_ID, OTHER_SHOP, payload
from tests.support.ledger import balance, deliver


def failed_delivery(t, shop, topic="orders/paid", body=None) -> int:
    """A delivery whose retries ran out (e.g. a bug since fixed) with a real payload."""
    with t.db.scope() as session:
        event = WebhookEvent(shop_id=shop.id, topic=topic, delivery_key=f"d-{topic}-{shop.id}",
                             body=json.dumps(body or payload(topic)).encode(), status="failed", attempts=8,
                             last_error="OperationalError: database is locked", received_at=t.clock())
        session.add(event)
        session.commit()
        return event.id


def test_activity_lists_deliveries_with_failed_ones_and_their_errors(client, t, shop):
    deliver(client, t, "customers/create", payload("customers/create"))
    failed_delivery(t, shop)
    html = get_page(client, "/activity").get_data(as_text=True)
    assert "customers/create" in html and "Order #1042" in html
    assert "database is locked" in html and ">Retry</button>" in html
    failed_only = get_page(client, "/activity", status="failed").get_data(as_text=True)
    assert "customers/create" not in failed_only and "orders/paid" in failed_only


def test_retry_processes_a_failed_delivery(client, t, shop):
    event_id = failed_delivery(t, shop)
    response = post_form(client, f"/activity/{event_id}/retry", {})
    assert response.status_code == 200 and response.json["event"]["status"] == "pending"
    t.queue.drain(t)
    with t.db.scope(read_only=True) as session:
        assert session.get(WebhookEvent, event_id).status == "done"
    assert balance(t, shop).balance == 110


def test_only_failed_deliveries_can_be_retried(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    with t.db.scope(read_only=True) as session:
        done_id = session.scalar(select(WebhookEvent.id).where(WebhookEvent.shop_id == shop.id))
    response = post_form(client, f"/activity/{done_id}/retry", {})
    assert response.status_code == 409 and "this one is done" in response.json["error"]["message"]


def test_another_shops_delivery_cannot_be_seen_or_retried(client, t, shop, other_shop):
    event_id = failed_delivery(t, other_shop)
    assert post_form(client, f"/activity/{event_id}/retry", {}).status_code == 404
    assert "orders/paid" not in get_page(client, "/activity").get_data(as_text=True)
    assert post_form(client, f"/activity/{event_id}/retry", {}, shop=OTHER_SHOP).status_code == 200


def test_retry_needs_the_csrf_token(client, t, shop):
    event_id = failed_delivery(t, shop)
    assert post_form(client, f"/activity/{event_id}/retry", {}, csrf="").status_code == 403
    with t.db.scope(read_only=True) as session:
        assert session.get(WebhookEvent, event_id).status == "failed"


def test_the_home_page_warns_about_failed_deliveries(client, t, shop):
    failed_delivery(t, shop)
    html = get_page(client, "/").get_data(as_text=True)
    assert "1 webhook delivery failed" in html and "/activity?" in html


def test_inbox_api_lists_and_retries(client, t, shop):
    event_id = failed_delivery(t, shop)
    body = client.get("/api/v1/webhook-events?status=failed", headers=bearer()).json
    assert [e["id"] for e in body["events"]] == [event_id] and body["counts"]["failed"] == 1
    assert body["events"][0]["subject"] == "Order #1042"
    assert client.post(f"/api/v1/webhook-events/{event_id}/retry", headers=bearer()).json["status"] == "pending"
    assert client.post(f"/api/v1/webhook-events/{ORDER_ID}/retry", headers=bearer()).status_code == 404
