"""Audiences: rewards and campaigns aimed at segments and lifecycle stages (empty = everyone).
A reward outside the member's audience is neither shown in /proxy/member nor redeemable; a
campaign outside it does not apply (the planner gets the audience as a fact)."""
import uuid

import pytest

from tests.admin.helpers import bearer
from tests.segments.seed import add_member, add_order, recompute
from tests.support import CUSTOMER_ID, payload, signed_proxy_query
from tests.support.ledger import adjust, balance, deliver, entries, member_of, set_program

AT_RISK_ONLY = {"name": "Come back: USD 10 off", "kind": "amount_off", "points_cost": 100, "value": "10",
                "lifecycle_stages": ["at_risk"]}


def add_reward(client, body):
    response = client.post("/api/v1/rewards", json=body, headers=bearer())
    assert response.status_code == 201, response.json
    return response.json


def shown_rewards(client) -> list[str]:
    return [r["name"] for r in client.get(f"/proxy/member?{signed_proxy_query()}").json["rewards"]]


def redeem(client, reward_id):
    return client.post(f"/proxy/redeem?{signed_proxy_query()}",
                       json={"reward_id": reward_id, "idempotency_key": uuid.uuid4().hex})


@pytest.mark.both_backends
def test_a_reward_for_at_risk_members_is_hidden_and_refused_for_others(client, t, shop):
    reward = add_reward(client, AT_RISK_ONLY)
    assert reward["lifecycle_stages"] == ["at_risk"] and reward["segment_ids"] is None
    adjust(t, shop, 500)
    assert "Come back: USD 10 off" not in shown_rewards(client)
    before = balance(t, shop).balance  # the adjustment and the signup points of the first load
    refused = redeem(client, reward["id"])
    assert refused.status_code == 409 and "selected members" in refused.json["error"]["message"]
    assert balance(t, shop).balance == before == 600


@pytest.mark.both_backends
def test_a_reward_for_a_segment_is_shown_to_its_members(client, t, shop):
    adjust(t, shop, 500)
    member = member_of(t, shop)
    add_order(t, shop, member.id, days_ago=100)
    recompute(t, shop)
    segment = client.post("/api/v1/segments", headers=bearer(), json={
        "name": "Drifting", "conditions": [{"field": "last_order_at", "op": "lt", "value": "2025-01-01"}]}).json
    add_reward(client, {**AT_RISK_ONLY, "name": "For the segment", "lifecycle_stages": None,
                        "segment_ids": [segment["id"]]})
    add_reward(client, {**AT_RISK_ONLY, "name": "For loyal members", "lifecycle_stages": ["loyalty"]})
    assert shown_rewards(client) == ["USD 5 off", "For the segment"]
    deleting = client.delete(f"/api/v1/segments/{segment['id']}", headers=bearer())
    assert deleting.status_code == 409 and "For the segment" in deleting.json["error"]["message"]


def test_a_reward_audience_must_name_known_segments_and_stages(client, t, shop, other_shop):
    problems = client.post("/api/v1/rewards", headers=bearer(), json={
        **AT_RISK_ONLY, "lifecycle_stages": ["dormant"], "segment_ids": ["x"]}).json["error"]["fields"]
    assert {p["field"] for p in problems} == {"lifecycle_stages", "segment_ids"}
    missing = client.post("/api/v1/rewards", headers=bearer(), json={**AT_RISK_ONLY, "segment_ids": [424242]})
    assert missing.status_code == 422 and missing.json["error"]["fields"][0]["field"] == "segment_ids"


def campaign(**audience) -> dict:
    return {"campaigns": [{"key": "winback", "name": "Win-back x3", "multiplier": "3",
                           "starts_at": "2025-02-01T00:00:00Z", "ends_at": "2025-03-01T00:00:00Z", **audience}]}


@pytest.mark.both_backends
def test_a_campaign_for_at_risk_members_applies_only_to_them(client, t, shop):
    set_program(t, shop, campaign(lifecycle_stages=["at_risk"]))
    deliver(client, t, "orders/paid", payload("orders/paid"))  # a new customer: not at risk
    assert [e.points for e in entries(t, shop)] == [110]
    returning = add_member(t, shop, 2)
    add_order(t, shop, returning, days_ago=120)
    recompute(t, shop)
    order = payload("orders/paid")
    order.update(id=order["id"] + 1, name="#1043")
    order["customer"] = {**order["customer"], "id": 2}
    deliver(client, t, "orders/paid", order)
    earned = entries(t, shop, customer_id=2)[0]
    assert earned.points == 330 and "Win-back x3" in earned.reason


def test_a_campaign_for_a_segment_applies_to_its_members_only(client, t, shop):
    add_member(t, shop, CUSTOMER_ID, customer_tags="vip", country_code="CA")
    segment = client.post("/api/v1/segments", headers=bearer(), json={
        "name": "VIP", "conditions": [{"field": "customer_tags", "op": "contains", "value": "vip"}]}).json
    set_program(t, shop, campaign(segment_ids=[segment["id"]]))
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert entries(t, shop)[0].points == 330


def test_a_campaign_naming_an_unknown_segment_is_422(client, t, shop):
    body = {"campaigns": [{**campaign()["campaigns"][0], "segment_ids": [99]}]}
    response = client.patch("/api/v1/program", json=body, headers=bearer())
    assert response.status_code == 422 and response.json["error"]["fields"][0]["field"] == "campaigns.0.segment_ids"
    stages = client.patch("/api/v1/program", headers=bearer(), json={
        "campaigns": [{**campaign()["campaigns"][0], "lifecycle_stages": ["asleep"]}]})
    assert stages.status_code == 422
