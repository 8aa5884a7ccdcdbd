"""Lifecycle stages: where a customer is in their life with the shop.

The rule (issue 17), with "paid order" meaning paid, not cancelled, not refunded in full and not
a test order:
- no paid order: `engagement` if the customer has a store account or is enrolled in the program
  (any ledger entry, e.g. signup points), else `awareness`;
- otherwise, by whole days since the last paid order was placed: at least `lapsed_days`
  (default 180) -> `lapsed`; at least `at_risk_days` (default 90) -> `at_risk`; else 2 or more
  paid orders -> `loyalty`, exactly 1 -> `conversion`.

services/member_metrics.py applies the same rule set-based in SQL for a whole shop; a test proves
the two agree.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.loyalty.wording import Reason, reason

STAGES = ("awareness", "engagement", "conversion", "loyalty", "at_risk", "lapsed")
# The funnel a new customer goes through, in order (at_risk and lapsed are the way out).
FUNNEL = ("awareness", "engagement", "conversion", "loyalty")


class LifecycleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    at_risk_days: int = Field(90, ge=1, le=3650)
    lapsed_days: int = Field(180, ge=2, le=3650)

    @model_validator(mode="after")
    def _at_risk_before_lapsed(self):
        if self.at_risk_days >= self.lapsed_days:
            raise ValueError("at_risk_days must be fewer than lapsed_days (e.g. 90 and 180)")
        return self


class WinBackSettings(BaseModel):
    """A one-time bonus for members entering at_risk, at most once per cool-down per member."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = False
    points: int = Field(200, ge=1, le=1_000_000)
    cool_down_days: int = Field(180, ge=1, le=3650)
    # A catalog reward given as a free code with the bonus (services/win_back_rewards.py).
    reward_id: int | None = None


def lifecycle_stage(*, paid_orders: int, last_paid_order_at: datetime | None, engaged: bool, now: datetime,
                    settings: LifecycleSettings) -> str:
    """The stage by the rule above; `engaged`: has a store account or is enrolled."""
    if paid_orders == 0 or last_paid_order_at is None:
        return "engagement" if engaged else "awareness"
    since = now - last_paid_order_at
    if since >= timedelta(days=settings.lapsed_days):
        return "lapsed"
    if since >= timedelta(days=settings.at_risk_days):
        return "at_risk"
    return "loyalty" if paid_orders >= 2 else "conversion"


def stage_boundaries(now: datetime, settings: LifecycleSettings) -> tuple[datetime, datetime]:
    """(lapsed before, at risk before): a last paid order placed at or before these moments."""
    return now - timedelta(days=settings.lapsed_days), now - timedelta(days=settings.at_risk_days)


def win_back_outcome(settings: WinBackSettings, *, blocked: bool, granted_within_cool_down: bool) -> str:
    """What the automation does for a member entering at_risk: `granted`, or why not reached
    (`off`, `cool_down`, `blocked`)."""
    if not settings.enabled:
        return "off"
    if blocked:
        return "blocked"
    return "cool_down" if granted_within_cool_down else "granted"


def win_back_reason(points: int, at_risk_days: int) -> Reason:
    return reason("win_back.bonus", days=at_risk_days, points=points)
