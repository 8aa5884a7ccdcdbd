"""Issue 18: after a paid order, the member is asked for feedback by email (once per order, a day
later, only while the feedback module and the message are on, with marketing consent), with a
link that opens the widget's feedback form on the storefront."""
from __future__ import annotations

import pytest

from app.models import Shop
from app.services.member_emails import queue_scheduled_member_emails
from tests.mail.helpers import make_member, outbox, send
from tests.support import CUSTOMER_ID, payload, signed_proxy_query
from tests.support.ledger import deliver, set_program


def paid_order(client, t, order_id: int, name: str = "#1001"):
    body = payload("orders/paid")
    body["id"], body["name"] = order_id, name
    body["customer"] = dict(body["customer"], id=CUSTOMER_ID)
    deliver(client, t, "orders/paid", body)


def hourly_pass(t, shop, *, after_hours: int = 0) -> int:
    t.clock.advance(hours=after_hours)
    with t.db.scope() as session:
        return queue_scheduled_member_emails(session, session.get(Shop, shop.id), now=t.clock())


@pytest.mark.both_backends
def test_a_paid_order_brings_one_feedback_request_a_day_later_linking_to_the_widget_form(client, t, shop,
                                                                                         smtp_server):
    set_program(t, shop, {"feedback": {"enabled": True, "points": 30}})
    make_member(t, shop)
    paid_order(client, t, 501, "#1501")
    assert hourly_pass(t, shop, after_hours=1) == 0  # too soon: the parcel is not there yet
    assert hourly_pass(t, shop, after_hours=24) == 1
    assert hourly_pass(t, shop, after_hours=1) == 0  # once per order
    send(t)
    [message] = smtp_server.messages
    assert message["Subject"] == "How was your order #1501?"
    text = message.get_body(("plain",)).get_content()
    assert "30" in text and f"Give feedback: https://{shop.domain}/?tessera=feedback" in text
    assert f'href="https://{shop.domain}/?tessera=feedback"' in message.get_body(("html",)).get_content()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.both_backends
def test_an_answered_order_is_not_asked_about(client, t, shop, smtp_server):
    set_program(t, shop, {"feedback": {"enabled": True}})
    make_member(t, shop)
    paid_order(client, t, 502)
    answered = client.post(f"/proxy/feedback?{signed_proxy_query(customer_id=CUSTOMER_ID)}",
                           json={"order_id": 502, "nps": 9, "csat": 5})
    assert answered.status_code == 201
    assert hourly_pass(t, shop, after_hours=25) == 0


def test_no_request_while_the_feedback_module_or_the_message_is_off(client, t, shop):
    make_member(t, shop)
    paid_order(client, t, 503)
    assert hourly_pass(t, shop, after_hours=25) == 0  # the feedback module is off by default
    set_program(t, shop, {"feedback": {"enabled": True},
                          "mail": {"messages": {"feedback_request": {"enabled": False}}}})
    assert hourly_pass(t, shop) == 0
    set_program(t, shop, {"feedback": {"enabled": True}, "mail": {"messages": {"feedback_request": {"enabled": True}}}})
    assert hourly_pass(t, shop) == 1


def test_old_orders_such_as_an_import_ask_no_one(client, t, shop):
    set_program(t, shop, {"feedback": {"enabled": True}})
    make_member(t, shop)
    paid_order(client, t, 504)
    assert hourly_pass(t, shop, after_hours=24 * 4) == 0


def test_a_member_without_marketing_consent_gets_no_feedback_request(client, t, shop, smtp_server):
    set_program(t, shop, {"feedback": {"enabled": True}})
    paid_order(client, t, 505)
    make_member(t, shop, accepts_marketing=False)  # withdrawn after the order
    hourly_pass(t, shop, after_hours=25)
    send(t)
    [row] = outbox(t, shop, "feedback_request")
    assert row.status == "suppressed" and "marketing" in row.error and smtp_server.messages == []


def test_the_feedback_request_speaks_the_members_language(client, t, shop, smtp_server):
    set_program(t, shop, {"feedback": {"enabled": True}})
    paid_order(client, t, 506, "#1506")
    make_member(t, shop, locale="de")
    hourly_pass(t, shop, after_hours=25)
    send(t)
    [message] = smtp_server.messages
    assert message["Subject"] == "Wie war Ihre Bestellung #1506?"
    assert "Feedback geben:" in message.get_body(("plain",)).get_content()
