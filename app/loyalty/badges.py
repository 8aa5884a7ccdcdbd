"""Badges: milestones a member reaches by counting what they did (orders, referrals, reviews,
actions, days as a member), each earned once, some with bonus points.

A badge rule is `{"key", "name", "action", "count", "bonus_points"}`: earned when the member's
count of `action` reaches `count`. The counts are the services' business (orders paid and not
cancelled, referrals completed, action entries in the ledger); deciding is done here.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.loyalty.wording import Reason, reason

# Counted by the services from their own tables; actions count their ledger entries.
COUNTED_FACTS = ("orders", "referrals", "birthday_set", "membership_days")
# The program's actions (loyalty/actions.py, which imports the program this module is part of),
# but the order bonuses: they are not things a member does apart from ordering.
COUNTED_ACTIONS = ("signup", "birthday", "newsletter", "social_follow", "social_share", "product_review",
                   "profile_completion")
COUNTABLE = COUNTED_FACTS + COUNTED_ACTIONS
# Whose count grows with time, or with a profile fact that may arrive without an event of ours
# (a birthday set elsewhere): the periodic catch-up awards them.
CAUGHT_UP = ("membership_days", "birthday_set")


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class BadgeRule(_Settings):
    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=80)
    action: str
    count: int = Field(1, ge=1, le=100_000)
    bonus_points: int = Field(0, ge=0, le=1_000_000)

    @field_validator("action")
    @classmethod
    def _countable(cls, value: str) -> str:
        if value not in COUNTABLE:
            raise ValueError(f"count one of: {', '.join(COUNTABLE)}")
        return value


def _default_rules() -> list[BadgeRule]:
    return [BadgeRule(key="first-order", name="First order", action="orders", count=1),
            BadgeRule(key="five-orders", name="Regular", action="orders", count=5, bonus_points=100),
            BadgeRule(key="three-referrals", name="Ambassador", action="referrals", count=3, bonus_points=150),
            BadgeRule(key="birthday-set", name="Party planner", action="birthday_set", count=1),
            BadgeRule(key="first-review", name="Critic", action="product_review", count=1),
            BadgeRule(key="one-year", name="One year with us", action="membership_days", count=365,
                      bonus_points=100)]


class BadgeSettings(_Settings):
    enabled: bool = False
    rules: list[BadgeRule] = Field(default_factory=_default_rules, max_length=50)

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[BadgeRule]) -> list[BadgeRule]:
        keys = [r.key for r in rules]
        if len(set(keys)) != len(keys):
            raise ValueError("badge keys must be unique")
        return rules

    def counted_actions(self) -> set[str]:
        return {r.action for r in self.rules}


@dataclass(frozen=True)
class BadgeProgress:
    key: str
    name: str
    action: str
    progress: int
    goal: int
    bonus_points: int


def badges_due(settings: BadgeSettings, counts: Mapping[str, int], earned: set[str]) -> list[BadgeRule]:
    """The badges the counts reach and the member does not hold yet."""
    if not settings.enabled:
        return []
    return [r for r in settings.rules if r.key not in earned and counts.get(r.action, 0) >= r.count]


def next_badges(settings: BadgeSettings, counts: Mapping[str, int], earned: set[str],
                limit: int = 3) -> list[BadgeProgress]:
    """Badges still to earn, closest to done first, so the widget shows what is within reach."""
    if not settings.enabled:
        return []
    open_rules = [r for r in settings.rules if r.key not in earned]
    ahead = [BadgeProgress(r.key, r.name, r.action, min(counts.get(r.action, 0), r.count), r.count, r.bonus_points)
             for r in open_rules]
    return sorted(ahead, key=lambda b: (b.goal - b.progress) / b.goal)[:limit]


def badge_reason(rule: BadgeRule) -> Reason:
    return reason("badge.earned", badge=rule.name, points=rule.bonus_points)
