"""RFM: recency, frequency and monetary scores 1-5 and the named segment they put a customer in.

Who is scored: the shop's customers with a paid order (see lifecycle.py) in the last
`WINDOW_MONTHS` months; everyone else has no scores and no RFM segment.

The scores (5 is best): quintiles of, among those customers,
- recency: when the last paid order was placed (the latest is best),
- frequency: paid orders in the window,
- monetary: money spent in the window (order totals less their refunds).
A customer's score is ceil(5 x (customers scored at or below their value) / (customers scored)),
i.e. 5 x SQL `CUME_DIST()` rounded up: the top fifth gets 5, the next fifth 4 ... Ties are
deterministic: customers with equal values count each other as "at or below", so they always
get the same score (a quintile may then hold more or fewer than a fifth), and the best customer
scores 5 even in a shop with fewer than five scored customers.

The segment, from R and FM = round half up of (F + M) / 2 (the usual R x FM grid):

| segment            | R   | FM  |
|--------------------|-----|-----|
| champions          | 5   | 4-5 |
| loyal              | 3-4 | 4-5 |
| potential_loyalist | 4-5 | 2-3 |
| new                | 5   | 1   |
| promising          | 4   | 1   |
| need_attention     | 3   | 3   |
| about_to_sleep     | 3   | 1-2 |
| cannot_lose        | 1-2 | 5   |
| at_risk            | 1-2 | 3-4 |
| hibernating        | 2   | 1-2 |
| lost               | 1   | 1-2 |
"""
from __future__ import annotations

WINDOW_MONTHS = 24
WINDOW_DAYS = 730  # 24 months as the set-based recompute counts them

SEGMENTS = ("champions", "loyal", "potential_loyalist", "new", "promising", "need_attention", "about_to_sleep",
            "at_risk", "cannot_lose", "hibernating", "lost")

# (R scores, FM scores) -> segment; every (R, FM) pair appears exactly once.
GRID: tuple[tuple[range, range, str], ...] = (
    (range(5, 6), range(4, 6), "champions"),
    (range(3, 5), range(4, 6), "loyal"),
    (range(4, 6), range(2, 4), "potential_loyalist"),
    (range(5, 6), range(1, 2), "new"),
    (range(4, 5), range(1, 2), "promising"),
    (range(3, 4), range(3, 4), "need_attention"),
    (range(3, 4), range(1, 3), "about_to_sleep"),
    (range(1, 3), range(5, 6), "cannot_lose"),
    (range(1, 3), range(3, 5), "at_risk"),
    (range(2, 3), range(1, 3), "hibernating"),
    (range(1, 2), range(1, 3), "lost"),
)


def quintile_score(at_or_below: int, scored: int) -> int:
    """1-5 from the number of scored customers whose value is at or below this one's (itself
    included), i.e. ceil(5 x CUME_DIST())."""
    if scored <= 0 or not 1 <= at_or_below <= scored:
        raise ValueError("a scored customer ranks among the scored customers")
    return (5 * at_or_below + scored - 1) // scored


def fm_score(frequency: int, monetary: int) -> int:
    return (frequency + monetary + 1) // 2


def rfm_segment(recency: int, frequency: int, monetary: int) -> str:
    fm = fm_score(frequency, monetary)
    for r_range, fm_range, name in GRID:
        if recency in r_range and fm in fm_range:
            return name
    raise ValueError(f"RFM scores must be 1-5, got {recency}{frequency}{monetary}")
