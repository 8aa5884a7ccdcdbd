"""The settlement planner alone, without a database: each rule about an order's points, and
that planning again after posting the plan plans nothing."""
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from app.loyalty.ledger import EntryKind, order_earn_key, order_reversal_key, order_streak_key, refund_clawback_key
from app.loyalty.orders import parse_order, parse_refund
from app.loyalty.program import parse_program
from app.loyalty.referrals import Party
from app.loyalty.settlement import MemberState, ProgramInForce, ReferralFacts, plan_history_order, plan_order
from tests.support import payload

NOW = datetime(2025, 2, 20, 12, 0, tzinfo=timezone.utc)
ORDER = parse_order(payload("orders/paid"))  # 110.00 merchandise: 110 points by default
REFUND = parse_refund(payload("refunds/create"))  # one hoodie: 55.00 of the 110.00
FIRST_ORDER = {"actions": {"first_order": {"enabled": True, "points": 100}}}


def rules(settings: dict | None = None, version_id: int = 1) -> ProgramInForce:
    return ProgramInForce(version_id, parse_program(settings or {}))


def member(**changes) -> MemberState:
    return replace(MemberState(member_id=7, blocked=False, tier_key=None, spendable_points=0), **changes)


def plan(facts=ORDER, state=None, posted=(), settings=None, now=NOW, **kwargs):
    return plan_order(facts, state or member(), tuple(posted), rules(settings), now=now, **kwargs)


def points_by_key(result) -> dict[str, int]:
    return {e.key: e.points for e in result.entries}


def test_a_paid_order_plans_its_earn_entry_with_the_program_version():
    result = plan()
    [earn] = result.entries
    assert (earn.key, earn.kind, earn.points, earn.program_version_id) == (order_earn_key(ORDER.order_id),
                                                                           EntryKind.EARN, 110, 1)
    assert result.earned and result.member_after.spendable_points == 110


def test_planning_again_after_posting_the_plan_plans_nothing():
    first = plan(replace(ORDER, refunds=(REFUND,)), settings=FIRST_ORDER)
    again = plan(replace(ORDER, refunds=(REFUND,)), settings=FIRST_ORDER, posted=first.entries,
                 state=member(claimed_keys=first.member_after.claimed_keys))
    assert again.entries == () and not again.earned


def test_a_test_order_or_a_blocked_member_earns_nothing():
    assert plan(replace(ORDER, is_test=True)).entries == ()
    assert plan(state=member(blocked=True)).entries == ()


def test_on_fulfilment_programs_an_unfulfilled_order_waits():
    settings = {"earning": {"trigger": "fulfilled"}}
    assert plan(settings=settings).entries == ()
    assert points_by_key(plan(replace(ORDER, fulfilled=True), settings=settings)) == {
        order_earn_key(ORDER.order_id): 110}


def test_the_first_order_bonus_is_paid_once_per_member():
    result = plan(settings=FIRST_ORDER)
    bonus = [e for e in result.entries if e.cause_type == "action"]
    assert [(e.points, e.order_id) for e in bonus] == [(100, ORDER.order_id)]
    second = replace(ORDER, order_id=ORDER.order_id + 1)
    assert [e.cause_type for e in plan(second, state=result.member_after, settings=FIRST_ORDER).entries] == ["order"]


def test_a_streak_bonus_needs_enough_live_orders_within_the_window():
    settings = {"actions": {"order_streak": {"enabled": True, "orders": 2, "days": 30, "points": 50}}}
    earlier = ORDER.processed_at - timedelta(days=10)
    streak = plan(state=member(order_times=(earlier, ORDER.processed_at)), settings=settings)
    assert points_by_key(streak)[order_streak_key(ORDER.order_id)] == 50
    assert order_streak_key(ORDER.order_id) not in points_by_key(
        plan(state=member(order_times=(ORDER.processed_at,)), settings=settings))
    # history (order_times None) is not a campaign
    assert order_streak_key(ORDER.order_id) not in points_by_key(plan(settings=settings))


def test_a_refund_takes_back_its_share_of_the_earning_base():
    result = plan(replace(ORDER, refunds=(REFUND,)))
    take_back = result.take_backs[0]
    assert (take_back.key, take_back.points, take_back.reverses_key) == (
        refund_clawback_key(REFUND.refund_id), -55, order_earn_key(ORDER.order_id))
    assert result.took_back and result.refunded_merchandise_minor == 5500


def test_a_take_back_of_spent_points_is_limited_to_the_balance_and_records_the_shortfall():
    earned = plan()
    spent = member(spendable_points=10)  # 100 of the 110 were spent on a reward meanwhile
    result = plan(replace(ORDER, refunds=(REFUND,)), state=spent, posted=earned.entries)
    [take_back] = result.entries
    assert (take_back.points, take_back.shortfall_points) == (-10, 45)
    assert take_back.reason.endswith("; 45 already spent, not taken back")


def test_pending_points_are_taken_back_in_full_from_the_pending_balance():
    settings = {"earning": {"pending_days": 14}}
    earned = plan(settings=settings)
    result = plan(replace(ORDER, refunds=(REFUND,)), posted=earned.entries, settings=settings,
                  now=NOW + timedelta(days=1))
    [take_back] = result.entries
    assert (take_back.points, take_back.shortfall_points, take_back.vests_at) == (-55, 0, earned.entries[0].vests_at)


