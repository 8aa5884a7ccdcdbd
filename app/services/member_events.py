"""The member events outbox: record events in the writer's transaction, hand them on after.

Writers of the ledger, tiers, referrals and enrolment call the `record_*` functions inside their
own transaction, so an event exists exactly when its change committed. `dispatch_member_events`
(a periodic task) gives committed events to every consumer in services.event_consumers; each
consumer only writes its own work rows (an email to send, a webhook delivery, a metafield to
refresh) in the dispatcher's transaction, and its own job does the slow part with retries.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.loyalty.events import EventKind, MemberEvent
from app.loyalty.ledger import Balance
from app.models import Member, MemberEventRecord
from app.services.event_consumers import CONSUMERS
from app.services.event_outbox import (record_enrolled, record_entry_events, record_event,  # noqa: F401
                                       record_reward_redeemed, record_tier_changes)
from app.services.ledger import balances_of
from app.services.set_sql import among

log = logging.getLogger(__name__)

DISPATCH_BATCH = 500
# An event a consumer keeps failing on is set aside after this many rounds (its error stays on
# the row for the owner's log), so one poisoned event cannot stop every later one.
MAX_ATTEMPTS = 20


# ---- dispatch ---------------------------------------------------------------------------------

def dispatch_member_events(session_factory, *, now: datetime, limit: int = DISPATCH_BATCH) -> int:
    """Hand one batch of committed events to every consumer; returns how many were dispatched.
    A batch a consumer fails on is retried event by event, so the others still go through."""
    session: Session = session_factory()
    try:
        records = _claim(session, limit)
        if not records:
            session.rollback()
            return 0
        events = _as_events(session, records, now)
        try:
            with session.begin_nested():
                _hand_to_consumers(session, events, now)
        except Exception:  # noqa: BLE001 - isolate the event at fault below
            log.warning("member events: a consumer failed on a batch of %d; retrying one by one", len(events),
                        exc_info=True)
            return _dispatch_one_by_one(session, records, events, now)
        _mark_dispatched(session, [r.id for r in records], now)
        session.commit()
        return len(records)
    finally:
        session.close()


def _dispatch_one_by_one(session: Session, records: list[MemberEventRecord], events: list[MemberEvent],
                         now: datetime) -> int:
    done = []
    for record, event in zip(records, events):
        try:
            with session.begin_nested():
                _hand_to_consumers(session, [event], now)
            done.append(record.id)
        except Exception as exc:  # noqa: BLE001 - recorded on the event, retried next round
            record.attempts += 1
            record.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if record.attempts >= MAX_ATTEMPTS:
                log.error("member event %s set aside after %d attempts: %s", record.id, record.attempts,
                          record.last_error)
                done.append(record.id)
    _mark_dispatched(session, done, now)
    session.commit()
    return len(done)


def _hand_to_consumers(session: Session, events: list[MemberEvent], now: datetime) -> None:
    for consumer in CONSUMERS:
        consumer(session, events, now=now)


def _claim(session: Session, limit: int) -> list[MemberEventRecord]:
    """Oldest undispatched events. On PostgreSQL two dispatchers take disjoint batches; on
    SQLite one writer at a time, and consumers are idempotent per event either way."""
    query = (select(MemberEventRecord).where(MemberEventRecord.dispatched_at.is_(None))
             .order_by(MemberEventRecord.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _mark_dispatched(session: Session, ids: list[int], now: datetime) -> None:
    if ids:
        session.execute(update(MemberEventRecord).where(among(session, MemberEventRecord.id, ids))
                        .values(dispatched_at=now).execution_options(synchronize_session=False))


def _as_events(session: Session, records: list[MemberEventRecord], now: datetime) -> list[MemberEvent]:
    members_by_shop: dict[int, set[int]] = defaultdict(set)
    for record in records:
        members_by_shop[record.shop_id].add(record.member_id)
    customers: dict[int, int] = {}
    balances: dict[int, Balance] = {}
    for shop_id, member_ids in members_by_shop.items():
        customers.update(session.execute(select(Member.id, Member.customer_id).where(
            Member.shop_id == shop_id, among(session, Member.id, member_ids))).tuples().all())
        balances.update(balances_of(session, shop_id, list(member_ids), now))
    return [MemberEvent(id=r.id, shop_id=r.shop_id, member_id=r.member_id, customer_id=customers[r.member_id],
                        kind=EventKind(r.kind), occurred_at=r.occurred_at, data=dict(r.data or {}),
                        balance=balances.get(r.member_id, Balance(0, 0, 0)))
            for r in records]
