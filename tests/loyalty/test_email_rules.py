"""The email rules without a database: consent, the daily cap, backoff, reward crossings,
languages and the owner's settings."""
from datetime import date, datetime, timedelta, timezone

import pytest

from app.loyalty.emails import (MAX_ATTEMPTS, MailSettings, MessageKind, birthday_today, choose_within_cap,
                                member_locale, retry_at, rewards_newly_within_reach, suppression_reason, tier_rises)
from app.loyalty.errors import InvalidInput
from app.loyalty.program import parse_program

NOW = datetime(2025, 2, 14, 15, 0, tzinfo=timezone.utc)


def test_backoff_doubles_from_a_minute_up_to_six_hours_then_gives_up():
    waits = [retry_at(n, NOW) - NOW for n in range(1, MAX_ATTEMPTS)]
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(waits) <= timedelta(hours=6)
    assert retry_at(MAX_ATTEMPTS, NOW) is None


def test_the_cap_keeps_the_most_important_and_never_drops_a_code():
    kinds = [MessageKind.POINTS_EARNED, MessageKind.TIER_REACHED, MessageKind.CODE_ISSUED, MessageKind.REWARD_READY]
    send, drop = choose_within_cap(kinds, sent_today=0, cap=1)
    assert sorted(kinds[i] for i in send) == sorted([MessageKind.CODE_ISSUED, MessageKind.REWARD_READY])
    assert choose_within_cap(kinds, sent_today=1, cap=1)[0] == [2]


def test_consent_withdrawn_leaves_only_what_the_member_asked_for():
    def reason(kind, **kw):
        return suppression_reason(kind, **{"accepts_marketing": False, "unsubscribed": False, "has_email": True, **kw})
    assert reason(MessageKind.CODE_ISSUED) is None
    assert "marketing" in reason(MessageKind.BIRTHDAY)
    assert "unsubscribed" in reason(MessageKind.CODE_ISSUED, unsubscribed=True)
    assert "no email" in reason(MessageKind.CODE_ISSUED, has_email=False)


def test_a_reward_is_reached_once_until_the_balance_falls_below_it_again():
    costs = {1: 500, 2: 1000}
    assert rewards_newly_within_reach(600, costs, set()) == ([1], [])
    assert rewards_newly_within_reach(1200, costs, {1}) == ([2], [])
    assert rewards_newly_within_reach(700, costs, {1, 2}) == ([], [2])
    assert rewards_newly_within_reach(1500, costs, set()) == ([2, 1], []), "the most valuable first"


def test_only_a_move_up_the_ladder_is_a_tier_reached():
    levels = ["bronze", "silver", "gold"]
    assert tier_rises(levels, None, "bronze") and tier_rises(levels, "bronze", "gold")
    assert not tier_rises(levels, "gold", "silver") and not tier_rises(levels, "gold", None)


@pytest.mark.parametrize("shopify_locale, language", [("fr-CA", "fr"), ("pt-BR", "en"), ("DE", "de"),
                                                      (None, "en"), ("ro_RO", "ro")])
def test_the_customers_shopify_locale_picks_the_language(shopify_locale, language):
    assert member_locale(shopify_locale) == language


def test_leap_day_birthdays_are_celebrated_on_the_28th_in_other_years():
    assert birthday_today(date(2000, 2, 29), date(2025, 2, 28))
    assert not birthday_today(date(2000, 2, 29), date(2024, 2, 28))


def test_the_sender_name_is_one_plain_line():
    with pytest.raises(InvalidInput) as refused:
        parse_program({"mail": {"sender_name": "Rewards\r\nBcc: everyone@example.com"}})
    assert "mail.sender_name" in refused.value.fields


def test_settings_for_some_messages_keep_the_defaults_of_the_others():
    settings = MailSettings.model_validate({"messages": {"birthday": {"enabled": False}}})
    assert not settings.messages[MessageKind.BIRTHDAY].enabled
    assert settings.messages[MessageKind.REWARD_READY].enabled and not settings.messages[MessageKind.POINTS_EARNED].enabled