def test_a_cancelled_order_reverses_what_it_still_holds_including_its_bonus():
    earned = plan(replace(ORDER, refunds=(REFUND,)), settings=FIRST_ORDER)
    cancelled = replace(ORDER, refunds=(REFUND,), cancelled_at=NOW)
    result = plan(cancelled, posted=earned.entries, settings=FIRST_ORDER,
                  state=member(spendable_points=155, claimed_keys=earned.member_after.claimed_keys))
    assert points_by_key(result) == {order_reversal_key(ORDER.order_id): -155}
    assert result.void and result.took_back


def test_an_order_edit_adds_or_takes_the_difference_once_per_edited_state():
    earned = plan()
    bigger = replace(ORDER, bases=replace(ORDER.bases, merchandise_minor=15000),
                     updated_at=ORDER.updated_at + timedelta(hours=1))
    [added] = plan(bigger, posted=earned.entries, state=member(spendable_points=110)).entries
    assert (added.cause_type, added.points, added.details["base_minor"]) == ("order_edit", 40, 15000)
    assert plan(bigger, posted=(*earned.entries, added)).entries == ()
    smaller = replace(bigger, bases=replace(ORDER.bases, merchandise_minor=9000),
                      updated_at=bigger.updated_at + timedelta(hours=1))
    [taken] = plan(smaller, posted=(*earned.entries, added), state=member(spendable_points=150)).entries
    assert (taken.points, taken.reverses_key) == (-60, order_earn_key(ORDER.order_id))


def test_an_edit_is_priced_by_the_program_the_order_earned_under():
    earned = plan(settings={"earning": {"points_per_unit": "2"}})
    bigger = replace(ORDER, bases=replace(ORDER.bases, merchandise_minor=12000))
    result = plan(bigger, posted=earned.entries, earned_under=parse_program({"earning": {"points_per_unit": "2"}}))
    assert [e.points for e in result.entries] == [20]


def test_a_blocked_member_gets_no_more_points_from_an_edit_but_loses_them_on_a_refund():
    earned = plan()
    bigger = replace(ORDER, bases=replace(ORDER.bases, merchandise_minor=15000), refunds=(REFUND,))
    result = plan(bigger, posted=earned.entries, state=member(blocked=True, spendable_points=110))
    assert [e.cause_type for e in result.entries] == ["refund"]


def test_history_without_points_settles_the_order_with_a_zero_point_entry():
    result = plan_history_order(replace(ORDER, refunds=(REFUND,)), 7, rules())
    [entry] = result.entries
    assert (entry.key, entry.kind, entry.points) == (order_earn_key(ORDER.order_id), EntryKind.IMPORT, 0)
    assert result.refunded_merchandise_minor == 5500
    # a later cancellation of the settled order takes nothing back
    assert plan(replace(ORDER, cancelled_at=NOW), posted=result.entries).entries == ()


REFERRALS = {"referrals": {"enabled": True, "referrer_points": 500}}
FRIEND = ReferralFacts(referral_id=31, referrer_member_id=8, source=None, referrer=Party(111, "sam@example.com", None),
                       referee=Party(ORDER.customer_id, "jordan@example.com", None), referee_has_ordered=False,
                       referrals_in_period=0)


def test_the_referees_first_earning_order_completes_the_referral_with_the_referrers_points():
    result = plan(state=member(referral=FRIEND), settings=REFERRALS)
    outcome = result.referral
    assert (outcome.facts, outcome.blocked_reason, outcome.referrer_points) == (FRIEND, None, 500)
    assert result.member_after.referral is None  # decided once: a later order of the batch leaves it alone


def test_an_order_that_earns_nothing_yet_leaves_the_referral_open():
    result = plan(state=member(referral=FRIEND), settings={**REFERRALS, "earning": {"trigger": "fulfilled"}})
    assert result.referral is None and result.member_after.referral == FRIEND


def test_a_referral_is_blocked_by_the_fraud_rules_and_the_minimum_first_order():
    self_referral = replace(FRIEND, referrer=Party(111, "Jordan@Example.com", None))
    assert plan(state=member(referral=self_referral), settings=REFERRALS).referral.blocked_reason == \
        "self-referral: same email address"
    customer_before = replace(FRIEND, referee_has_ordered=True)
    assert plan(state=member(referral=customer_before), settings=REFERRALS).referral.blocked_reason == \
        "the referee was already a customer"
    limited = {"referrals": {"enabled": True, "max_per_referrer": 2}}
    assert "limit of 2 referrals" in plan(state=member(referral=replace(FRIEND, referrals_in_period=2)),
                                          settings=limited).referral.blocked_reason
    minimum = {"referrals": {"enabled": True, "min_order_subtotal": "200"}}
    blocked = plan(state=member(referral=FRIEND), settings=minimum).referral
    assert blocked.referrer_points == 0 and blocked.blocked_reason.startswith("first order below the ")


def test_a_paused_referral_program_decides_nothing():
    assert plan(state=member(referral=FRIEND)).referral is None
