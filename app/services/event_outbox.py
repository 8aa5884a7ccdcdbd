"""Recording member events in the writer's transaction (the outbox's input side).

Kept apart from the dispatcher (services.member_events) because the ledger writers call it and
the dispatcher reads balances through the ledger module: one direction each, no cycle.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.loyalty.events import (EventKind, PlannedEvent, enrolled_key, events_for_entry, reward_redeemed_key,
                                tier_changed_key)
from app.models import Member, MemberEventRecord
from app.services.set_sql import insert_rows


def record_event(session: Session, *, shop_id: int, member_id: int, kind: EventKind, key: str,
                 data: dict[str, Any], occurred_at: datetime) -> None:
    """Idempotent per shop and key: a cause recorded twice raises its event once."""
    _insert(session, [_row(shop_id, member_id, PlannedEvent(key, kind, data), occurred_at)])


def record_entry_events(session: Session, shop_id: int, entries: Iterable[dict[str, Any]]) -> None:
    """Events for ledger entries just written: dicts with the entry's columns and its `id`."""
    rows = [_row(shop_id, entry["member_id"], planned, entry["created_at"])
            for entry in entries
            for planned in events_for_entry(entry_id=entry["id"], kind=entry["kind"], points=entry["points"],
                                            cause_type=entry["cause_type"], cause_id=entry.get("cause_id"),
                                            order_id=entry.get("order_id"), vests_at=entry.get("vests_at"))]
    _insert(session, rows)


def record_enrolled(session: Session, member: Member, *, now: datetime) -> None:
    record_event(session, shop_id=member.shop_id, member_id=member.id, kind=EventKind.MEMBER_ENROLLED,
                 key=enrolled_key(member.id), data={}, occurred_at=now)


def record_tier_changes(session: Session, shop_id: int, changes: Iterable[tuple[int, str | None, str | None]], *,
                        now: datetime) -> None:
    """(member id, tier before, tier after) for members whose tier just moved."""
    _insert(session, [_row(shop_id, member_id, PlannedEvent(tier_changed_key(member_id, after, now),
                                                            EventKind.TIER_CHANGED,
                                                            {"tier_from": before, "tier_to": after}), now)
                      for member_id, before, after in changes if before != after])


def record_reward_redeemed(session: Session, *, shop_id: int, member_id: int, redemption_id: int,
                           data: dict[str, Any], now: datetime) -> None:
    record_event(session, shop_id=shop_id, member_id=member_id, kind=EventKind.REWARD_REDEEMED,
                 key=reward_redeemed_key(redemption_id), data={"redemption_id": redemption_id, **data},
                 occurred_at=now)


def _row(shop_id: int, member_id: int, planned: PlannedEvent, occurred_at: datetime) -> dict[str, Any]:
    return {"shop_id": shop_id, "member_id": member_id, "event_key": planned.key, "kind": str(planned.kind),
            "data": planned.data, "occurred_at": occurred_at, "dispatched_at": None, "attempts": 0,
            "last_error": None}


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    insert_rows(session, MemberEventRecord.__table__, rows, conflict=("shop_id", "event_key"))
