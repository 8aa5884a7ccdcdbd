"""Points expiry: never, after N months of inactivity, or N months after earning (FIFO lots)."""
from __future__ import annotations

import calendar
from datetime import datetime

from app.loyalty.program import ExpirySettings


def add_months(at: datetime, months: int) -> datetime:
    month_index = at.month - 1 + months
    year, month = at.year + month_index // 12, month_index % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def lot_expiry(settings: ExpirySettings, earned_at: datetime) -> datetime | None:
    """When points earned at `earned_at` expire under an after-earning policy."""
    return add_months(earned_at, settings.months) if settings.policy == "after_earning" else None


def fifo_expired_points(*, lots_due: int, debits: int, balance: int) -> int:
    """Points to expire now under FIFO: spending consumes the oldest lots first, so of the lots
    past their date (`lots_due`, the oldest ones), what total debits so far (redemptions,
    clawbacks, earlier expiries) did not consume is still there - capped by the balance."""
    return max(0, min(lots_due - debits, balance))


def describe_policy(settings: ExpirySettings) -> str:
    if settings.policy == "inactivity":
        return f"Points expire after {settings.months} months without earning or spending."
    if settings.policy == "after_earning":
        return f"Points expire {settings.months} months after they are earned (oldest first)."
    return "Points never expire."
