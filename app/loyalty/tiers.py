"""VIP tiers: which tier a member's activity qualifies for, and when a tier may change.

Upgrades happen as soon as a threshold is crossed. A tier is kept until the end of its
qualification period (plus the grace period), so a member never drops mid-period - not even
because of a refund, unless the owner turned `downgrade_on_refund` on.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from app.loyalty.program import Tier, TierSettings


def period_start(settings: TierSettings, at: datetime) -> datetime | None:
    """Start of the window the metric is measured over (None = all time)."""
    if settings.period == "calendar_year":
        return datetime(at.year, 1, 1, tzinfo=timezone.utc)
    if settings.period == "rolling_12_months":
        return at - timedelta(days=365)
    return None


def retained_until(settings: TierSettings, at: datetime) -> datetime | None:
    """How long a tier reached (or confirmed) at `at` is kept (None = for good)."""
    if settings.period == "calendar_year":
        end = datetime(at.year + 1, 1, 1, tzinfo=timezone.utc)
    elif settings.period == "rolling_12_months":
        end = at + timedelta(days=365)
    else:
        return None
    return end + timedelta(days=settings.grace_days)


def qualifying_tier(settings: TierSettings, metric: Decimal) -> Tier | None:
    reached = [t for t in settings.levels if metric >= t.threshold]
    return reached[-1] if reached else None


def _rank(settings: TierSettings, key: str | None) -> int:
    keys = [t.key for t in settings.levels]
    return keys.index(key) if key in keys else -1


@dataclass(frozen=True)
class TierDecision:
    tier_key: str | None
    retained_until: datetime | None
    entered: Tier | None  # set when the member moved up into this tier now


def decide_tier(settings: TierSettings, *, current_key: str | None, current_until: datetime | None,
                metric: Decimal, at: datetime, after_refund: bool = False) -> TierDecision:
    if not settings.enabled:
        return TierDecision(None, None, None)
    target = qualifying_tier(settings, metric)
    target_rank, current_rank = _rank(settings, target.key if target else None), _rank(settings, current_key)
    if target_rank > current_rank:
        return TierDecision(target.key, retained_until(settings, at), target)
    if target_rank == current_rank:
        return TierDecision(current_key, retained_until(settings, at) if target else None, None)
    may_drop = (after_refund and settings.downgrade_on_refund) or (current_until is not None and at >= current_until)
    if current_rank >= 0 and not may_drop:
        return TierDecision(current_key, current_until, None)
    return TierDecision(target.key if target else None, retained_until(settings, at) if target else None, None)


def progress_to_next(settings: TierSettings, current_key: str | None, metric: Decimal) -> dict | None:
    """For the widget: the next tier and how much is missing."""
    if not settings.enabled:
        return None
    higher = [t for t in settings.levels if _rank(settings, t.key) > _rank(settings, current_key)]
    if not higher:
        return None
    nxt = higher[0]
    return {"tier": nxt.name, "threshold": str(nxt.threshold), "current": str(metric),
            "missing": str(max(Decimal(0), nxt.threshold - metric)), "metric": settings.metric}
