"""The member events outbox: every change is recorded once, with its transaction, and reaches
every consumer once it committed."""
import uuid

import pytest
from sqlalchemy import select

from app.loyalty.events import EventKind
from app.models import MemberEventRecord, Reward, Shop
from app.services import member_events
from app.services.expiry import expire_points_everywhere
from app.services.maintenance import maintain_members
from tests.support import CUSTOMER_ID, ORDER_ID, payload, signed_proxy_query
from tests.support.ledger import adjust, deliver, member_of, set_program

pytestmark = pytest.mark.both_backends

TIERS = {"enabled": True, "metric": "amount_spent", "period": "calendar_year",
         "levels": [{"key": "member", "name": "Member", "threshold": 0},
                    {"key": "silver", "name": "Silver", "threshold": 100, "entry_points": 200}]}


class Heard:
    """A consumer that remembers what it was given."""

    def __init__(self, fail_on: EventKind | None = None):
        self.events, self.fail_on = [], fail_on

    def __call__(self, session, events, *, now):
        if self.fail_on and any(e.kind == self.fail_on for e in events):
            raise RuntimeError(f"cannot take {self.fail_on}")
        self.events.extend(events)

    def kinds(self, customer_id=CUSTOMER_ID):
        return [str(e.kind) for e in self.events if e.customer_id == customer_id]


@pytest.fixture
def heard(monkeypatch):
    consumer = Heard()
    monkeypatch.setattr(member_events, "CONSUMERS", (consumer,))
    return consumer


def dispatch(t) -> int:
    return member_events.dispatch_member_events(t.db.session, now=t.clock())


def order(n: int, customer_id: int = CUSTOMER_ID, **changes) -> dict:
    body = payload("orders/paid")
    body["customer"] = dict(body["customer"], id=customer_id, email=f"c{customer_id}@example.com")
    body.update(id=ORDER_ID + n, name=f"#{2000 + n}", **changes)
    return body


def records(t):
    with t.db.scope(read_only=True) as session:
        return session.scalars(select(MemberEventRecord).order_by(MemberEventRecord.id)).all()


def test_a_paid_order_tells_the_consumers_of_the_new_member_and_the_points_with_the_balance(client, t, shop, heard):
    deliver(client, t, "orders/paid", order(1))
    assert dispatch(t) == 2
    enrolled, earned = heard.events
    assert (enrolled.kind, earned.kind) == (EventKind.MEMBER_ENROLLED, EventKind.POINTS_EARNED)
    assert earned.customer_id == CUSTOMER_ID and earned.data["points"] == 110
    assert earned.data["order_id"] == ORDER_ID + 1 and earned.data["cause_type"] == "order"
    assert earned.balance.balance + earned.balance.pending == 110
    assert dispatch(t) == 0  # handed over once


def test_a_redelivered_order_raises_its_events_once(client, t, shop, heard):
    deliver(client, t, "orders/paid", order(1))
    deliver(client, t, "orders/paid", order(1))
    dispatch(t)
    assert heard.kinds() == ["member.enrolled", "points.earned"]


def test_events_wait_for_the_dispatcher_and_are_kept_as_a_record(client, t, shop, heard):
    deliver(client, t, "orders/paid", order(1))
    assert heard.events == [] and all(r.dispatched_at is None for r in records(t))
    dispatch(t)
    assert all(r.dispatched_at == t.clock() for r in records(t))


def test_reaching_a_tier_raises_tier_changed_and_its_entry_bonus(client, t, shop, heard):
    set_program(t, shop, {"tiers": TIERS})
    deliver(client, t, "orders/paid", order(1))
    dispatch(t)
    tier_events = [e for e in heard.events if e.kind == EventKind.TIER_CHANGED]
    assert [(e.data["tier_from"], e.data["tier_to"]) for e in tier_events] == [(None, "silver")]
    bonus = [e for e in heard.events if e.kind == EventKind.POINTS_EARNED and e.data["cause_type"] == "tier"]
    assert [e.data["points"] for e in bonus] == [200]


