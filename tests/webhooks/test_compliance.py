"""Mandatory privacy webhooks end to end: data request, customer redact, shop redact."""
import pytest
from sqlalchemy import func, select

from app.models import Member, PrivacyRequest, Shop, WebhookEvent
from tests.support import CUSTOMER_ID, payload, send_webhook

pytestmark = pytest.mark.both_backends


def deliver(client, t, topic, body=None):
    assert send_webhook(client, topic, body or payload(topic)).status_code == 200
    t.queue.drain(t)


def test_data_request_keeps_an_export_of_the_member_for_the_owner(client, t, shop):
    deliver(client, t, "customers/update")
    deliver(client, t, "customers/data_request")
    with t.db.scope(read_only=True) as session:
        request = session.scalar(select(PrivacyRequest).where(PrivacyRequest.kind == "data_request"))
    assert request.shop_id == shop.id and request.customer_id == CUSTOMER_ID and request.request_ref == "4401"
    assert request.export["email"] == "jordan.lee@example.com"
    assert request.export["customer_id"] == CUSTOMER_ID and "ledger" in request.export


def test_customer_redact_erases_personal_data_and_raw_bodies(client, t, shop):
    deliver(client, t, "customers/update")
    deliver(client, t, "customers/redact")
    with t.db.scope(read_only=True) as session:
        member = session.scalar(select(Member).where(Member.shop_id == shop.id))
        assert (member.email, member.first_name, member.last_name, member.phone) == (None, None, None, None)
        assert member.customer_id != CUSTOMER_ID and member.redacted_at is not None
        bodies = [e.body for e in session.scalars(select(WebhookEvent).where(WebhookEvent.topic == "customers/update"))]
        assert all(b"jordan.lee@example.com" not in body for body in bodies)


def test_shop_redact_erases_everything_of_an_uninstalled_shop_but_not_others(client, t, shop, other_shop):
    from tests.support import OTHER_SHOP
    deliver(client, t, "customers/update")
    send_webhook(client, "customers/update", payload("customers/update"), shop=OTHER_SHOP)
    deliver(client, t, "app/uninstalled")
    deliver(client, t, "shop/redact")
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Member).where(Member.shop_id == shop.id)) == 0
        assert session.scalar(select(func.count()).select_from(Member).where(Member.shop_id == other_shop.id)) == 1
        tombstone = session.get(Shop, shop.id)
        assert tombstone.name is None and tombstone.access_token_ciphertext is None
        remaining = session.scalars(select(WebhookEvent.topic).where(WebhookEvent.shop_id == shop.id)).all()
        assert remaining == ["shop/redact"]


def test_shop_redact_is_ignored_for_a_shop_that_reinstalled(client, t, shop):
    deliver(client, t, "customers/update")
    deliver(client, t, "shop/redact")
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Member).where(Member.shop_id == shop.id)) == 1


def test_shop_redact_leaves_no_row_of_the_shop_in_any_table_but_its_tombstone(client, t, shop):
    """Every table with a shop_id, today's and tomorrow's: a new table forgotten by shop/redact fails here."""
    from app.models import Base
    deliver(client, t, "customers/update")
    deliver(client, t, "orders/paid")
    deliver(client, t, "app/uninstalled")
    deliver(client, t, "shop/redact")
    kept = {"webhook_events": 1, "privacy_requests": 1}  # the shop/redact delivery and its record
    with t.db.scope(read_only=True) as session:
        left = {table.name: session.scalar(select(func.count()).select_from(table).where(table.c.shop_id == shop.id))
                for table in Base.metadata.sorted_tables if "shop_id" in table.c}
    assert {name: count for name, count in left.items() if count} == kept
