"""Staff adjustments: points added or removed by hand, with a required reason (audited by the
staff user id on the entry)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from app.loyalty.errors import InsufficientPoints, InvalidInput
from app.loyalty.ledger import EntryKind, adjustment_key
from app.loyalty.wording import reason as reason_of
from app.loyalty.wording import reason_fields
from app.models import LedgerEntry, Member, Shop
from app.services.ledger import NewEntry, balance_of, entry_by_key, lock_member, post_entry
from app.services.program import current_program
from app.services.tiers import refresh_member_tier

MAX_ADJUSTMENT = 1_000_000


def validate_adjustment(points, reason) -> tuple[int, str]:
    problems = {}
    if not isinstance(points, int) or isinstance(points, bool) or points == 0 or abs(points) > MAX_ADJUSTMENT:
        problems["points"] = f"a whole number of points other than 0, at most {MAX_ADJUSTMENT:,} either way"
    if not isinstance(reason, str) or not reason.strip():
        problems["reason"] = "say why (the member sees this reason in their history)"
    elif len(reason) > 500:
        problems["reason"] = "500 characters at most"
    if problems:
        raise InvalidInput("The adjustment is not valid.", problems)
    return points, reason.strip()


def adjust_points(session: Session, shop: Shop, member: Member, points, reason, *, staff_user_id: str,
                  now: datetime, idempotency_key: str | None = None) -> LedgerEntry:
    """Never takes a balance below zero; the same idempotency key never adjusts twice."""
    points, reason = validate_adjustment(points, reason)
    key = adjustment_key(member.id, idempotency_key or uuid.uuid4().hex)
    lock_member(session, member)
    existing = entry_by_key(session, shop.id, key)
    if existing is not None:
        return existing
    if points < 0:
        available = balance_of(session, member, now).balance
        if available + points < 0:
            raise InsufficientPoints(f"Only {available} points are available; cannot remove {-points}.")
    entry = post_entry(session, member, NewEntry(
        key=key, kind=EntryKind.ADJUST, points=points, cause_type="staff", cause_id=staff_user_id,
        staff_user_id=staff_user_id, **reason_fields(reason_of("staff.adjustment", note=reason))),
        now=now)
    if points > 0:
        version, program = current_program(session, shop)
        refresh_member_tier(session, shop, member, program, version_id=version.id, now=now)
    session.commit()
    return entry
