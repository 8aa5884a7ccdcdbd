"""The Emails page (settings per message, preview on a real member, test send, log with its
filter), the sender in the program settings (page and API), and shop isolation."""
from __future__ import annotations

import re

import pytest

from app.models import Shop
from app.services.program import current_program
from tests.admin.helpers import bearer, get_page, post_form
from tests.mail.helpers import dispatch, event, make_member, outbox, send
from tests.support import OTHER_SHOP


def program_of(t, shop):
    with t.db.scope(read_only=True) as session:
        return current_program(session, session.get(Shop, shop.id))[1]


def fields(response) -> dict[str, str]:
    return {f["field"]: f["problem"] for f in response.json["error"]["fields"]}


def test_the_emails_page_needs_a_session_token_and_is_in_the_navigation(client, shop):
    assert client.get(f"/emails?shop={shop.domain}").status_code == 401
    html = get_page(client, "/emails").get_data(as_text=True)
    assert re.search(r'<a href="[^"]*/emails\?[^"]*"[^>]*>Emails</a>', html)
    assert "data-mail-not-configured" not in html


def test_without_mail_url_the_page_says_nothing_is_sent(client, shop, t):
    t.config["MAIL_URL"] = ""
    html = get_page(client, "/emails").get_data(as_text=True)
    assert "data-mail-not-configured" in html and "nothing is sent" in html


def test_a_message_reworded_in_german_reaches_german_members_only_in_those_words(client, t, shop, smtp_server):
    response = post_form(client, "/emails/messages/tier_reached", {
        "lang": "de", "enabled": "true", "subject": "{{ first_name }}, Sie sind jetzt {{ tier_name }}!",
        "body": "Hallo {{ first_name }},\n\nwillkommen bei {{ tier_name }}."})
    assert response.status_code == 200, response.json
    message = program_of(t, shop).mail.messages["tier_reached"]
    assert message.subject == {"de": "{{ first_name }}, Sie sind jetzt {{ tier_name }}!"}
    german = make_member(t, shop, locale="de")
    english = make_member(t, shop, customer_id=2, email="bo@example.com", first_name="Bo")
    dispatch(t, event(shop, german, "tier.changed", 0, tier_to="gold"),
             event(shop, english, "tier.changed", 0, tier_to="gold"))
    send(t)
    assert sorted(m["Subject"] for m in smtp_server.messages) == ["Ana, Sie sind jetzt Gold!", "Welcome to Gold"]


def test_saving_the_default_wording_stores_no_copy_of_it(client, t, shop):
    page = get_page(client, "/emails", lang="fr").get_data(as_text=True)
    subject = re.search(r'name="subject" type="text"\s+value="([^"]*)"', page).group(1)
    post_form(client, "/emails/messages/reward_ready", {"lang": "fr", "enabled": "true",
                                                         "subject": subject.replace("&#39;", "'"), "body": ""})
    assert program_of(t, shop).mail.messages["reward_ready"].subject == {}


def test_turning_a_message_off_stops_it(client, t, shop, smtp_server):
    post_form(client, "/emails/messages/tier_reached", {"lang": "en", "enabled": "false", "subject": "", "body": ""})
    member = make_member(t, shop)
    dispatch(t, event(shop, member, "tier.changed", 0, tier_to="gold"))
    send(t)
    assert smtp_server.messages == [] and [r.status for r in outbox(t, shop)] == ["suppressed"]


def test_an_unknown_placeholder_is_refused_naming_the_field(client, shop):
    response = post_form(client, "/emails/messages/birthday", {"lang": "en", "enabled": "true",
                                                                "subject": "Hi {{ code }}", "body": ""})
    assert response.status_code == 422
    assert "unknown placeholder(s) code" in " ".join(fields(response).values())


def test_the_preview_shows_a_real_member_in_their_language(client, t, shop):
    member = make_member(t, shop, locale="es-MX", first_name="Lucía")
    response = post_form(client, "/emails/preview", {"kind": "birthday", "member_id": str(member.id)})
    assert response.status_code == 200
    assert response.json["subject"] == "¡Feliz cumpleaños, Lucía!" and response.json["locale"] == "es"
    assert "Lucía" in response.json["html"] and "Lucía" in response.json["text"]


def test_a_test_send_reaches_the_address_given_and_is_logged(client, t, shop, smtp_server):
    member = make_member(t, shop)
    response = post_form(client, "/emails/test", {"kind": "code_issued", "member_id": str(member.id),
                                                  "to": "owner@maple-pine.example"})
    assert response.status_code == 200, response.json
    [received] = smtp_server.received
    assert received.rcpt_tos == ["owner@maple-pine.example"] and "Your code for" in received.message["Subject"]
    assert response.json["email"]["status"] == "sent"
    dispatch(t, event(shop, member, "tier.changed", 0, tier_to="gold"))
    send(t)
    assert len(smtp_server.messages) == 2, "a test send does not count against the member's daily cap"


