"""Charity: members give points to a cause the shop supports; the shop pays the cause the points'
money value (set by the owner) and, optionally, matches a percentage of it.

Money is exact: value = points / points_per_unit units of the shop's currency, rounded down to
a minor unit (the cause is never promised a fraction of a cent that cannot be paid); matching
is a percentage of that value, rounded down the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.loyalty.errors import InvalidInput
from app.loyalty.money import exponent, format_money
from app.loyalty.wording import Reason, reason


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Cause(_Settings):
    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=80)
    description: str = Field("", max_length=500)
    active: bool = True


class CharitySettings(_Settings):
    enabled: bool = False
    causes: list[Cause] = Field(default_factory=list, max_length=20)
    points_per_unit: int = Field(100, ge=1, le=1_000_000, description="points given for 1 unit of shop currency")
    matching_percent: Decimal = Field(Decimal("0"), ge=0, le=100)
    min_points: int = Field(100, ge=1, le=1_000_000)

    @field_validator("causes")
    @classmethod
    def _unique(cls, causes: list[Cause]) -> list[Cause]:
        keys = [c.key for c in causes]
        if len(set(keys)) != len(keys):
            raise ValueError("cause keys must be unique")
        return causes

    def active_causes(self) -> list[Cause]:
        return [c for c in self.causes if c.active] if self.enabled else []


@dataclass(frozen=True)
class DonationValue:
    cause: Cause
    points: int
    amount_minor: int
    matched_minor: int
    currency: str


def value_donation(settings: CharitySettings, cause_key, points, currency: str) -> DonationValue:
    """The cause and money a donation is worth, or InvalidInput saying what to change."""
    cause = next((c for c in settings.active_causes() if c.key == cause_key), None)
    if cause is None:
        raise InvalidInput("Choose one of the causes the store supports.",
                           {"cause": ", ".join(c.key for c in settings.active_causes()) or "no causes open"})
    if isinstance(points, bool) or not isinstance(points, int) or not settings.min_points <= points <= 10_000_000:
        raise InvalidInput(f"Give at least {settings.min_points} points.",
                           {"points": f"a whole number from {settings.min_points}"})
    amount = _floor_minor(Decimal(points) / settings.points_per_unit, currency)
    matched = _floor_minor(Decimal(amount) * settings.matching_percent / 100 / 10 ** exponent(currency), currency)
    return DonationValue(cause, points, amount, matched, currency)


def _floor_minor(units: Decimal, currency: str) -> int:
    return int((units * 10 ** exponent(currency)).to_integral_value(rounding=ROUND_FLOOR))


def donation_reason(value: DonationValue) -> Reason:
    amount = format_money(value.amount_minor, value.currency)
    if value.matched_minor:
        return reason("donation.given_matched", cause=value.cause.name, amount=amount, points=value.points,
                      matched=format_money(value.matched_minor, value.currency))
    return reason("donation.given", cause=value.cause.name, amount=amount, points=value.points)
