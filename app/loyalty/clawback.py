"""Taking back points earned on refunded or cancelled orders."""
from __future__ import annotations

from dataclasses import dataclass


def refund_clawback_points(earned_points: int, order_base_minor: int, refunded_base_minor: int) -> int:
    """Points to take back for one refund: the refunded share of the earning base, rounded down
    (a partial refund never costs the member more than its share), at most what was earned."""
    if earned_points <= 0 or order_base_minor <= 0 or refunded_base_minor <= 0:
        return 0
    return min(earned_points, earned_points * min(refunded_base_minor, order_base_minor) // order_base_minor)


@dataclass(frozen=True)
class ClawbackSplit:
    taken: int  # points actually removed (positive number)
    shortfall: int  # points that could not be removed because they were already spent


def limit_to_balance(points: int, spendable: int, *, allow_negative: bool) -> ClawbackSplit:
    """When the member already spent the points, take only what is there unless the owner
    allows a negative balance; the rest is recorded as a shortfall."""
    if allow_negative:
        return ClawbackSplit(points, 0)
    taken = max(0, min(points, spendable))
    return ClawbackSplit(taken, points - taken)
