"""The webhook HMAC signs the body, not the X-Shopify-Topic or X-Shopify-Shop-Domain headers:
a captured body replayed under another topic or shop verifies. Such deliveries are recorded
as failed with the reason, and nothing of them is applied."""
import json

import pytest
from sqlalchemy import func, select

from app.models import Member, Shop, WebhookEvent
from tests.support import OTHER_SHOP, SHOP, payload, payload_bytes, send_webhook

pytestmark = pytest.mark.both_backends


def replay(client, t, topic, body: bytes, shop=SHOP):
    assert send_webhook(client, topic, body, shop=shop).status_code == 200
    t.queue.drain(t)


def last_event(t, topic):
    with t.db.scope(read_only=True) as session:
        return session.scalars(select(WebhookEvent).where(WebhookEvent.topic == topic)
                               .order_by(WebhookEvent.id.desc())).first()


def members_of(t, shop_id):
    with t.db.scope(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(Member).where(Member.shop_id == shop_id))


def test_an_orders_body_replayed_as_app_uninstalled_does_not_uninstall_the_shop(client, t, shop):
    replay(client, t, "app/uninstalled", payload_bytes("orders/paid"))
    event = last_event(t, "app/uninstalled")
    assert event.status == "failed" and "does not match the delivery's headers" in event.last_error
    with t.db.scope(read_only=True) as session:
        assert session.get(Shop, shop.id).is_installed


def test_another_shops_uninstall_body_replayed_for_this_shop_is_refused(client, t, shop):
    body = payload("app/uninstalled")
    body["myshopify_domain"] = OTHER_SHOP
    replay(client, t, "app/uninstalled", json.dumps(body).encode())
    assert "myshopify_domain" in last_event(t, "app/uninstalled").last_error
    with t.db.scope(read_only=True) as session:
        assert session.get(Shop, shop.id).is_installed


def test_a_customer_redact_body_replayed_as_shop_redact_does_not_erase_the_shop(client, t, shop):
    replay(client, t, "customers/update", payload_bytes("customers/update"))
    replay(client, t, "app/uninstalled", payload_bytes("app/uninstalled"))
    replay(client, t, "shop/redact", payload_bytes("customers/redact"))
    event = last_event(t, "shop/redact")
    assert event.status == "failed" and "carries customer, orders_to_redact" in event.last_error
    assert members_of(t, shop.id) == 1


def test_one_shops_redact_body_replayed_for_another_shop_is_refused(client, t, shop, other_shop):
    send_webhook(client, "customers/update", payload("customers/update"), shop=OTHER_SHOP)
    replay(client, t, "app/uninstalled", payload_bytes("app/uninstalled").replace(
        SHOP.encode(), OTHER_SHOP.encode()), shop=OTHER_SHOP)
    replay(client, t, "shop/redact", payload_bytes("shop/redact"), shop=OTHER_SHOP)
    event = last_event(t, "shop/redact")
    assert event.status == "failed" and "shop_domain" in event.last_error and OTHER_SHOP in event.last_error
    assert members_of(t, other_shop.id) == 1


@pytest.mark.parametrize("topic,body_of", [
    ("refunds/create", "orders/paid"),
    ("orders/paid", "customers/create"),
    ("orders/cancelled", "refunds/create"),
    ("customers/delete", "app/uninstalled"),
    ("customers/update", "orders/paid"),
    ("customers/redact", "customers/data_request"),
    ("customers/data_request", "customers/redact"),
])
def test_a_body_replayed_under_another_topic_is_failed_and_applies_nothing(client, t, shop, topic, body_of):
    replay(client, t, topic, payload_bytes(body_of))
    event = last_event(t, topic)
    assert event.status == "failed" and topic in event.last_error
    assert members_of(t, shop.id) == 0


@pytest.mark.parametrize("body", [b"[]", b'"text"', b'{"id": "5981273456789", "line_items": []}',
                                  b'{"id": true, "line_items": []}', b'{"id": 1, "line_items": {}}'])
def test_an_order_body_of_the_wrong_json_types_is_failed_not_retried(client, t, shop, body):
    replay(client, t, "orders/paid", body)
    event = last_event(t, "orders/paid")
    assert event.status == "failed" and event.attempts == 1
