"""Member emails end to end: events -> outbox rows -> the mail job -> a real SMTP server on
127.0.0.1, with the consent, unsubscribe, daily cap and retry rules."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from app.loyalty.emails import MAX_ATTEMPTS
from app.models import MemberNotification, Redemption, Reward, Shop
from app.services.member_emails import queue_scheduled_member_emails
from tests.mail.helpers import dispatch, event, make_member, outbox, reload, send
from tests.support.ledger import adjust, set_program

pytestmark = pytest.mark.both_backends


@pytest.fixture
def five_off(t, shop):
    with t.db.scope(read_only=True) as session:
        reward = session.query(Reward).filter_by(shop_id=shop.id).one()
        return reward.id, reward.points_cost


def issued_code(t, shop, member, reward_id, code="MPG7Q2KX9A") -> int:
    with t.db.scope() as session:
        redemption = Redemption(shop_id=shop.id, member_id=member.id, reward_id=reward_id, idempotency_key="k1",
                                status="issued", points_spent=500, kind="amount_off", code=code,
                                expires_at=t.clock() + timedelta(days=30), issued_at=t.clock(),
                                created_at=t.clock(), updated_at=t.clock())
        session.add(redemption)
        session.commit()
        return redemption.id


def test_reward_ready_is_queued_once_per_crossing_and_again_after_the_balance_drops_below(t, shop, five_off):
    reward_id, cost = five_off
    member = make_member(t, shop)
    dispatch(t, event(shop, member, "points.earned", cost + 100, points=600))
    dispatch(t, event(shop, member, "points.earned", cost + 200, points=100))
    assert [r.data["reward_id"] for r in outbox(t, shop, "reward_ready")] == [reward_id]
    dispatch(t, event(shop, member, "points.spent", cost - 400, points=-500))
    dispatch(t, event(shop, member, "points.earned", cost + 50, points=450))
    assert len(outbox(t, shop, "reward_ready")) == 2


def test_the_same_event_batch_retried_queues_nothing_twice(t, shop, five_off):
    member = make_member(t, shop)
    same = event(shop, member, "reward.redeemed", 0, redemption_id=issued_code(t, shop, member, five_off[0]))
    dispatch(t, same)
    dispatch(t, same)
    assert len(outbox(t, shop, "code_issued")) == 1


def test_code_issued_reaches_a_member_without_marketing_consent_and_nothing_else_does(t, shop, five_off,
                                                                                      smtp_server):
    member = make_member(t, shop, accepts_marketing=False)
    dispatch(t, event(shop, member, "reward.redeemed", 700, redemption_id=issued_code(t, shop, member, five_off[0])),
             event(shop, member, "tier.changed", 700, tier_from=None, tier_to="silver"))
    send(t)
    [message] = smtp_server.messages
    assert "MPG7Q2KX9A" in message.get_body(("plain",)).get_content()
    assert message["To"] == "ana@example.com"
    suppressed = {r.kind: r.error for r in outbox(t, shop) if r.status == "suppressed"}
    assert set(suppressed) == {"tier_reached", "reward_ready"}
    assert "marketing" in suppressed["tier_reached"]


def test_a_member_email_is_html_with_a_plain_text_part_in_the_shops_colours(t, shop, five_off, smtp_server):
    set_program(t, shop, {"widget": {"program_name": "Pine Points", "accent_color": "#aa3300"},
                          "mail": {"sender_name": "Maple & Pine", "reply_to": "help@maple-pine.example"}})
    member = make_member(t, shop)
    dispatch(t, event(shop, member, "tier.changed", 10, tier_from="bronze", tier_to="silver"))
    send(t)
    [message] = smtp_server.messages
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(("html",)).get_content()
    assert "#aa3300" in html and "Pine Points" in html and "Welcome to Silver" in message["Subject"]
    assert message["From"].addresses[0].display_name == "Maple & Pine"
    assert message["From"].addresses[0].addr_spec == "rewards@maple-pine.example"
    assert message["Reply-To"] == "help@maple-pine.example"


def test_every_member_email_carries_a_one_click_unsubscribe_that_works_without_login(t, shop, client, five_off,
                                                                                     smtp_server):
    member = make_member(t, shop)
    dispatch(t, event(shop, member, "tier.changed", 10, tier_from=None, tier_to="gold"))
    send(t)
    [message] = smtp_server.messages
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message["List-Unsubscribe"].strip("<>")
    assert url.startswith("https://tessera.example.com/mail/unsubscribe/")
    dispatch(t, event(shop, member, "referral.completed", 20, referral_id=9, points=500))

    response = client.post(urlsplit(url).path, data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert reload(t, member).email_unsubscribed_at == t.clock()
    [referral] = outbox(t, shop, "referral_completed")
    assert referral.status == "suppressed" and "unsubscribed" in referral.error
    dispatch(t, event(shop, member, "reward.redeemed", 0, redemption_id=issued_code(t, shop, member, five_off[0])))
    send(t)
    assert len(smtp_server.messages) == 1


def test_opening_the_unsubscribe_link_asks_first_in_the_members_language(t, shop, client, smtp_server):
    member = make_member(t, shop, locale="de-DE")
    dispatch(t, event(shop, member, "tier.changed", 10, tier_from=None, tier_to="gold"))
    send(t)
    path = urlsplit(smtp_server.messages[0]["List-Unsubscribe"].strip("<>")).path

    page = client.get(path)

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<form method="post">' in html and "Abbestellen" in html
    assert reload(t, member).email_unsubscribed_at is None


def test_a_forged_unsubscribe_link_unsubscribes_no_one(t, shop, client):
    member = make_member(t, shop)
    assert client.post("/mail/unsubscribe/WzEsIDJd.forged").status_code == 404
    assert client.get("/mail/unsubscribe/not-a-token").status_code == 404
    assert reload(t, member).email_unsubscribed_at is None


def test_a_burst_of_events_becomes_one_email_the_most_important(t, shop, five_off, smtp_server):
    set_program(t, shop, {"mail": {"messages": {"points_earned": {"enabled": True}}}})
    member = make_member(t, shop)
    dispatch(t, event(shop, member, "points.earned", 600, points=600),
             event(shop, member, "tier.changed", 600, tier_from="bronze", tier_to="silver"))
    send(t)
    assert len(smtp_server.messages) == 1
    sent = {r.kind: r.status for r in outbox(t, shop)}
    assert sent == {"points_earned": "suppressed", "tier_reached": "suppressed", "reward_ready": "sent"}
    dispatch(t, event(shop, member, "reward.redeemed", 100, redemption_id=issued_code(t, shop, member, five_off[0])))
    send(t)
    assert len(smtp_server.messages) == 2, "a code the member asked for is never held back by the cap"


def test_points_earned_the_same_day_gather_into_one_message(t, shop, smtp_server):
    set_program(t, shop, {"mail": {"messages": {"points_earned": {"enabled": True}}}})
    member = make_member(t, shop)
    for points in (40, 25, 10):
        dispatch(t, event(shop, member, "points.earned", 75, points=points))
    [row] = outbox(t, shop, "points_earned")
    assert row.data["points"] == 75
    send(t)
    assert "75" in smtp_server.messages[0]["Subject"]


def test_points_earned_is_off_by_default(t, shop):
    member = make_member(t, shop)
    dispatch(t, event(shop, member, "points.earned", 30, points=30))
    assert outbox(t, shop, "points_earned") == []


def test_a_temporary_refusal_is_retried_with_exponential_backoff(t, shop, smtp_server):
    member = make_member(t, shop)
    smtp_server.refusals = ["451 4.3.0 Try again later"] * 3
    dispatch(t, event(shop, member, "tier.changed", 10, tier_from=None, tier_to="gold"))
    waits = []
    for _ in range(3):
        send(t, after_minutes=0 if waits else 6)
        [row] = outbox(t, shop)
        waits.append(row.next_attempt_at - t.clock())
        assert send(t, after_minutes=0) == 0, "nothing goes before its retry is due"
        t.clock.advance(seconds=waits[-1].total_seconds())
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    send(t, after_minutes=0)
    [row] = outbox(t, shop)
    assert (row.status, row.attempts, len(smtp_server.messages)) == ("sent", 4, 1)
    assert row.message_id == smtp_server.messages[0]["Message-ID"]


def test_retries_stop_after_the_last_attempt(t, shop, smtp_server):
    member = make_member(t, shop)
    smtp_server.refusals = ["451 4.3.0 Try again later"] * MAX_ATTEMPTS
    dispatch(t, event(shop, member, "tier.changed", 10, tier_from=None, tier_to="gold"))
    for _ in range(MAX_ATTEMPTS):
        send(t, after_minutes=6 * 60)
    [row] = outbox(t, shop)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS) and "451" in row.error


def test_a_permanent_refusal_fails_at_once(t, shop, smtp_server):
    member = make_member(t, shop)
    smtp_server.refusals = ["550 5.1.1 No such mailbox"]
    dispatch(t, event(shop, member, "tier.changed", 10, tier_from=None, tier_to="gold"))
    send(t)
    [row] = outbox(t, shop)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 1, None) and "550" in row.error


def test_the_email_speaks_the_customers_language(t, shop, smtp_server):
    member = make_member(t, shop, locale="it-CH")
    dispatch(t, event(shop, member, "tier.changed", 10, tier_from=None, tier_to="gold"))
    send(t)
    [message] = smtp_server.messages
    assert message["Subject"] == "Benvenuto nel livello Gold" and message["Content-Language"] == "it"
    assert "Ciao Ana" in message.get_body(("plain",)).get_content()


def test_expiry_reminders_become_points_expiring_emails(t, shop, smtp_server):
    member = make_member(t, shop, locale="fr")
    with t.db.scope() as session:
        session.add(MemberNotification(shop_id=shop.id, member_id=member.id, notification_key="expiring:x",
                                       kind="points_expiring", points=120, due_at=t.clock() + timedelta(days=30),
                                       created_at=t.clock()))
        session.commit()
        queue_scheduled_member_emails(session, session.get(Shop, shop.id), now=t.clock())
        queue_scheduled_member_emails(session, session.get(Shop, shop.id), now=t.clock())
    send(t)
    [message] = smtp_server.messages
    assert message["Subject"] == "120 points expirent le 16/03/2025"


def test_a_birthday_email_goes_once_on_the_day(t, shop, smtp_server):
    member = make_member(t, shop)
    with t.db.scope() as session:
        session.get(type(member), member.id).birthday = t.clock().date().replace(year=1990)
        session.commit()
    set_program(t, shop, {"mail": {"messages": {"birthday": {"enabled": True}}}})
    for _ in range(2):
        with t.db.scope() as session:
            queue_scheduled_member_emails(session, session.get(Shop, shop.id), now=t.clock())
    send(t)
    assert [m["Subject"] for m in smtp_server.messages] == ["Happy birthday, Ana!"]


def test_without_mail_url_nothing_is_sent_and_the_messages_wait(t, shop, smtp_server):
    member = make_member(t, shop)
    dispatch(t, event(shop, member, "tier.changed", 10, tier_from=None, tier_to="gold"))
    t.config["MAIL_URL"] = ""
    assert send(t) == 0
    assert [r.status for r in outbox(t, shop)] == ["queued"] and smtp_server.messages == []


def test_points_given_by_staff_reach_the_member_as_reward_ready_through_the_events_outbox(t, shop, five_off,
                                                                                          smtp_server):
    from app.jobs.tasks import dispatch_member_events
    member = make_member(t, shop)
    adjust(t, shop, five_off[1])
    dispatch_member_events(t)
    send(t)
    [message] = smtp_server.messages
    assert message["Subject"] == "You have enough points for USD 5 off"


def test_a_customer_erasure_removes_the_emails_sent_to_them(client, t, shop, smtp_server):
    from tests.support import payload
    from tests.support.ledger import deliver
    member = make_member(t, shop)
    dispatch(t, event(shop, member, "tier.changed", 0, tier_to="gold"))
    send(t)
    assert outbox(t, shop)[0].recipient == "ana@example.com"
    body = payload("customers/redact")
    body["customer"]["id"] = member.customer_id
    deliver(client, t, "customers/redact", body)
    assert outbox(t, shop) == []


def test_old_events_such_as_an_import_of_last_years_orders_email_no_one(t, shop, five_off):
    from app.loyalty.events import MemberEvent
    member = make_member(t, shop)
    old = event(shop, member, "tier.changed", five_off[1], tier_to="gold")
    dispatch(t, MemberEvent(**{**old.__dict__, "occurred_at": t.clock() - timedelta(days=90)}))
    assert outbox(t, shop) == []
    dispatch(t, event(shop, member, "points.earned", five_off[1] + 10, points=10))
    assert outbox(t, shop, "reward_ready") == [], "the crossing was marked by the old event"


def test_a_customers_data_request_lists_the_emails_sent_to_them(client, t, shop, smtp_server):
    from app.models import PrivacyRequest
    from tests.support import payload
    from tests.support.ledger import deliver
    member = make_member(t, shop, locale="fr-CA")
    dispatch(t, event(shop, member, "tier.changed", 0, tier_to="gold"))
    send(t)
    body = payload("customers/data_request")
    body["customer"]["id"] = member.customer_id
    deliver(client, t, "customers/data_request", body)
    with t.db.scope(read_only=True) as session:
        export = session.query(PrivacyRequest).filter_by(shop_id=shop.id, kind="data_request").one().export
    assert export["email_language"] == "fr-CA"
    assert [(e["kind"], e["status"], e["to"]) for e in export["emails"]] == [("tier_reached", "sent", "ana@example.com")]