def test_the_end_of_a_tier_period_raises_tier_changed_set_based(client, t, shop, heard):
    set_program(t, shop, {"tiers": TIERS})
    deliver(client, t, "orders/paid", order(1))
    dispatch(t)
    t.clock.set(member_of(t, shop).tier_retained_until)
    with t.db.scope() as session:
        maintain_members(session, session.get(Shop, shop.id), now=t.clock())
    dispatch(t)
    last = heard.events[-1]
    assert (last.kind, last.data["tier_from"], last.data["tier_to"]) == (EventKind.TIER_CHANGED, "silver", "member")


def test_a_completed_referral_raises_referral_completed_for_the_referrer(client, t, shop, heard):
    set_program(t, shop, {"referrals": {"enabled": True, "referrer_points": 500, "min_order_subtotal": "50"}})
    deliver(client, t, "orders/paid", order(1, customer_id=111))
    referred = order(2, customer_id=222)
    referred["note_attributes"] = [{"name": "tessera_ref", "value": member_of(t, shop, 111).referral_code}]
    deliver(client, t, "orders/paid", referred)
    dispatch(t)
    assert heard.kinds(111)[-2:] == ["points.earned", "referral.completed"]
    completed = heard.events[[str(e.kind) for e in heard.events].index("referral.completed")]
    assert completed.data["points"] == 500 and completed.balance.balance + completed.balance.pending == 610


def test_expired_points_raise_points_expired_from_the_set_based_sweep(client, t, shop, heard):
    set_program(t, shop, {"expiry": {"policy": "after_earning", "months": 12, "reminder_days": 0}})
    deliver(client, t, "orders/paid", order(1))
    t.clock.advance(days=400)
    expire_points_everywhere(t.db, now=t.clock())
    dispatch(t)
    expired = [e for e in heard.events if e.kind == EventKind.POINTS_EXPIRED]
    assert [e.data["points"] for e in expired] == [-110] and expired[0].balance.balance == 0


def test_a_redeemed_reward_raises_points_spent_and_reward_redeemed_with_its_code(client, t, shop, stub, heard):
    adjust(t, shop, 600)
    with t.db.scope(read_only=True) as session:
        reward_id = session.scalar(select(Reward.id).where(Reward.shop_id == shop.id))
    response = client.post(f"/proxy/redeem?{signed_proxy_query()}",
                           json={"reward_id": reward_id, "idempotency_key": uuid.uuid4().hex})
    assert response.status_code == 200, response.json
    dispatch(t)
    kinds = heard.kinds()
    assert kinds[-2:] == ["points.spent", "reward.redeemed"] and "points.adjusted" in kinds
    redeemed = heard.events[-1]
    assert redeemed.data["code"] == response.json["code"] and redeemed.data["points_spent"] == 500
    assert redeemed.balance.balance == 100


def test_a_consumer_failing_on_one_event_does_not_hold_back_the_others(client, t, shop, monkeypatch):
    fussy = Heard(fail_on=EventKind.MEMBER_ENROLLED)
    monkeypatch.setattr(member_events, "CONSUMERS", (fussy,))
    deliver(client, t, "orders/paid", order(1))
    assert dispatch(t) == 1
    assert fussy.kinds() == ["points.earned"]
    stuck = [r for r in records(t) if r.dispatched_at is None]
    assert [(r.kind, r.attempts) for r in stuck] == [("member.enrolled", 1)]
    assert "cannot take member.enrolled" in stuck[0].last_error


def test_an_event_failing_every_time_is_set_aside_with_its_error(client, t, shop, monkeypatch):
    fussy = Heard(fail_on=EventKind.MEMBER_ENROLLED)
    monkeypatch.setattr(member_events, "CONSUMERS", (fussy,))
    deliver(client, t, "orders/paid", order(1))
    for _ in range(member_events.MAX_ATTEMPTS):
        dispatch(t)
    [enrolled] = [r for r in records(t) if r.kind == "member.enrolled"]
    assert enrolled.dispatched_at is not None and enrolled.attempts == member_events.MAX_ATTEMPTS


def test_events_are_kept_apart_per_shop(client, t, shop, other_shop, heard):
    deliver(client, t, "orders/paid", order(1))
    deliver(client, t, "orders/paid", order(2), shop=other_shop.domain)
    dispatch(t)
    assert {(e.shop_id, str(e.kind)) for e in heard.events} == {
        (shop.id, "member.enrolled"), (shop.id, "points.earned"),
        (other_shop.id, "member.enrolled"), (other_shop.id, "points.earned")}
