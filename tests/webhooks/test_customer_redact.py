"""customers/redact leaves no personal data of the customer in any row of any table, while every
points balance stays exactly as it was."""
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.jobs import InProcessQueue
from app.models import LedgerEntry, PrivacyRequest, Shop, WebhookEvent
from app.services.inbox import retry_failed_event
from app.services.members import set_birthday
from tests.support import CUSTOMER_ID, ORDER_ID, payload_bytes, send_webhook
from tests.support.database_dump import rows_mentioning
from tests.support.ledger import adjust, deliver, entries, member_of, set_program

pytestmark = pytest.mark.both_backends

ZELDA_ID = 7412583029999
# Everything that identifies Zelda, as it appears in Shopify's payloads.
ZELDA = {"jordan.lee@example.com": "zelda.quinn@example.org", "+14165550142": "+14165550199",
         "+1 416-555-0142": "+1 416-555-0199", "Jordan": "Zelda", '"Lee"': '"Quinn"', "Jordan Lee": "Zelda Quinn",
         "88 Harbour Street": "17 Lantern Row", "203.0.113.24": "198.51.100.77", str(CUSTOMER_ID): str(ZELDA_ID)}
ZELDA_PII = ["zelda.quinn@example.org", "+14165550199", "416-555-0199", "Zelda", "Quinn", "17 Lantern Row",
             "198.51.100.77", "1990-07-21"]


def about_zelda(topic: str, **changes) -> bytes:
    text = payload_bytes(topic).decode()
    for jordan, zelda in ZELDA.items():
        text = text.replace(jordan, zelda)
    body = json.loads(text)
    body.update(changes)
    return json.dumps(body).encode()


def zelda_order(order_id: int, name: str, referral_code: str | None = None) -> bytes:
    extra = {"note_attributes": [{"name": "tessera_ref", "value": referral_code}]} if referral_code else {}
    return about_zelda("orders/paid", id=order_id, name=name, order_number=int(name[1:]), **extra)


def ledger_sums(t, shop) -> dict[int, int]:
    with t.db.scope(read_only=True) as session:
        return dict(session.execute(select(LedgerEntry.member_id, func.sum(LedgerEntry.points))
                                    .where(LedgerEntry.shop_id == shop.id).group_by(LedgerEntry.member_id)).all())


@pytest.fixture
def zelda_everywhere(client, t, shop):
    """Zelda joined through Jordan's referral link and ordered; the owner answered a data request;
    staff named her in a reason; one of her deliveries waits, another failed."""
    set_program(t, shop, {"referrals": {"enabled": True, "referrer_points": 500, "min_order_subtotal": "10"}})
    deliver(client, t, "orders/paid", payload_bytes("orders/paid"))  # Jordan
    code = member_of(t, shop).referral_code
    deliver(client, t, "customers/create", about_zelda("customers/create"))
    deliver(client, t, "orders/paid", zelda_order(ORDER_ID + 1, "#1043", code))
    with t.db.scope() as session:
        set_birthday(session, session.get(Shop, shop.id), member_of(t, shop, ZELDA_ID), date(1990, 7, 21),
                     now=t.clock())
        session.commit()
    adjust(t, shop, 25, CUSTOMER_ID, reason="Thanks for bringing Zelda Quinn (zelda.quinn@example.org)")
    deliver(client, t, "customers/data_request", about_zelda("customers/data_request"))
    assert send_webhook(client, "orders/paid", zelda_order(ORDER_ID + 2, "#1044")).status_code == 200  # waits
    assert send_webhook(client, "orders/paid", zelda_order(ORDER_ID + 3, "#1045")).status_code == 200
    t.queue = InProcessQueue()  # their wake-up is not run yet: the rows stay in the inbox
    with t.db.scope() as session:
        waiting, failed = session.scalars(select(WebhookEvent).order_by(WebhookEvent.id.desc()).limit(2)).all()[::-1]
        # #1044 failed once and waits for its retry; #1045 gave up
        waiting.attempts, waiting.next_attempt_at = 1, t.clock() + timedelta(hours=1)
        failed.status, failed.last_error = "failed", "gave up after 8 attempts"
        session.commit()
    return code


def test_referral_reasons_never_name_the_referee(client, t, shop, zelda_everywhere):
    reward = [e for e in entries(t, shop) if e.cause_type == "referral"]
    assert len(reward) == 1 and reward[0].points == 500
    assert "Zelda" not in reward[0].reason and "#1043" not in reward[0].reason


