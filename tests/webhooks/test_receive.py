"""POST /webhooks: HMAC over the exact raw body, durable inbox, fast acknowledgement."""
import json

import pytest
from sqlalchemy import func, select

from app.models import WebhookEvent
from tests.support import API_VERSION, OTHER_SHOP, SHOP, payload_bytes, send_webhook, webhook_headers

pytestmark = pytest.mark.both_backends

TOPICS = ["orders/create", "orders/paid", "orders/updated", "orders/cancelled", "orders/fulfilled", "refunds/create",
          "customers/create", "customers/update", "customers/delete", "app/uninstalled", "customers/data_request",
          "customers/redact", "shop/redact"]


def inbox(t):
    with t.db.scope(read_only=True) as session:
        return session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)).all()


@pytest.mark.parametrize("topic", TOPICS)
def test_real_payload_signed_with_the_app_secret_is_accepted_and_stored_verbatim(client, t, shop, topic):
    body = payload_bytes(topic)
    response = send_webhook(client, topic, body)
    assert response.status_code == 200
    [event] = inbox(t)
    assert (event.topic, event.status, event.body, event.shop_id) == (topic, "pending", body, shop.id)
    assert event.api_version == API_VERSION


def test_one_flipped_byte_is_refused_and_nothing_is_stored(client, t, shop):
    body = payload_bytes("orders/paid")
    headers = webhook_headers("orders/paid", body)
    tampered = bytearray(body)
    tampered[100] ^= 0x01
    response = client.post("/webhooks", data=bytes(tampered), headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_hmac"
    assert inbox(t) == []


def test_reserialised_body_fails_because_the_hmac_covers_the_exact_bytes(client, t, shop):
    body = payload_bytes("orders/paid")
    headers = webhook_headers("orders/paid", body)
    pretty = json.dumps(json.loads(body), indent=4).encode()
    assert client.post("/webhooks", data=pretty, headers=headers).status_code == 401
    assert inbox(t) == []


def test_missing_hmac_or_wrong_secret_is_refused(client, t, shop):
    body = payload_bytes("customers/create")
    headers = webhook_headers("customers/create", body)
    del headers["X-Shopify-Hmac-Sha256"]
    assert client.post("/webhooks", data=body, headers=headers).status_code == 401
    wrong = webhook_headers("customers/create", body, secret="shpss_someone_else")
    assert client.post("/webhooks", data=body, headers=wrong).status_code == 401
    assert inbox(t) == []


@pytest.mark.parametrize("topic", TOPICS)
def test_a_shop_that_never_installed_gets_200_so_shopify_stops_retrying_and_nothing_is_stored(client, t, shop, topic,
                                                                                            caplog):
    response = send_webhook(client, topic, payload_bytes(topic), shop="never-installed.myshopify.com")
    assert response.status_code == 200 and response.json == {"status": "ignored"}
    assert inbox(t) == []
    assert "never-installed.myshopify.com" in caplog.text and "never installed" in caplog.text


def test_an_uninstalled_shop_gets_200_and_its_order_updates_are_not_stored(client, t, shop, caplog):
    send_webhook(client, "app/uninstalled", payload_bytes("app/uninstalled"))
    t.queue.drain(t)
    response = send_webhook(client, "orders/paid", payload_bytes("orders/paid"))
    assert response.status_code == 200 and response.json == {"status": "ignored"}
    assert [e.topic for e in inbox(t)] == ["app/uninstalled"]
    assert "uninstalled there" in caplog.text


@pytest.mark.parametrize("topic", ["customers/data_request", "customers/redact", "shop/redact"])
def test_an_uninstalled_shops_privacy_requests_are_still_stored_because_we_hold_its_data(client, t, shop, topic):
    send_webhook(client, "app/uninstalled", payload_bytes("app/uninstalled"))
    t.queue.drain(t)
    assert send_webhook(client, topic, payload_bytes(topic)).status_code == 200
    assert [e.topic for e in inbox(t)] == ["app/uninstalled", topic]


def test_non_myshopify_shop_header_is_a_bad_request(client, t, shop):
    response = send_webhook(client, "orders/paid", payload_bytes("orders/paid"), shop="evil.example.com")
    assert response.status_code == 400
    assert inbox(t) == []


def test_malformed_json_with_valid_hmac_is_acknowledged_then_kept_as_failed_without_retries(client, t, shop):
    response = send_webhook(client, "orders/paid", b'{"id": 5981273456789, "line_items": [')
    assert response.status_code == 200  # parsing is off the acknowledgement path
    t.queue.drain(t)
    [event] = inbox(t)
    assert (event.status, event.attempts) == ("failed", 1)
    assert "not valid JSON" in event.last_error
    assert t.queue.pending() == 0  # never retried: Shopify will not send other bytes


def test_duplicate_delivery_is_acknowledged_once_stored_once(client, t, shop):
    body = payload_bytes("orders/paid")
    first = send_webhook(client, "orders/paid", body, webhook_id="delivery-1")
    second = send_webhook(client, "orders/paid", body, webhook_id="delivery-1")
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json["status"] == "duplicate"
    assert len(inbox(t)) == 1
    assert t.queue.pending() == 1


def test_same_delivery_id_in_two_shops_is_two_deliveries(client, t, shop, other_shop):
    body = payload_bytes("customers/create")
    send_webhook(client, "customers/create", body, webhook_id="same-id")
    send_webhook(client, "customers/create", body, webhook_id="same-id", shop=OTHER_SHOP)
    assert sorted(e.shop_id for e in inbox(t)) == sorted([shop.id, other_shop.id])


def test_previous_secret_is_accepted_during_rotation(app_settings, clock):
    from app import create_app
    from tests.conftest import install
    app = create_app({**app_settings, "SHOPIFY_API_SECRET": "shpss_new", "SHOPIFY_API_SECRET_PREVIOUS":
                      "shpss_test_secret_0123456789abcdef"})
    t = app.extensions["tessera"]
    install(t, SHOP)
    body = payload_bytes("customers/create")
    assert send_webhook(app.test_client(), "customers/create", body).status_code == 200
    assert send_webhook(app.test_client(), "customers/create", body, secret="shpss_new").status_code == 200
    t.db.engine.dispose()


def test_unhandled_topic_is_acknowledged_and_visible_as_failed(client, t, shop):
    response = send_webhook(client, "products/update", b'{"id": 1}')
    assert response.status_code == 200
    [event] = inbox(t)
    assert event.status == "failed" and "no handler" in event.last_error


def test_inbox_rows_count_one_per_delivery(client, t, shop):
    for i in range(5):
        send_webhook(client, "orders/updated", payload_bytes("orders/updated"), webhook_id=f"d{i}")
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 5


@pytest.mark.parametrize("sent", ["é" * 44, "\u00ff" * 10], ids=["latin", "y-diaeresis"])
def test_a_non_ascii_hmac_header_is_401_not_500(client, t, shop, sent):
    body = payload_bytes("orders/paid")
    headers = {**webhook_headers("orders/paid", body), "X-Shopify-Hmac-Sha256": sent}
    response = client.post("/webhooks", data=body, headers=headers)
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_hmac"
    assert inbox(t) == []
