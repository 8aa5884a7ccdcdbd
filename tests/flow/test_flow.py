"""Shopify Flow: triggers go out only while a workflow uses them (the lifecycle callback says
so), and the actions Flow runs are HMAC-checked, idempotent per run and answer 4xx/5xx as Flow
expects."""
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import FlowTriggerSend, MemberNotification
from app.services import member_events
from app.services.flow import queue_expiring_points_triggers, send_due_flow_triggers
from app.shopify.signatures import webhook_hmac
from tests.support import CUSTOMER_ID, SECRET, SHOP, payload
from tests.support.ledger import adjust, balance, deliver, member_of

pytestmark = pytest.mark.both_backends


def flow_post(client, path, body, secret=SECRET):
    raw = json.dumps(body).encode()
    return client.post(path, data=raw, headers={"Content-Type": "application/json",
                                                "X-Shopify-Hmac-Sha256": webhook_hmac(raw, secret)})


def lifecycle(client, handle, enabled, at="2025-02-14T14:00:00Z"):
    return flow_post(client, "/flow/lifecycle", {"flow_trigger_definition_id": handle, "has_enabled_flow": enabled,
                                                 "shop_id": 1, "shopify_domain": SHOP, "timestamp": at})


def action(client, handle, properties, run_id=None):
    path = {"tessera-adjust-points": "/flow/actions/adjust-points",
            "tessera-block-member": "/flow/actions/block-member"}[handle]
    return flow_post(client, path, {"shop_id": 1, "shopify_domain": SHOP, "action_run_id": run_id or str(uuid.uuid4()),
                                    "action_definition_id": handle, "handle": handle,
                                    "properties": {"customer_id": CUSTOMER_ID, **properties}})


def sent(stub) -> list[tuple[str, dict]]:
    return [(m["variables"]["handle"], m["variables"]["payload"]) for m in stub.mutations
            if m["operationName"] == "SendFlowTrigger"]


def run_jobs(t) -> int:
    member_events.dispatch_member_events(t.db.session, now=t.clock())
    return send_due_flow_triggers(t.shopify, t.db, now=t.clock())


def test_points_earned_is_sent_only_while_a_workflow_uses_it(client, t, shop, stub):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert run_jobs(t) == 0 and sent(stub) == []  # no workflow: nothing sent
    assert lifecycle(client, "tessera-points-earned", True).status_code == 200
    adjust(t, shop, 5, reason="Thanks")
    assert run_jobs(t) == 0  # an adjustment is not "points earned"
    body = payload("orders/paid")
    body.update(id=body["id"] + 1, name="#1043")
    deliver(client, t, "orders/paid", body)
    assert run_jobs(t) == 1
    assert sent(stub) == [("tessera-points-earned", {"customer_id": CUSTOMER_ID, "Points": 110, "Balance": 225})]
    assert lifecycle(client, "tessera-points-earned", False, at="2025-02-14T14:30:00Z").status_code == 200
    body.update(id=body["id"] + 1, name="#1044")
    deliver(client, t, "orders/paid", body)
    assert run_jobs(t) == 0


def test_an_older_lifecycle_callback_does_not_override_a_newer_one(client, t, shop):
    assert lifecycle(client, "tessera-tier-changed", True, at="2025-02-14T14:00:00Z").json["recorded"] is True
    assert lifecycle(client, "tessera-tier-changed", False, at="2025-02-14T13:00:00Z").json["recorded"] is False


@pytest.mark.parametrize("path", ["/flow/lifecycle", "/flow/actions/adjust-points", "/flow/actions/block-member"])
def test_unsigned_or_wrongly_signed_calls_are_refused(client, t, shop, path):
    assert client.post(path, json={"shopify_domain": SHOP}).status_code == 401
    assert flow_post(client, path, {"shopify_domain": SHOP}, secret="not-ours").status_code == 401


def test_an_unknown_trigger_or_shop_is_404(client, t, shop):
    assert lifecycle(client, "tessera-nothing", True).status_code == 404
    response = flow_post(client, "/flow/lifecycle", {"flow_trigger_definition_id": "tessera-points-earned",
                                                     "has_enabled_flow": True, "shopify_domain": "x.myshopify.com",
                                                     "timestamp": "2025-02-14T14:00:00Z"})
    assert response.status_code == 404


