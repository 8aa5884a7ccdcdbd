"""Challenges: reach a goal within a window, for points or a reward.

Kinds: `orders` (paid orders), `spend` (money spent on paid orders, exact, in the shop's
currency), `referrals` (friends whose first order completed the referral), `reviews` (product
reviews rewarded). The window is either rolling, `days` long from the member's first qualifying
event (the next event after a window ends opens a new one), or fixed, `starts_at` to `ends_at`.

This generalises the older "N orders in D days" streak bonus (program.actions.order_streak),
which keeps working as it was: an `orders` challenge with `days` is the same idea, for owners
who also want it shown as a challenge with progress.

Refunds: an order-completed challenge's bonus carries the order id, so cancelling the order or
refunding it in full takes the bonus back with the order's own points (the settlement's
reversal, limited like it to what the member still has once the points vested). A partial
refund keeps the challenge completed.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.loyalty.money import format_money, to_minor
from app.loyalty.wording import Reason, reason

KINDS = ("orders", "spend", "referrals", "reviews")
# A completion reported a little after its window closed (a late webhook) still counts.
LATE_GRACE = timedelta(days=1)


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Challenge(_Settings):
    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=80)
    kind: Literal["orders", "spend", "referrals", "reviews"]
    # A count for orders, referrals and reviews; money in the shop's currency for spend.
    goal: Decimal = Field(gt=0, le=10_000_000)
    days: int | None = Field(None, ge=1, le=3660)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    reward_points: int = Field(0, ge=0, le=1_000_000)
    reward_id: int | None = Field(None, ge=1)
    active: bool = True

    @model_validator(mode="after")
    def _check(self):
        fixed = self.starts_at is not None or self.ends_at is not None
        if (self.days is None) == (not fixed):
            raise ValueError("set either days (a rolling window) or starts_at and ends_at, not both")
        if fixed:
            if self.starts_at is None or self.ends_at is None:
                raise ValueError("a fixed window needs both starts_at and ends_at")
            if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
                raise ValueError("starts_at and ends_at need a timezone (e.g. 2026-12-01T00:00:00Z)")
            if self.ends_at <= self.starts_at:
                raise ValueError("ends_at must be after starts_at")
        if self.kind != "spend" and self.goal != self.goal.to_integral_value():
            raise ValueError("goal must be a whole number for orders, referrals and reviews")
        if not self.reward_points and self.reward_id is None:
            raise ValueError("set reward_points, reward_id, or both")
        return self

    def goal_units(self, currency: str) -> int:
        """The goal in what events carry: a count, or minor units of money for spend."""
        return to_minor(self.goal, currency) if self.kind == "spend" else int(self.goal)


class ChallengeSettings(_Settings):
    enabled: bool = False
    challenges: list[Challenge] = Field(default_factory=list, max_length=50)

    @field_validator("challenges")
    @classmethod
    def _unique(cls, challenges: list[Challenge]) -> list[Challenge]:
        keys = [c.key for c in challenges]
        if len(set(keys)) != len(keys):
            raise ValueError("challenge keys must be unique")
        return challenges

    def running(self) -> list[Challenge]:
        return [c for c in self.challenges if c.active] if self.enabled else []


@dataclass(frozen=True)
class QualifyingEvent:
    at: datetime
    amount: int  # 1 per order, referral or review; minor units for spend
    order_id: int | None = None


@dataclass(frozen=True)
class Window:
    start: datetime
    ends_at: datetime
    progress: int
    completed_at: datetime | None = None
    completed_by: QualifyingEvent | None = None


def windows(challenge: Challenge, events: Iterable[QualifyingEvent], goal: int) -> list[Window]:
    """Each window the events open, with its progress and the event that reached the goal."""
    ordered = sorted(events, key=lambda e: e.at)
    if challenge.days is None:
        inside = [e for e in ordered if challenge.starts_at <= e.at < challenge.ends_at]
        return [_fill(challenge.starts_at, challenge.ends_at, inside, goal)]
    found, current = [], []
    for event in ordered:
        if current and event.at >= current[0].at + timedelta(days=challenge.days):
            found.append(_fill(current[0].at, current[0].at + timedelta(days=challenge.days), current, goal))
            current = []
        current.append(event)
    if current:
        found.append(_fill(current[0].at, current[0].at + timedelta(days=challenge.days), current, goal))
    return found


def _fill(start: datetime, ends_at: datetime, events: list[QualifyingEvent], goal: int) -> Window:
    progress = 0
    for event in events:
        progress += event.amount
        if progress >= goal:
            return Window(start, ends_at, sum(e.amount for e in events), event.at, event)
    return Window(start, ends_at, progress)


def current_window(challenge: Challenge, found: list[Window], *, now: datetime) -> Window | None:
    """The window the member is in now: the fixed one while it runs, the newest rolling one until
    it ends; None before a fixed window opens, after it closes, or between rolling windows."""
    if challenge.days is None and not challenge.starts_at <= now < challenge.ends_at:
        return None
    newest = found[-1] if found else None
    if newest is None or now >= newest.ends_at:
        return Window(challenge.starts_at, challenge.ends_at, 0) if challenge.days is None else None
    return newest


def completions_due(found: list[Window], *, now: datetime) -> list[Window]:
    """Completed windows still open (or only just closed): a challenge switched on later does not
    pay for windows completed long ago."""
    return [w for w in found if w.completed_at is not None and now < w.ends_at + LATE_GRACE]


def challenge_reason(challenge: Challenge, currency: str) -> Reason:
    return reason("challenge.completed", challenge=challenge.name, goal=challenge_goal(challenge, currency),
                  points=challenge.reward_points)


def challenge_goal(challenge: Challenge, currency: str) -> Reason:
    """"$100.00 spent within 30 days", "3 orders by 2026-12-31": the goal as words of the catalogue."""
    goal = challenge.goal_units(currency)
    amount = {"amount": format_money(goal, currency)} if challenge.kind == "spend" else {"count": goal}
    if challenge.days:
        return reason(f"challenge.{challenge.kind}_within", days=challenge.days, **amount)
    return reason(f"challenge.{challenge.kind}_by", date=f"{challenge.ends_at:%Y-%m-%d}", **amount)
