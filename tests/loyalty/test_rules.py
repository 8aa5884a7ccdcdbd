"""Clawback, tiers, actions, referrals and expiry rules (pure functions, fixed clock)."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app.loyalty.actions import claim_key
from app.loyalty.clawback import ClawbackSplit, limit_to_balance, refund_clawback_points
from app.loyalty.errors import ActionNotAllowed
from app.loyalty.expiry import add_months, fifo_expired_points
from app.loyalty.program import parse_program
from app.loyalty.referrals import Party, address_fingerprint, block_reason, normalise_email
from app.loyalty.tiers import decide_tier

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=timezone.utc)


def test_refund_of_half_the_order_claws_back_half_the_points():
    assert refund_clawback_points(110, 11000, 5500) == 55


def test_partial_refund_rounds_in_the_members_favour_and_never_exceeds_what_was_earned():
    assert refund_clawback_points(111, 11000, 5500) == 55
    assert refund_clawback_points(110, 11000, 99999) == 110
    assert refund_clawback_points(0, 11000, 5500) == 0


def test_clawback_limited_to_balance_records_the_shortfall_unless_negative_allowed():
    assert limit_to_balance(100, 30, allow_negative=False) == ClawbackSplit(taken=30, shortfall=70)
    assert limit_to_balance(100, -5, allow_negative=False) == ClawbackSplit(taken=0, shortfall=100)
    assert limit_to_balance(100, 30, allow_negative=True) == ClawbackSplit(taken=100, shortfall=0)


TIERS = parse_program({"tiers": {"enabled": True, "period": "calendar_year", "grace_days": 30}}).tiers


def test_upgrade_is_immediate_and_kept_until_period_end_plus_grace():
    decision = decide_tier(TIERS, current_key="bronze", current_until=None, metric=Decimal(1600), at=NOW)
    assert decision.tier_key == "gold" and decision.entered.key == "gold"
    assert decision.retained_until == datetime(2026, 1, 31, tzinfo=timezone.utc)


def test_no_downgrade_mid_period_even_after_a_refund():
    until = datetime(2026, 1, 31, tzinfo=timezone.utc)
    decision = decide_tier(TIERS, current_key="gold", current_until=until, metric=Decimal(10), at=NOW,
                           after_refund=True)
    assert decision.tier_key == "gold" and decision.retained_until == until


def test_downgrade_at_period_end_to_the_tier_the_activity_supports():
    until = datetime(2026, 1, 31, tzinfo=timezone.utc)
    decision = decide_tier(TIERS, current_key="gold", current_until=until, metric=Decimal(600), at=until)
    assert decision.tier_key == "silver" and decision.entered is None


def test_owner_can_allow_downgrade_on_refund():
    tiers = parse_program({"tiers": {"enabled": True, "downgrade_on_refund": True}}).tiers
    decision = decide_tier(tiers, current_key="gold", current_until=None, metric=Decimal(600), at=NOW,
                           after_refund=True)
    assert decision.tier_key == "silver"


def test_lifetime_tiers_never_drop():
    tiers = parse_program({"tiers": {"enabled": True}}).tiers
    assert decide_tier(tiers, current_key="gold", current_until=None, metric=Decimal(0), at=NOW).tier_key == "gold"


def test_tiers_must_be_ordered():
    from app.loyalty.errors import InvalidInput
    with pytest.raises(InvalidInput) as caught:
        parse_program({"tiers": {"levels": [{"key": "a", "name": "A", "threshold": 10},
                                            {"key": "b", "name": "B", "threshold": 5}]}})
    assert "lowest to highest" in caught.value.fields["tiers.levels"]


PROGRAM = parse_program({"actions": {
    "birthday": {"enabled": True, "points": 200, "limit": "once_per_year"},
    "product_review": {"enabled": True, "points": 50, "limit": "per_period", "max_per_period": 2, "period_days": 30},
    "social_follow": {"enabled": True, "points": 25, "networks": {"instagram": "https://instagram.com/maple"}}}})


def test_action_keys_encode_their_limits():
    assert claim_key(PROGRAM, 7, "signup", at=NOW) == "member:7:action:signup"
    assert claim_key(PROGRAM, 7, "birthday", at=NOW) == "member:7:action:birthday:2025"
    assert claim_key(PROGRAM, 7, "social_follow", at=NOW, ref="instagram") == "member:7:action:social_follow:instagram"
    assert claim_key(PROGRAM, 7, "product_review", at=NOW, ref="r-1") == "member:7:action:product_review:r-1"


def test_disabled_action_unknown_network_and_period_limit_are_refused():
    with pytest.raises(ActionNotAllowed, match="does not earn"):
        claim_key(PROGRAM, 7, "newsletter", at=NOW)
    with pytest.raises(ActionNotAllowed, match="instagram"):
        claim_key(PROGRAM, 7, "social_follow", at=NOW, ref="tiktok")
    recent = [NOW - timedelta(days=1), NOW - timedelta(days=2)]
    with pytest.raises(ActionNotAllowed, match="at most 2 every 30 days"):
        claim_key(PROGRAM, 7, "product_review", at=NOW, ref="r-3", previous_claims=recent)
    old = [NOW - timedelta(days=40), NOW - timedelta(days=2)]
    assert claim_key(PROGRAM, 7, "product_review", at=NOW, ref="r-3", previous_claims=old)


def test_referral_fraud_rules():
    ann = Party(1, "Ann.Smith+promo@gmail.com", address_fingerprint({"address1": "1 Main St", "zip": "M5J"}))
    ann_again = Party(2, "annsmith@gmail.com", None)
    same_house = Party(3, "bob@example.com", address_fingerprint({"address1": "1 MAIN ST.", "zip": "m5j"}))
    friend = Party(4, "friend@example.com", None)
    kwargs = dict(referee_already_referred=False, referee_has_ordered=False, referrals_in_period=0,
                  max_per_referrer=None, period_days=30)
    assert "same email" in block_reason(ann, ann_again, **kwargs)
    assert "same address" in block_reason(ann, same_house, **kwargs)
    assert "referee is the referrer" in block_reason(ann, Party(1, None, None), **kwargs)
    assert block_reason(ann, friend, **kwargs) is None
    assert "already a customer" in block_reason(ann, friend, **{**kwargs, "referee_has_ordered": True})
    assert "limit of 3" in block_reason(ann, friend, **{**kwargs, "referrals_in_period": 3, "max_per_referrer": 3})
    assert normalise_email("J.Doe+x@GoogleMail.com") == "jdoe@gmail.com"


def test_fifo_expiry_takes_only_unspent_old_points():
    assert fifo_expired_points(lots_due=300, debits=100, balance=500) == 200
    assert fifo_expired_points(lots_due=300, debits=400, balance=500) == 0
    assert fifo_expired_points(lots_due=300, debits=0, balance=120) == 120


def test_add_months_clamps_to_month_end():
    assert add_months(datetime(2025, 1, 31, tzinfo=timezone.utc), 1) == datetime(2025, 2, 28, tzinfo=timezone.utc)
    assert add_months(datetime(2025, 3, 15, tzinfo=timezone.utc), -12).year == 2024
