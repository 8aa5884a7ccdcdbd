"""Expiring offline tokens: refreshed before expiry, rotated refresh token stored, and a
refused refresh marks the shop for re-authentication without losing queued work."""
import json
from datetime import timedelta

import pytest
import responses

from app.models import Shop, WebhookEvent
from app.services import shops
from app.shopify import admin_access
from app.shopify.oauth import AccessGrant
from tests.support import SHOP, payload, send_webhook

TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"


def install_expiring(t, expires_in_minutes: int):
    grant = AccessGrant("shpat_old", scope="read_orders", expires_at=t.clock() + timedelta(minutes=expires_in_minutes),
                        refresh_token="shprt_old", refresh_token_expires_at=t.clock() + timedelta(days=90))
    with t.db.scope() as session:
        shop = shops.install_shop(session, SHOP, grant, source="oauth", cipher=t.cipher, queue=t.queue, now=t.clock())
    from app.jobs import InProcessQueue
    t.queue = InProcessQueue()
    return shop


def token_now(t, shop_id):
    with t.db.scope(read_only=True) as session:
        return admin_access.fresh_access_token(t.shopify, session.get(Shop, shop_id))


def test_token_far_from_expiry_is_used_as_is(t):
    shop = install_expiring(t, 50)
    with responses.RequestsMock():  # no HTTP at all
        assert token_now(t, shop.id) == "shpat_old"


@responses.activate
def test_token_close_to_expiry_is_refreshed_and_the_rotated_pair_stored(t):
    shop = install_expiring(t, 3)
    responses.post(TOKEN_URL, json={"access_token": "shpat_new", "scope": "read_orders", "expires_in": 3600,
                                    "refresh_token": "shprt_new", "refresh_token_expires_in": 7776000})
    assert token_now(t, shop.id) == "shpat_new"
    assert json.loads(responses.calls[0].request.body)["refresh_token"] == "shprt_old"
    with t.db.scope(read_only=True) as session:
        stored = session.get(Shop, shop.id)
        assert t.cipher.decrypt(stored.refresh_token_ciphertext) == "shprt_new"
        assert stored.access_token_expires_at == t.clock() + timedelta(hours=1)
    assert token_now(t, shop.id) == "shpat_new" and len(responses.calls) == 1


@responses.activate
def test_refused_refresh_marks_the_shop_and_keeps_queued_webhooks(t, client):
    shop = install_expiring(t, 1)
    responses.post(TOKEN_URL, status=401, json={"error": "invalid_grant"})
    with pytest.raises(admin_access.ShopNeedsReauth):
        token_now(t, shop.id)
    with t.db.scope(read_only=True) as session:
        stored = session.get(Shop, shop.id)
        assert stored.reauth_required_at == t.clock() and "invalid_grant" in stored.reauth_reason
    assert send_webhook(client, "customers/create", payload("customers/create")).status_code == 200
    t.queue.drain(t)
    with t.db.scope(read_only=True) as session:
        assert [e.status for e in session.query(WebhookEvent)] == ["done"]


@responses.activate
def test_shopify_outage_during_refresh_is_retryable_and_does_not_mark_the_shop(t):
    from app.shopify.oauth import OAuthError
    shop = install_expiring(t, 1)
    responses.post(TOKEN_URL, status=503)
    with pytest.raises(OAuthError):
        token_now(t, shop.id)
    with t.db.scope(read_only=True) as session:
        assert session.get(Shop, shop.id).reauth_required_at is None


def test_custom_app_tokens_never_expire(t, shop):
    with responses.RequestsMock():
        assert token_now(t, shop.id) == "shpat_test_token"


@responses.activate
def test_a_429_from_the_token_endpoint_is_waited_out_as_retry_after_says(t):
    shop = install_expiring(t, 1)
    waits = []
    t.sleep = waits.append
    responses.post(TOKEN_URL, status=429, headers={"Retry-After": "2"})
    responses.post(TOKEN_URL, json={"access_token": "shpat_new", "scope": "read_orders", "expires_in": 3600,
                                    "refresh_token": "shprt_new", "refresh_token_expires_in": 7776000})
    assert token_now(t, shop.id) == "shpat_new"
    assert waits == [2.0]


@responses.activate
def test_a_token_endpoint_that_keeps_answering_429_is_a_temporary_failure_not_a_refusal(t):
    from app.shopify.oauth import OAuthError
    shop = install_expiring(t, 1)
    responses.post(TOKEN_URL, status=429)
    with pytest.raises(OAuthError) as raised:
        token_now(t, shop.id)
    assert not raised.value.permanent and len(responses.calls) == 4
    with t.db.scope(read_only=True) as session:
        stored = session.get(Shop, shop.id)
        assert stored.reauth_required_at is None and t.cipher.decrypt(stored.refresh_token_ciphertext) == "shprt_old"


@responses.activate
def test_the_outage_is_dated_from_the_first_refusal(t, clock):
    shop = install_expiring(t, 1)
    responses.post(TOKEN_URL, status=401, json={"error": "invalid_grant"})
    first = clock.now
    with pytest.raises(admin_access.ShopNeedsReauth):
        token_now(t, shop.id)
    clock.advance(hours=2)
    with pytest.raises(admin_access.ShopNeedsReauth):
        token_now(t, shop.id)
    with t.db.scope(read_only=True) as session:
        assert session.get(Shop, shop.id).reauth_required_at == first


@responses.activate
def test_a_token_refresh_commits_its_own_transaction_not_the_callers_unfinished_work(t):
    shop = install_expiring(t, 3)
    responses.post(TOKEN_URL, json={"access_token": "shpat_new", "scope": "read_orders", "expires_in": 3600,
                                    "refresh_token": "shprt_new", "refresh_token_expires_in": 7776000})
    with t.db.scope(read_only=True) as session:
        caller_shop = session.get(Shop, shop.id)
        caller_shop.name = "Half-way through the caller's use case"
        assert admin_access.fresh_access_token(t.shopify, caller_shop) == "shpat_new"
        session.rollback()  # the caller changes its mind: its change must not have been committed
    with t.db.scope(read_only=True) as session:
        stored = session.get(Shop, shop.id)
        assert stored.name != "Half-way through the caller's use case"
        assert t.cipher.decrypt(stored.refresh_token_ciphertext) == "shprt_new"


def test_asking_shopify_while_holding_uncommitted_writes_is_refused_before_any_request(t):
    from app.shopify.documents import SHOP_INFO
    shop = install_expiring(t, 50)
    with responses.RequestsMock(), t.db.scope(read_only=True) as session:  # no HTTP at all
        caller_shop = session.get(Shop, shop.id)
        caller_shop.name = "Not committed yet"
        with pytest.raises(admin_access.UncommittedWrites):
            admin_access.call_admin(t.shopify, session, caller_shop, SHOP_INFO)
        session.flush()  # flushed is still uncommitted
        with pytest.raises(admin_access.UncommittedWrites):
            admin_access.call_admin(t.shopify, session, caller_shop, SHOP_INFO)
