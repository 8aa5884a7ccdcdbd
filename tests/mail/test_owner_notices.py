"""Notices to the owner at the shop's email, through the same outbox, transport and log."""
from __future__ import annotations


import pytest

from app.models import ImportJob, PrivacyRequest, Shop
from app.services.owner_notices import raise_owner_notices
from tests.mail.helpers import outbox, send
from tests.support import utc
from tests.support.ledger import set_program

pytestmark = pytest.mark.both_backends


@pytest.fixture
def owner(t, shop):
    with t.db.scope() as session:
        session.get(Shop, shop.id).email = "owner@maple-pine.example"
        session.commit()
    return shop


def look(t, shop) -> int:
    with t.db.scope() as session:
        return raise_owner_notices(session, session.get(Shop, shop.id), now=t.clock())


def test_a_finished_import_and_a_failed_one_are_each_told_once(t, owner, smtp_server):
    with t.db.scope() as session:
        session.add_all([ImportJob(shop_id=owner.id, kind="customers", status="done", processed=42,
                                   finished_at=t.clock(), updated_at=t.clock()),
                         ImportJob(shop_id=owner.id, kind="orders", status="failed", processed=3,
                                   last_error="Shopify refused the bulk query", updated_at=t.clock())])
        session.commit()
    assert look(t, owner) == 2 and look(t, owner) == 0
    send(t, after_minutes=0)
    subjects = sorted(m["Subject"] for m in smtp_server.messages)
    assert subjects == ["Your customers import finished", "Your orders import failed"]
    assert {r.rcpt_tos[0] for r in smtp_server.received} == {"owner@maple-pine.example"}
    failed = next(m for m in smtp_server.messages if "failed" in m["Subject"])
    assert "Shopify refused the bulk query" in failed.get_body(("plain",)).get_content()
    assert "List-Unsubscribe" not in failed


def test_lost_access_and_a_data_request_ask_the_owner_to_act(t, owner, smtp_server):
    with t.db.scope() as session:
        shop = session.get(Shop, owner.id)
        shop.reauth_required_at, shop.reauth_reason = t.clock(), "The access token was revoked."
        session.add(PrivacyRequest(shop_id=owner.id, kind="data_request", customer_id=7412583020571,
                                   created_at=t.clock()))
        session.commit()
    look(t, owner)
    send(t, after_minutes=0)
    subjects = sorted(m["Subject"] for m in smtp_server.messages)
    assert subjects == ["Action needed: Tessera lost access to your store",
                        "Action needed: a customer asked for their data"]


def test_the_weekly_summary_goes_on_mondays_with_the_weeks_figures(t, owner, clock, smtp_server):
    clock.set(utc(2025, 2, 17, 8, 0))  # a Monday
    look(t, owner)
    look(t, owner)
    send(t, after_minutes=0)
    [summary] = smtp_server.messages
    text = summary.get_body(("plain",)).get_content()
    assert summary["Subject"] == "Your loyalty program this week"
    for label in ("Members:", "Points issued:", "Points redeemed:", "Revenue from members:", "Points liability:"):
        assert label in text


def test_a_notice_turned_off_is_not_sent(t, owner, smtp_server):
    set_program(t, owner, {"mail": {"owner_notices": {"import_finished": False}}})
    with t.db.scope() as session:
        session.add(ImportJob(shop_id=owner.id, kind="customers", status="done", processed=1,
                              finished_at=t.clock(), updated_at=t.clock()))
        session.commit()
    assert look(t, owner) == 0
    t.clock.advance(days=1)
    send(t, after_minutes=0)
    assert smtp_server.messages == [] and outbox(t, owner) == []


def test_without_a_shop_email_the_notice_is_logged_as_not_sent(t, shop, smtp_server):
    with t.db.scope() as session:
        session.add(ImportJob(shop_id=shop.id, kind="customers", status="done", processed=1,
                              finished_at=t.clock(), updated_at=t.clock()))
        session.commit()
    look(t, shop)
    send(t, after_minutes=0)
    [row] = outbox(t, shop)
    assert row.status == "suppressed" and "no email address" in row.error
