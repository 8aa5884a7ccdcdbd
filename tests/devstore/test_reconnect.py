"""A shop flagged "needs re-authentication" recovers when the owner next opens the app: the
embedded load exchanges the session token again, clears the flag and retries what waited."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

from sqlalchemy import select

from app.devstore import DEMO_SHOP
from app.models import WebhookEvent
from app.services import inbox, shops
from app.shopify import admin_access
from app.shopify.documents import SHOP_INFO
from tests.support import API_KEY, payload, webhook_headers

OPEN_APP = f"/devstore/shopify/{DEMO_SHOP}/admin/apps/{API_KEY}"


def stored_shop(t):
    with t.db.scope(read_only=True) as session:
        return shops.find_shop(session, DEMO_SHOP)


def lose_access(demo, clock):
    """Shopify revokes the refresh token (e.g. rotated by a restored backup), then the access
    token runs out: the next Admin call marks the shop."""
    with demo.stand_in.state.shop(DEMO_SHOP) as state:
        state["refresh_tokens"] = {}
    clock.advance(minutes=58)


def needs_admin_api(ctx):
    admin_access.call_admin(ctx.admin, ctx.session, ctx.shop, SHOP_INFO)


def delivery_failing_for_reauth(demo, t) -> int:
    body = json.dumps(payload("customers/create")).encode()
    delivery = inbox.record_delivery(t.db, stored_shop(t).id, topic="customers/create",
                                     headers=webhook_headers("customers/create", body, shop=DEMO_SHOP), body=body,
                                     known_topics=["customers/create"], now=t.clock())
    processor = inbox.Processor(db=t.db, clock=t.clock, worker_id="test", admin=t.shopify,
                                handlers={"customers/create": needs_admin_api})
    result = inbox.process_webhook_event(processor, delivery.event_id)
    assert result == "retry"
    return delivery.event_id


def open_app(client):
    landing = urlsplit(client.get(OPEN_APP).headers["Location"])
    return client.get(f"{landing.path}?{landing.query}")


def event_status(t, event_id):
    with t.db.scope(read_only=True) as session:
        return session.get(WebhookEvent, event_id).status


def test_opening_the_app_reconnects_and_retries_the_deliveries_that_waited(client, demo, installed, t, clock):
    lose_access(demo, clock)
    event_id = delivery_failing_for_reauth(demo, t)
    assert stored_shop(t).reauth_required_at is not None
    page = open_app(client)
    assert page.status_code == 200 and b"lost access" not in page.data
    shop = stored_shop(t)
    assert shop.reauth_required_at is None and shop.reauth_reason is None and shop.is_installed
    demo.run_jobs()
    assert event_status(t, event_id) == "done"
    with t.db.scope() as session:
        assert admin_access.call_admin(t.shopify, session, shops.find_shop(session, DEMO_SHOP), SHOP_INFO)["shop"]["name"]


def test_a_rate_limited_token_endpoint_is_waited_for_not_taken_as_a_refusal(client, demo, installed, t, clock):
    lose_access(demo, clock)
    delivery_failing_for_reauth(demo, t)
    waits = []
    t.sleep = waits.append
    demo.limit_token_requests(2)
    assert open_app(client).status_code == 200
    assert waits == [1.0, 1.0] and stored_shop(t).reauth_required_at is None


def test_when_shopify_keeps_refusing_for_now_the_page_opens_with_true_advice(client, demo, installed, t, clock):
    lose_access(demo, clock)
    delivery_failing_for_reauth(demo, t)
    demo.limit_token_requests(10)
    page = open_app(client)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Tessera lost access to your store" in text
    assert "expired. To reconnect, open Tessera again from Apps in the Shopify admin." in text
    assert stored_shop(t).reauth_required_at is not None
    demo.limit_token_requests(0)
    open_app(client)
    assert stored_shop(t).reauth_required_at is None


def test_an_import_stopped_by_the_lost_access_resumes_after_reconnecting(client, demo, installed, t, clock):
    from app.models import ImportJob
    from app.services.import_jobs import run_import, start_import
    demo.sign_up("bo@example.com", "Bo", "Lind", only=())  # in Shopify, not yet known to Tessera
    lose_access(demo, clock)
    with t.db.scope() as session:
        job_id = start_import(session, shops.find_shop(session, DEMO_SHOP), "customers", now=t.clock()).id
    run_import(t.db, t.shopify, stored_shop(t).id, job_id, clock=t.clock)
    with t.db.scope(read_only=True) as session:
        assert session.get(ImportJob, job_id).status == "failed"
    open_app(client)
    demo.run_jobs()
    with t.db.scope(read_only=True) as session:
        job = session.get(ImportJob, job_id)
        assert (job.status, job.processed) == ("done", 1)
