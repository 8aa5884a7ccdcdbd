"""What one order did to a member's points, as the order status page and the admin order page
tell it: points earned (edits and streak bonuses included), points taken back by refunds and
cancellations, and when pending points become spendable."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.loyalty.ledger import EntryKind

TAKE_BACK_KINDS = (EntryKind.CLAWBACK, EntryKind.REVERSAL)


@dataclass(frozen=True)
class OrderEntry:
    kind: str
    points: int
    reason: str
    created_at: datetime
    vests_at: datetime | None


@dataclass(frozen=True)
class OrderPoints:
    earned: int
    taken_back: int
    pending: int
    pending_until: datetime | None

    @property
    def net(self) -> int:
        return self.earned - self.taken_back


def order_points(entries: list[OrderEntry], now: datetime) -> OrderPoints:
    """An order edit that lowers the earning posts a negative earn entry: it reduces `earned`,
    while refunds and cancellations count as taken back."""
    earned = sum(e.points for e in entries if e.kind == EntryKind.EARN)
    taken_back = -sum(e.points for e in entries if e.kind in TAKE_BACK_KINDS)
    waiting = [e for e in entries if e.kind == EntryKind.EARN and e.vests_at is not None and e.vests_at > now]
    return OrderPoints(earned=earned, taken_back=taken_back, pending=max(0, sum(e.points for e in waiting)),
                       pending_until=max((e.vests_at for e in waiting), default=None))
