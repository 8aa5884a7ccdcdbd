"""The games and giving rules without a database: badges, challenge windows, NPS/CSAT, donations."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app.loyalty.actions import ACTION_LABELS
from app.loyalty.badges import COUNTED_ACTIONS, BadgeSettings, badges_due, next_badges
from app.loyalty.challenges import Challenge, QualifyingEvent, completions_due, current_window, windows
from app.loyalty.charity import CharitySettings, value_donation
from app.loyalty.errors import InvalidInput
from app.loyalty.feedback import FeedbackSettings, read_answer, scores
from app.loyalty.program import parse_program

T0 = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


# ---- badges ------------------------------------------------------------------------------------

def test_badges_are_due_when_the_count_reaches_them_and_only_if_not_held():
    settings = BadgeSettings(enabled=True)
    due = badges_due(settings, {"orders": 5, "referrals": 2}, earned={"first-order"})
    assert [b.key for b in due] == ["five-orders"]


def test_no_badge_is_due_while_badges_are_off():
    assert badges_due(BadgeSettings(), {"orders": 99}, earned=set()) == []


def test_next_badges_are_the_closest_to_done_first():
    ahead = next_badges(BadgeSettings(enabled=True), {"orders": 4, "membership_days": 10}, earned={"first-order"})
    assert [(b.key, b.progress, b.goal) for b in ahead][:1] == [("five-orders", 4, 5)]


def test_badge_rules_count_only_known_things_and_keys_are_unique():
    with pytest.raises(InvalidInput) as problem:
        parse_program({"badges": {"rules": [{"key": "x", "name": "X", "action": "hugs", "count": 1}]}})
    assert "badges.rules.0.action" in problem.value.fields
    with pytest.raises(InvalidInput):
        parse_program({"badges": {"rules": [{"key": "x", "name": "X", "action": "orders"}] * 2}})


def test_every_program_action_but_the_order_bonuses_can_be_counted_by_a_badge():
    assert set(COUNTED_ACTIONS) == set(ACTION_LABELS) - {"first_order", "order_streak"}


# ---- challenges ----------------------------------------------------------------------------------

def rolling(goal=3, days=30, **extra) -> Challenge:
    return Challenge(key="c", name="C", kind="orders", goal=goal, days=days, reward_points=10, **extra)


def test_rolling_window_starts_at_the_first_qualifying_event_and_completes_at_the_goal():
    events = [QualifyingEvent(at(d), 1, i) for i, d in enumerate((0, 10, 20))]
    [window] = windows(rolling(), events, 3)
    assert (window.start, window.ends_at, window.completed_at) == (at(0), at(30), at(20))
    assert window.completed_by.order_id == 2


def test_an_event_after_the_window_opens_a_new_one_and_the_old_progress_is_lost():
    events = [QualifyingEvent(at(d), 1) for d in (0, 10, 31)]
    first, second = windows(rolling(), events, 3)
    assert (first.progress, first.completed_at, second.start, second.progress) == (2, None, at(31), 1)


def test_between_rolling_windows_there_is_no_current_window():
    found = windows(rolling(), [QualifyingEvent(at(0), 1)], 3)
    assert current_window(rolling(), found, now=at(5)).progress == 1
    assert current_window(rolling(), found, now=at(31)) is None


def test_completions_long_closed_are_not_paid_when_a_challenge_is_switched_on_later():
    found = windows(rolling(goal=1), [QualifyingEvent(at(0), 1)], 1)
    assert completions_due(found, now=at(10)) == found
    assert completions_due(found, now=at(40)) == []


def test_fixed_window_counts_only_events_between_its_dates():
    fixed = Challenge(key="f", name="F", kind="spend", goal=Decimal("50.00"), starts_at=at(0), ends_at=at(10),
                      reward_points=5)
    [window] = windows(fixed, [QualifyingEvent(at(-1), 4000), QualifyingEvent(at(1), 3000),
                               QualifyingEvent(at(2), 2000)], fixed.goal_units("EUR"))
    assert (window.progress, window.completed_at) == (5000, at(2))
    assert current_window(fixed, [window], now=at(11)) is None


@pytest.mark.parametrize("settings,field", [
    ({"key": "a", "name": "A", "kind": "orders", "goal": 2, "reward_points": 5}, "days"),
    ({"key": "a", "name": "A", "kind": "orders", "goal": "2.5", "days": 3, "reward_points": 5}, "whole"),
    ({"key": "a", "name": "A", "kind": "orders", "goal": 2, "days": 3}, "reward"),
    ({"key": "a", "name": "A", "kind": "orders", "goal": 2, "starts_at": "2026-01-02T00:00:00Z",
      "ends_at": "2026-01-01T00:00:00Z", "reward_points": 5}, "after"),
])
def test_challenge_settings_that_cannot_work_are_refused_with_a_reason(settings, field):
    with pytest.raises(InvalidInput) as problem:
        parse_program({"challenges": {"enabled": True, "challenges": [settings]}})
    assert field in " ".join(problem.value.fields.values())


# ---- feedback ------------------------------------------------------------------------------------

def test_nps_is_promoters_minus_detractors_and_csat_the_share_of_4_and_5():
    result = scores([(10, 5), (9, 4), (8, 3), (6, 2), (0, 5)])
    assert (result.promoters, result.passives, result.detractors) == (2, 1, 2)
    assert (result.nps, result.csat) == (Decimal("0.0"), Decimal("60.0"))
    assert scores([]).nps is None


@pytest.mark.parametrize("nps,csat,comment", [(-1, 3, None), (11, 3, None), (5, 6, None), (True, 3, None),
                                              (5.5, 3, None), (5, 3, "x" * 1001), (5, 3, 7)])
def test_answers_out_of_range_are_refused(nps, csat, comment):
    with pytest.raises(InvalidInput):
        read_answer(FeedbackSettings(), nps, csat, comment)


def test_an_empty_comment_is_no_comment():
    assert read_answer(FeedbackSettings(), 7, 3, "   ").comment is None


# ---- charity -------------------------------------------------------------------------------------

def charity(**extra) -> CharitySettings:
    return CharitySettings(enabled=True, causes=[{"key": "trees", "name": "Trees"},
                                                 {"key": "gone", "name": "Gone", "active": False}], **extra)


def test_donation_value_is_exact_and_rounded_down_to_a_minor_unit_and_matching_on_top():
    value = value_donation(charity(points_per_unit=3, matching_percent=Decimal("33.3")), "trees", 100, "USD")
    assert (value.amount_minor, value.matched_minor) == (3333, 1109)  # $33.33; 33.3 % of it = $11.099..
    assert value_donation(charity(points_per_unit=1), "trees", 150, "JPY").amount_minor == 150


@pytest.mark.parametrize("cause,points", [("gone", 100), ("nope", 100), ("trees", 99), ("trees", "100"),
                                          ("trees", True)])
def test_donations_to_inactive_causes_or_with_bad_points_are_refused(cause, points):
    with pytest.raises(InvalidInput):
        value_donation(charity(), cause, points, "USD")
