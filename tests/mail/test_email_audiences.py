"""Issue 17: a member email kind aimed at an audience (segments and/or lifecycle stages, empty =
everyone) is suppressed for members outside it, with the reason in the log; a code the member
asked for always goes."""
from __future__ import annotations

import pytest

from app.models import MemberMetrics
from tests.admin.helpers import bearer
from tests.mail.helpers import dispatch, event, make_member, outbox, send
from tests.mail.test_member_emails import five_off, issued_code  # noqa: F401 (fixture)
from tests.support.ledger import set_program

pytestmark = pytest.mark.both_backends

LOYAL_ONLY = {"mail": {"messages": {"tier_reached": {"lifecycle_stages": ["loyalty"]},
                                    "code_issued": {"lifecycle_stages": ["loyalty"]}}}}


def at_stage(t, shop, member, stage: str) -> None:
    with t.db.scope() as session:
        session.add(MemberMetrics(member_id=member.id, shop_id=shop.id, lifecycle_stage=stage,
                                  stage_entered_at=t.clock(), computed_at=t.clock()))
        session.commit()


def test_a_tier_reached_email_for_loyal_members_reaches_a_loyal_member(t, shop, smtp_server):
    set_program(t, shop, LOYAL_ONLY)
    member = make_member(t, shop)
    at_stage(t, shop, member, "loyalty")
    dispatch(t, event(shop, member, "tier.changed", 10, tier_from="bronze", tier_to="silver"))
    send(t)
    assert [r.status for r in outbox(t, shop, "tier_reached")] == ["sent"]
    assert len(smtp_server.messages) == 1


def test_a_tier_reached_email_for_loyal_members_is_suppressed_for_a_new_one(t, shop, smtp_server):
    set_program(t, shop, LOYAL_ONLY)
    member = make_member(t, shop)
    at_stage(t, shop, member, "awareness")
    dispatch(t, event(shop, member, "tier.changed", 10, tier_from="bronze", tier_to="silver"))
    send(t)
    [row] = outbox(t, shop, "tier_reached")
    assert row.status == "suppressed" and "outside the audience" in row.error
    assert smtp_server.messages == []


def test_code_issued_ignores_its_audience_because_the_member_asked_for_it(t, shop, five_off, smtp_server):  # noqa: F811
    set_program(t, shop, LOYAL_ONLY)
    member = make_member(t, shop)
    at_stage(t, shop, member, "awareness")
    dispatch(t, event(shop, member, "reward.redeemed", 0, redemption_id=issued_code(t, shop, member, five_off[0])))
    send(t)
    assert [r.status for r in outbox(t, shop, "code_issued")] == ["sent"]


def test_an_email_audience_naming_an_unknown_segment_or_stage_is_422(client, t, shop):
    response = client.patch("/api/v1/program", headers=bearer(),
                            json={"mail": {"messages": {"tier_reached": {"segment_ids": [99]}}}})
    assert response.status_code == 422
    assert response.json["error"]["fields"][0]["field"] == "mail.messages.tier_reached.segment_ids"
    stages = client.patch("/api/v1/program", headers=bearer(),
                          json={"mail": {"messages": {"tier_reached": {"lifecycle_stages": ["asleep"]}}}})
    assert stages.status_code == 422


def test_an_email_audience_is_read_back_from_the_program(client, t, shop):
    response = client.patch("/api/v1/program", headers=bearer(),
                            json={"mail": {"messages": {"birthday": {"lifecycle_stages": ["loyalty", "at_risk"]}}}})
    assert response.status_code == 200, response.json
    birthday = client.get("/api/v1/program", headers=bearer()).json["mail"]["messages"]["birthday"]
    assert birthday["lifecycle_stages"] == ["loyalty", "at_risk"] and birthday["segment_ids"] is None


def test_the_emails_page_picks_an_audience_per_message_kind(client, t, shop):
    from tests.admin.helpers import get_page, post_form
    from tests.mail.test_emails_admin import program_of
    segment = client.post("/api/v1/segments", headers=bearer(), json={
        "name": "VIP", "conditions": [{"field": "customer_tags", "op": "contains", "value": "vip"}]}).json
    response = post_form(client, "/emails/messages/birthday", {
        "lang": "en", "enabled": "true", "subject": "", "body": "",
        "lifecycle_stages": ["loyalty"], "segment_ids": [str(segment["id"])]})
    assert response.status_code == 200, response.json
    birthday = program_of(t, shop).mail.messages["birthday"]
    assert (birthday.lifecycle_stages, birthday.segment_ids) == (["loyalty"], [segment["id"]])
    html = get_page(client, "/emails").get_data(as_text=True)
    assert f'name="segment_ids" value="{segment["id"]}" checked' in html
    unknown = post_form(client, "/emails/messages/birthday", {"lang": "en", "enabled": "true", "segment_ids": ["999"]})
    assert unknown.status_code == 422


def test_a_segment_an_email_is_aimed_at_cannot_be_deleted(client, t, shop):
    segment = client.post("/api/v1/segments", headers=bearer(), json={
        "name": "VIP", "conditions": [{"field": "customer_tags", "op": "contains", "value": "vip"}]}).json
    aimed = client.patch("/api/v1/program", headers=bearer(),
                         json={"mail": {"messages": {"birthday": {"segment_ids": [segment["id"]]}}}})
    assert aimed.status_code == 200, aimed.json
    deleting = client.delete(f"/api/v1/segments/{segment['id']}", headers=bearer())
    assert deleting.status_code == 409 and "'birthday' email" in deleting.json["error"]["message"]