def test_points_expiring_reminders_become_one_trigger_each(client, t, shop, stub):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    lifecycle(client, "tessera-points-expiring", True)
    member = member_of(t, shop)
    with t.db.scope() as session:
        session.add(MemberNotification(shop_id=shop.id, member_id=member.id, notification_key="expiring:x",
                                       kind="points_expiring", points=110, due_at=t.clock() + timedelta(days=7)))
        session.commit()
    with t.db.scope() as session:
        assert queue_expiring_points_triggers(session, now=t.clock()) == 1
        assert queue_expiring_points_triggers(session, now=t.clock()) == 0
    assert send_due_flow_triggers(t.shopify, t.db, now=t.clock()) == 1
    assert sent(stub)[0] == ("tessera-points-expiring", {"customer_id": CUSTOMER_ID, "Points": 110,
                                                         "Expiry date": "2025-02-21", "Balance": 110})


def test_a_trigger_shopify_cannot_take_now_is_retried_with_backoff(client, t, shop, stub, clock):
    lifecycle(client, "tessera-points-earned", True)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    stub.then(*[502] * 10)
    assert run_jobs(t) == 0
    stub.replies.clear()
    assert send_due_flow_triggers(t.shopify, t.db, now=t.clock()) == 0  # not due yet
    clock.advance(minutes=1)
    assert send_due_flow_triggers(t.shopify, t.db, now=t.clock()) == 1
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(FlowTriggerSend)).status == "sent"


def test_add_points_action_is_applied_once_per_run(client, t, shop):
    adjust(t, shop, 10)
    response = action(client, "tessera-adjust-points", {"points": 25, "reason": "VIP event"}, run_id="run-1")
    assert response.status_code == 200 and response.json["points"] == 25
    assert action(client, "tessera-adjust-points", {"points": 25, "reason": "VIP event"},
                  run_id="run-1").status_code == 200  # Flow's retry of the same run
    assert balance(t, shop).balance == 35


def test_remove_points_needs_a_reason_and_enough_points_else_flow_is_told_not_to_retry(client, t, shop):
    adjust(t, shop, 10)
    assert action(client, "tessera-adjust-points", {"points": -5}).status_code == 422
    assert action(client, "tessera-adjust-points", {"points": -50, "reason": "Fraud"}).status_code == 409
    assert action(client, "tessera-adjust-points", {"points": -5, "reason": "Fraud"}).status_code == 200
    assert balance(t, shop).balance == 5


def test_block_and_unblock_member_actions(client, t, shop):
    adjust(t, shop, 10)
    response = action(client, "tessera-block-member", {"blocked": True, "reason": "Chargebacks"})
    assert response.status_code == 200 and response.json["blocked"] is True
    assert member_of(t, shop).block_reason == "Chargebacks"
    assert action(client, "tessera-block-member", {"blocked": False}).json["blocked"] is False
    assert action(client, "tessera-block-member", {"blocked": "yes"}).status_code == 400


def test_reward_available_is_sent_when_earned_points_first_reach_a_rewards_cost(client, t, shop, stub):
    from app.models import Shop
    from app.services.rewards import create_reward
    with t.db.scope() as session:
        create_reward(session, session.get(Shop, shop.id), {"name": "10% off", "kind": "percent_off",
                                                           "points_cost": 200, "value": "10"})
        session.commit()
    lifecycle(client, "tessera-reward-available", True)
    body = payload("orders/paid")
    deliver(client, t, "orders/paid", body)
    assert run_jobs(t) == 0  # 110 points: not yet
    body.update(id=body["id"] + 1, name="#1043")
    deliver(client, t, "orders/paid", body)
    assert run_jobs(t) == 1
    assert sent(stub) == [("tessera-reward-available", {"customer_id": CUSTOMER_ID, "Reward": "10% off",
                                                         "Points cost": 200, "Balance": 220})]
