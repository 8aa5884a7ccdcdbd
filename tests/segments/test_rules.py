"""The pure rules: RFM grid and quintiles, lifecycle settings, audiences (no database)."""
import pytest

from app.loyalty.errors import InvalidInput
from app.loyalty.program import parse_program
from app.loyalty.rfm import SEGMENTS, quintile_score, rfm_segment
from app.loyalty.segments import MemberAudience, customer_tags_text, in_audience, parse_segment


def test_every_rfm_score_combination_has_exactly_one_named_segment():
    named = {rfm_segment(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)}
    assert named == set(SEGMENTS)
    assert (rfm_segment(5, 5, 5), rfm_segment(1, 1, 1), rfm_segment(5, 1, 1), rfm_segment(1, 5, 5)) == (
        "champions", "lost", "new", "cannot_lose")


def test_the_best_customer_scores_5_and_equal_values_score_alike():
    assert [quintile_score(k, 10) for k in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quintile_score(2, 2) == 5 and quintile_score(1, 1) == 5
    with pytest.raises(ValueError):
        quintile_score(0, 3)


def test_the_at_risk_days_must_be_fewer_than_the_lapsed_days():
    with pytest.raises(InvalidInput) as problem:
        parse_program({"lifecycle": {"at_risk_days": 200, "lapsed_days": 180}})
    assert "at_risk_days must be fewer than lapsed_days" in problem.value.fields["lifecycle"]
    assert parse_program({}).lifecycle.lapsed_days == 180 and parse_program({}).lifecycle.at_risk_days == 90


def test_an_empty_audience_is_everyone_and_a_restricted_one_needs_a_match():
    member = MemberAudience("at_risk", frozenset({7}))
    assert in_audience(None, segment_ids=None, lifecycle_stages=[])
    assert in_audience(member, segment_ids=[3], lifecycle_stages=["at_risk"])
    assert in_audience(member, segment_ids=[7], lifecycle_stages=None)
    assert not in_audience(member, segment_ids=[3], lifecycle_stages=["loyalty"])
    assert not in_audience(None, segment_ids=[7], lifecycle_stages=None)


def test_conditions_are_normalised_when_valid():
    rule = parse_segment({"name": " VIPs ", "conditions": [
        {"field": "customer_tags", "op": "contains", "value": "VIP"},
        {"field": "last_order_at", "op": "gte", "value": "2026-01-31"},
        {"field": "country", "op": "in", "value": ["ca", "us", "CA"]}]})
    assert (rule.name, rule.match) == ("VIPs", "all")
    assert rule.conditions_json() == [{"field": "customer_tags", "op": "contains", "value": "vip"},
                                      {"field": "last_order_at", "op": "gte", "value": "2026-01-31T00:00:00Z"},
                                      {"field": "country", "op": "in", "value": ["CA", "US"]}]


def test_shopify_tags_are_stored_once_each_without_blanks():
    assert customer_tags_text("vip,  wholesale, ,vip") == "vip, wholesale"
    assert customer_tags_text(["a", "b"]) == "a, b" and customer_tags_text(None) is None
