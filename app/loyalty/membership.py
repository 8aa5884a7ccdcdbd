"""Paid membership: a Shopify product variant the owner sells as "VIP Club, 12 months".

Chosen shape: a membership is its own record (models.PaidMembership) that sits *next to* the
earned tier rather than being a tier level. The earned tier follows activity and is recomputed
hourly; a paid membership follows money and ends on a date. Keeping them apart means neither
rule rewrites the other: a Gold member who buys the club keeps Gold and gets the club's perks
on top (its points multiplier multiplies the tier's), and a refund of the club never touches
the tier.

Each paid order line of the membership variant adds `months x quantity` to the membership,
starting from its current end if it is still running (a renewal stacks), or from the payment.
A refund of the line gives back the refunded months; a cancellation (or a full refund) of the
order takes back everything that order added. Each grant is recorded once per order, so a
renewal order delivered twice (orders/paid, then orders/updated) stacks once.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

VARIANT_GID = r"^gid://shopify/ProductVariant/[0-9]+$"


class MembershipSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = False
    name: str = Field("VIP Club", min_length=1, max_length=60)
    variant_id: str | None = Field(None, pattern=VARIANT_GID, description="the variant sold as the membership")
    months: int = Field(12, ge=1, le=120, description="months one unit of the variant buys")
    points_multiplier: Decimal = Field(Decimal("1"), ge=1, le=20)
    monthly_free_shipping: bool = False

    @model_validator(mode="after")
    def _variant_when_enabled(self):
        if self.enabled and not self.variant_id:
            raise ValueError("pick the product variant sold as the membership (variant_id) before enabling it")
        return self

    @property
    def variant_number(self) -> int | None:
        return int(self.variant_id.rsplit("/", 1)[-1]) if self.variant_id else None


def add_months(start: datetime, months: int) -> datetime:
    """The same day and time `months` later (the month's last day when it is shorter)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def membership_months(variant_quantities: dict[int, int], settings: MembershipSettings) -> int:
    """Months a paid order buys: months per unit x units of the membership variant."""
    variant = settings.variant_number
    return settings.months * variant_quantities.get(variant, 0) if variant else 0


def extended_end(current_end: datetime | None, paid_at: datetime, months: int) -> datetime:
    """A renewal stacks on a membership still running; a lapsed one starts again at payment."""
    start = current_end if current_end is not None and current_end > paid_at else paid_at
    return add_months(start, months)


@dataclass(frozen=True)
class Grant:
    order_id: int
    months: int  # months still granted by this order (after refunded months)


def membership_end(grants: list[Grant], first_start: datetime | None) -> datetime | None:
    """The end of a membership made of consecutive grants from `first_start`; None if empty."""
    months = sum(g.months for g in grants if g.months > 0)
    if first_start is None or months <= 0:
        return None
    return add_months(first_start, months)


def is_member(ends_at: datetime | None, at: datetime) -> bool:
    return ends_at is not None and ends_at > at


def earning_multiplier(settings: MembershipSettings, *, member: bool) -> Decimal:
    """The planner's fact: a paying member's points are multiplied (on top of the tier)."""
    return settings.points_multiplier if settings.enabled and member else Decimal(1)


def refunded_months(refunded_units: int, settings: MembershipSettings) -> int:
    return refunded_units * settings.months


def shipping_month_key(member_id: int, at: datetime) -> str:
    """One free-shipping code per member and calendar month of membership."""
    return f"member:{member_id}:membership:free-shipping:{at:%Y%m}"
