"""Feedback after an order: how likely the member is to recommend the store (NPS, 0-10) and
how satisfied they are (CSAT, 1-5), with an optional comment; points once per order.

NPS = % promoters (9-10) - % detractors (0-6), from -100 to 100; CSAT = % answering 4 or 5.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field

from app.loyalty.errors import InvalidInput
from app.loyalty.wording import Reason, reason


class FeedbackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = False
    points: int = Field(25, ge=0, le=1_000_000)
    # Orders paid within this many days are asked about; older ones are not.
    ask_within_days: int = Field(60, ge=1, le=365)
    comment_max_length: int = Field(1000, ge=0, le=5000)


@dataclass(frozen=True)
class Answer:
    nps: int
    csat: int
    comment: str | None


def read_answer(settings: FeedbackSettings, nps, csat, comment) -> Answer:
    """The answer as given, or InvalidInput naming every field that is out of range."""
    problems = {}
    if not _whole(nps, 0, 10):
        problems["nps"] = "a whole number from 0 to 10"
    if not _whole(csat, 1, 5):
        problems["csat"] = "a whole number from 1 to 5"
    if comment is not None and not isinstance(comment, str):
        problems["comment"] = "text"
    elif comment and len(comment.strip()) > settings.comment_max_length:
        problems["comment"] = f"at most {settings.comment_max_length} characters"
    if problems:
        raise InvalidInput("Some answers are out of range; fix the fields listed.", problems)
    return Answer(nps, csat, (comment or "").strip() or None)


def _whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def feedback_reason(order_label: str, points: int) -> Reason:
    return reason("feedback.points", order=order_label, points=points)


@dataclass(frozen=True)
class Scores:
    answers: int
    promoters: int
    passives: int
    detractors: int
    satisfied: int  # CSAT 4 or 5

    @property
    def nps(self) -> Decimal | None:
        return _percent(self.promoters - self.detractors, self.answers)

    @property
    def csat(self) -> Decimal | None:
        return _percent(self.satisfied, self.answers)


def scores(answers: Iterable[tuple[int, int]]) -> Scores:
    """Scores from (nps, csat) pairs."""
    pairs = list(answers)
    return Scores(len(pairs), sum(n >= 9 for n, _ in pairs), sum(7 <= n <= 8 for n, _ in pairs),
                  sum(n <= 6 for n, _ in pairs), sum(c >= 4 for _, c in pairs))


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100 * part) / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
