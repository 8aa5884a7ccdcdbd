"""What happened to a member, as the store's other tools hear it.

Every change that a member or the owner's systems may care about (points earned or spent, a
code issued, a tier reached, a referral completed, a new member) is recorded as a member event in
the same transaction as the change itself (a transactional outbox). A dispatcher hands committed
events to the consumers (emails, outbound webhooks, Flow, Klaviyo, customer metafields), which
each keep their own durable work rows, so a slow or failing destination never holds the ledger up
and never loses an event.

The event kinds are a public contract: they are the `type` of the owner's outbound webhooks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.loyalty.ledger import Balance, EntryKind


class EventKind(StrEnum):
    MEMBER_ENROLLED = "member.enrolled"
    POINTS_EARNED = "points.earned"
    POINTS_SPENT = "points.spent"
    POINTS_EXPIRED = "points.expired"
    POINTS_ADJUSTED = "points.adjusted"  # staff adjustments, take-backs, points returned, opening balances
    REWARD_REDEEMED = "reward.redeemed"  # a code (or store credit) issued to the member
    TIER_CHANGED = "tier.changed"
    REFERRAL_COMPLETED = "referral.completed"  # the referrer was rewarded for a friend's first order


@dataclass(frozen=True)
class MemberEvent:
    id: int
    shop_id: int
    member_id: int
    customer_id: int
    kind: EventKind
    occurred_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    # The member's balance when the event was dispatched (not when it happened): what a
    # message or a webhook should show is the balance the member has now.
    balance: Balance = Balance(0, 0, 0)


_KIND_OF_ENTRY = {
    str(EntryKind.EARN): EventKind.POINTS_EARNED,
    str(EntryKind.REDEEM): EventKind.POINTS_SPENT,
    str(EntryKind.EXPIRE): EventKind.POINTS_EXPIRED,
    str(EntryKind.REVERSAL): EventKind.POINTS_ADJUSTED,
    str(EntryKind.CLAWBACK): EventKind.POINTS_ADJUSTED,
    str(EntryKind.ADJUST): EventKind.POINTS_ADJUSTED,
    str(EntryKind.IMPORT): EventKind.POINTS_ADJUSTED,
}


@dataclass(frozen=True)
class PlannedEvent:
    key: str
    kind: EventKind
    data: dict[str, Any]


def events_for_entry(*, entry_id: int, kind: str, points: int, cause_type: str, cause_id: str | None,
                     order_id: int | None = None, vests_at: datetime | None = None) -> list[PlannedEvent]:
    """The events a new ledger entry raises. Kinds added later (e.g. a donation) fall back on
    the sign of their points, so a new kind is never silent."""
    if points == 0:
        return []  # a shortfall record or a zero-point settlement: nothing changed for the member
    event_kind = _KIND_OF_ENTRY.get(kind) or (EventKind.POINTS_SPENT if points < 0 else EventKind.POINTS_ADJUSTED)
    data: dict[str, Any] = {"entry_id": entry_id, "entry_kind": kind, "points": points, "cause_type": cause_type,
                            "cause_id": cause_id, "order_id": order_id,
                            "vests_at": vests_at.isoformat() if vests_at else None}
    events = [PlannedEvent(entry_event_key(entry_id), event_kind, data)]
    if cause_type == "referral" and kind == str(EntryKind.EARN) and cause_id is not None:
        events.append(PlannedEvent(referral_completed_key(cause_id), EventKind.REFERRAL_COMPLETED,
                                   {"referral_id": cause_id, "points": points, "entry_id": entry_id}))
    return events


def entry_event_key(entry_id: int) -> str:
    return f"entry:{entry_id}"


def referral_completed_key(referral_id: str | int) -> str:
    return f"referral:{referral_id}:completed"


def enrolled_key(member_id: int) -> str:
    return f"member:{member_id}:enrolled"


def reward_redeemed_key(redemption_id: int) -> str:
    return f"redemption:{redemption_id}:issued"


def tier_changed_key(member_id: int, tier_to: str | None, at: datetime) -> str:
    return f"member:{member_id}:tier:{tier_to or '-'}:{at.strftime('%Y%m%dT%H%M%S%f')}"