def test_a_test_send_the_server_refuses_says_why(client, t, shop, smtp_server):
    member = make_member(t, shop)
    smtp_server.refusals = ["550 5.7.1 Relaying denied"]
    response = post_form(client, "/emails/test", {"kind": "birthday", "member_id": str(member.id),
                                                  "to": "owner@maple-pine.example"})
    assert response.status_code == 502 and "Relaying denied" in response.json["error"]["message"]


def test_the_log_lists_emails_and_filters_by_status(client, t, shop, smtp_server):
    sent = make_member(t, shop)
    refused = make_member(t, shop, customer_id=2, email="bo@example.com", accepts_marketing=False)
    dispatch(t, event(shop, sent, "tier.changed", 0, tier_to="gold"), event(shop, refused, "tier.changed", 0,
                                                                             tier_to="gold"))
    send(t)
    everything = get_page(client, "/emails").get_data(as_text=True)
    assert sorted(re.findall(r'data-status="(\w+)"', everything)) == ["sent", "suppressed"]
    suppressed = get_page(client, "/emails", status="suppressed").get_data(as_text=True)
    assert re.findall(r'data-status="(\w+)"', suppressed) == ["suppressed"]
    assert "not agreed to receive marketing emails" in suppressed


def test_another_shop_sees_none_of_these_emails_or_members(client, t, shop, other_shop, smtp_server):
    member = make_member(t, shop)
    dispatch(t, event(shop, member, "tier.changed", 0, tier_to="gold"))
    send(t)
    html = get_page(client, "/emails", shop=OTHER_SHOP).get_data(as_text=True)
    assert "data-status=" not in html and "ana@example.com" not in html
    response = post_form(client, "/emails/preview", {"kind": "birthday", "member_id": str(member.id)},
                         shop=OTHER_SHOP)
    assert response.status_code == 422 and "member_id" in fields(response)


def test_owner_notices_and_the_daily_cap_are_saved_from_the_page(client, t, shop):
    response = post_form(client, "/emails/settings", {"daily_cap": "2", "tier_warning_days": "7",
                                                       "owner_notices.weekly_summary": "false",
                                                       "owner_notices.access_lost": "true"})
    assert response.status_code == 200
    mail = program_of(t, shop).mail
    assert (mail.daily_cap, mail.tier_warning_days) == (2, 7)
    assert not mail.owner_notices.weekly_summary and mail.owner_notices.access_lost


def test_the_program_page_saves_the_sender_and_keeps_the_messages(client, t, shop):
    post_form(client, "/emails/messages/birthday", {"lang": "en", "enabled": "false", "subject": "", "body": ""})
    assert 'id="mail"' in get_page(client, "/program").get_data(as_text=True)
    response = post_form(client, "/program/mail", {"mail.sender_name": "Maple & Pine",
                                                   "mail.reply_to": "help@maple-pine.example"})
    assert response.status_code == 200, response.json
    mail = program_of(t, shop).mail
    assert (mail.sender_name, mail.reply_to) == ("Maple & Pine", "help@maple-pine.example")
    assert not mail.messages["birthday"].enabled
    bad = post_form(client, "/program/mail", {"mail.sender_name": "", "mail.reply_to": "not an address"})
    assert bad.status_code == 422 and "mail.reply_to" in fields(bad)


@pytest.mark.parametrize("method", ["put", "patch"])
def test_the_sender_is_part_of_the_program_api(client, shop, method):
    assert client.get("/api/v1/program", headers=bearer()).json["mail"]["sender_name"] == ""
    response = getattr(client, method)("/api/v1/program", headers=bearer(),
                                       json={"mail": {"sender_name": "Pine Club", "reply_to": "club@pine.example"}})
    assert response.status_code == 200
    assert response.json["mail"]["sender_name"] == "Pine Club" and response.json["mail"]["reply_to"] == "club@pine.example"
    bad = client.patch("/api/v1/program", headers=bearer(), json={"mail": {"reply_to": "nope"}})
    assert bad.status_code == 422 and bad.json["error"]["fields"][0]["field"] == "mail.reply_to"


def test_the_email_log_is_scriptable_and_scoped_to_the_shop(client, t, shop, other_shop, smtp_server):
    assert client.get("/api/v1/emails").status_code == 401
    member = make_member(t, shop, accepts_marketing=False)
    dispatch(t, event(shop, member, "tier.changed", 0, tier_to="gold"))
    send(t)
    [row] = client.get("/api/v1/emails?status=suppressed", headers=bearer()).json["emails"]
    assert (row["kind"], row["member"], row["customer_id"]) == ("tier_reached", "Ana", member.customer_id)
    assert client.get("/api/v1/emails?status=sent", headers=bearer()).json["emails"] == []
    assert client.get("/api/v1/emails", headers=bearer(OTHER_SHOP)).json["emails"] == []
    bad = client.get("/api/v1/emails?status=lost", headers=bearer())
    assert bad.status_code == 422 and "status" in fields(bad)
