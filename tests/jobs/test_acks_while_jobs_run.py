"""Webhook acknowledgements never wait for a job that waits for Shopify (Shopify gives up after
5 s and counts a failure). A stand-in Shopify answers each job's first call slowly (2 s); while
that call is in flight a signed webhook is posted, and its 200 must come within a second."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
import responses

from app.jobs.tasks import TASKS
from app.models import Shop
from app.services import shops
from app.shopify import admin_access
from app.services.program import update_program
from app.shopify.oauth import AccessGrant
from tests.support import SHOP, payload, send_webhook
from tests.support.graphql_orders import orders_page
from tests.support.shopify_stub import schema_problems

pytestmark = pytest.mark.both_backends

SLOW_SECONDS = 2.0
ACK_LIMIT_SECONDS = 1.0
CAMPAIGN = {"key": "hoodies", "name": "Hoodie week", "starts_at": "2025-02-01T00:00:00Z",
            "ends_at": "2025-03-01T00:00:00Z", "multiplier": "3", "collection_ids": [333]}
REPLIES = {
    "ShopInfo": {"shop": {"name": "Maple & Pine Goods", "email": "owner@example.com", "currencyCode": "CAD",
                          "ianaTimezone": "America/Toronto", "currencyFormats": {"moneyFormat": "${{amount}}"}}},
    "ListWebhookSubscriptions": {"webhookSubscriptions": {"nodes": [],
                                                          "pageInfo": {"hasNextPage": False, "endCursor": None}}},
    "SubscribeWebhook": {"webhookSubscriptionCreate": {
        "webhookSubscription": {"id": "gid://shopify/WebhookSubscription/2", "topic": "ORDERS_PAID"},
        "userErrors": []}},
    "OrdersUpdatedSince": orders_page(payload("orders/paid"))["data"],
    "CollectionProducts": {"collection": {"products": {"nodes": [{"legacyResourceId": "8123456789012"}],
                                                       "pageInfo": {"hasNextPage": False, "endCursor": None}}}},
}


class SlowShopify:
    """Answers the Admin API (schema-checked), the first call after SLOW_SECONDS; `in_flight` is
    set meanwhile."""

    def __init__(self, rsps: responses.RequestsMock, t):
        self.in_flight = threading.Event()
        rsps.add_callback(responses.POST, t.endpoints.graphql_url(SHOP), callback=self._answer,
                          content_type="application/json")
        rsps.add_callback(responses.POST, f"https://{SHOP}/admin/oauth/access_token", callback=self._token,
                          content_type="application/json")

    def _wait(self):
        if not self.in_flight.is_set():
            self.in_flight.set()
            time.sleep(SLOW_SECONDS)

    def _answer(self, request):
        body = json.loads(request.body)
        assert not schema_problems(body), schema_problems(body)
        self._wait()
        return 200, {}, json.dumps({"data": REPLIES[body["operationName"]]})

    def _token(self, request):
        self._wait()
        return 200, {}, json.dumps({"access_token": "shpat_new", "scope": "read_orders", "expires_in": 3600,
                                    "refresh_token": "shprt_new", "refresh_token_expires_in": 7776000})


def ack_seconds_while(job, shopify: SlowShopify, client) -> float:
    """Runs `job` in a thread; once its Shopify call is in flight, times one webhook's answer."""
    errors = []
    # A first request pays one-time costs (imports, connections); time the steady state.
    assert send_webhook(client, "customers/update", payload("customers/update")).status_code == 200
    worker = threading.Thread(target=lambda: _run(job, errors))
    worker.start()
    assert shopify.in_flight.wait(10), "the job never called Shopify"
    started = time.monotonic()
    response = send_webhook(client, "customers/update", payload("customers/update"))
    elapsed = time.monotonic() - started
    worker.join(30)
    assert response.status_code == 200 and not errors, errors
    return elapsed


def _run(job, errors):
    try:
        job()
    except Exception as exc:  # noqa: BLE001 - reported by the test thread
        errors.append(exc)


@pytest.fixture
def shopify(t):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield SlowShopify(rsps, t)


def test_ack_is_fast_while_finishing_an_install_waits_for_shopify(client, t, shop, shopify):
    assert ack_seconds_while(lambda: TASKS["finish_install"](t, shop.id), shopify, client) < ACK_LIMIT_SECONDS


def test_ack_is_fast_while_reconcile_waits_for_shopify(client, t, shop, shopify):
    assert ack_seconds_while(lambda: TASKS["reconcile_all_shops"](t), shopify, client) < ACK_LIMIT_SECONDS


def test_ack_is_fast_while_campaign_collections_wait_for_shopify(client, t, shop, shopify):
    with t.db.scope() as session:
        update_program(session, session.get(Shop, shop.id), {"campaigns": [CAMPAIGN]}, staff_user_id="1",
                       now=t.clock(), queue=None)
    job = lambda: TASKS["resolve_campaign_collections"](t, shop.id)  # noqa: E731
    assert ack_seconds_while(job, shopify, client) < ACK_LIMIT_SECONDS


def test_ack_is_fast_while_a_token_refresh_waits_for_shopify(client, t, shopify, backend):
    if backend == "sqlite":
        pytest.skip("SQLite: the refresh still holds the write lock across the call (see README, Security)")
    grant = AccessGrant("shpat_old", scope="read_orders", expires_at=t.clock() + timedelta(minutes=2),
                        refresh_token="shprt_old", refresh_token_expires_at=t.clock() + timedelta(days=90))
    with t.db.scope() as session:
        shop_id = shops.install_shop(session, SHOP, grant, source="oauth", cipher=t.cipher, queue=t.queue,
                                     now=t.clock()).id

    def refresh():
        with t.db.scope(read_only=True) as session:
            assert admin_access.fresh_access_token(t.shopify, session.get(Shop, shop_id)) == "shpat_new"
    assert ack_seconds_while(refresh, shopify, client) < ACK_LIMIT_SECONDS


def test_ack_is_fast_while_an_expiry_sweep_holds_the_shop(client, t, shop, backend, monkeypatch):
    """PostgreSQL: the sweep's shop lock must not block inserts that reference the shop."""
    if backend == "sqlite":
        pytest.skip("SQLite: a sweep is one short write transaction with no Shopify call")
    from app.services import expiry
    in_flight, real = threading.Event(), expiry.current_program

    def slow_current_program(session, shop_row):
        in_flight.set()
        time.sleep(SLOW_SECONDS)  # a sweep over many members takes a while
        return real(session, shop_row)
    monkeypatch.setattr(expiry, "current_program", slow_current_program)
    holder = type("Sweep", (), {"in_flight": in_flight})()
    assert ack_seconds_while(lambda: TASKS["expire_points"](t), holder, client) < ACK_LIMIT_SECONDS