def test_customer_redact_leaves_none_of_the_customers_data_in_any_table(client, t, shop, zelda_everywhere):
    assert rows_mentioning(t, ZELDA_PII)  # the scenario really spread her data around
    sums = ledger_sums(t, shop)
    deliver(client, t, "customers/redact", about_zelda("customers/redact"))
    assert rows_mentioning(t, ZELDA_PII) == []
    assert ledger_sums(t, shop) == sums


def test_redact_erases_the_export_kept_for_an_earlier_data_request(client, t, shop, zelda_everywhere):
    deliver(client, t, "customers/redact", about_zelda("customers/redact"))
    with t.db.scope(read_only=True) as session:
        request = session.scalar(select(PrivacyRequest).where(PrivacyRequest.kind == "data_request"))
    assert request.request_ref == "4401" and request.customer_id is None
    assert "erased" in request.export["note"] and "email" not in request.export


def test_a_waiting_delivery_about_the_customer_is_never_applied_after_the_redact(client, t, shop, zelda_everywhere):
    deliver(client, t, "customers/redact", about_zelda("customers/redact"))
    with t.db.scope() as session:
        waiting = session.scalar(select(WebhookEvent).where(WebhookEvent.topic == "orders/paid",
                                                            WebhookEvent.status != "done"))
        assert (waiting.status, waiting.body) == ("failed", b"") and waiting.body_erased_at is not None
        retry_failed_event(session, session.get(Shop, shop.id), waiting.id, t.clock())  # the owner presses retry
    t.queue.enqueue("sweep_inbox")
    t.queue.drain(t)
    with t.db.scope(read_only=True) as session:
        orders_applied = session.scalars(select(LedgerEntry.order_id).where(LedgerEntry.order_id.is_not(None))).all()
        assert sorted(set(orders_applied)) == [ORDER_ID, ORDER_ID + 1]
        assert session.get(WebhookEvent, waiting.id).status == "failed"


def test_redact_leaves_other_customers_deliveries_and_data_alone(client, t, shop, zelda_everywhere):
    deliver(client, t, "customers/redact", about_zelda("customers/redact"))
    assert rows_mentioning(t, ["jordan.lee@example.com", "88 Harbour Street"])
    assert member_of(t, shop).email == "jordan.lee@example.com"


def test_the_owner_cannot_retry_a_delivery_whose_body_the_redact_erased(client, t, shop, zelda_everywhere):
    from tests.admin.helpers import post_form
    deliver(client, t, "customers/redact", about_zelda("customers/redact"))
    with t.db.scope(read_only=True) as session:
        erased = session.scalar(select(WebhookEvent.id).where(WebhookEvent.status == "failed",
                                                              WebhookEvent.body_erased_at.is_not(None)).limit(1))
    response = post_form(client, f"/activity/{erased}/retry", {})
    assert response.status_code == 409 and "erased" in response.json["error"]["message"]


def test_redact_reaches_a_running_imports_kept_lines_and_a_guest_referral_digest(client, t, shop, zelda_everywhere):
    from app.loyalty.referrals import normalise_email
    from app.models import BulkExportLine, GuestReferral, ImportJob
    from app.services.referrals import guest_email_digest
    order_line = {"id": "gid://shopify/Order/99", "legacyResourceId": "99", "name": "#1099",
                  "customer": {"legacyResourceId": str(ZELDA_ID), "firstName": "Zelda", "lastName": "Quinn",
                               "defaultEmailAddress": {"emailAddress": "zelda.quinn@example.org"}}}
    with t.db.scope() as session:
        job = ImportJob(shop_id=shop.id, kind="orders", status="running")
        session.add(job)
        session.flush()
        session.add(BulkExportLine(shop_id=shop.id, job_id=job.id, parent_gid=None, body=json.dumps(order_line)))
        session.add(GuestReferral(shop_id=shop.id, referrer_member_id=member_of(t, shop).id,
                                  email_sha256=guest_email_digest(normalise_email("Zelda.Quinn@example.org"))))
        session.commit()
    deliver(client, t, "customers/redact", about_zelda("customers/redact"))
    assert rows_mentioning(t, ZELDA_PII) == []
    with t.db.scope(read_only=True) as session:
        kept = json.loads(session.scalar(select(BulkExportLine.body)))
        assert session.scalar(select(func.count()).select_from(GuestReferral)) == 0
    assert kept["customer"] is None and kept["name"] == "#1099"  # the order stays, as a guest's
