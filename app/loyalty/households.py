"""Households: members who spend from one pooled balance while each keeps what they earned.

The pool is the sum of the members' spendable balances. A redemption by one member is paid from
the members' balances in a fixed order - the redeemer first, then the others oldest membership
first (ties by member id) - each part a `redeem` entry on the member it comes from, all with the
same redemption as cause. Earning is never moved: an order earns for whoever placed it, and a
member who leaves takes their own remaining points and leaves the others theirs.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from app.loyalty.errors import ActionNotAllowed, Gone, InsufficientPoints, InvalidInput

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class HouseholdFull(ActionNotAllowed):
    code = "household_full"


class InvitationUsed(ActionNotAllowed):
    code = "invitation_used"


class InvitationExpired(Gone):
    code = "invitation_expired"


class HouseholdSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = False
    max_members: int = Field(4, ge=2, le=20, description="members in one household, the inviter included")
    invitation_days: int = Field(14, ge=1, le=90, description="days an invitation can be accepted")


@dataclass(frozen=True)
class PoolShare:
    member_id: int
    joined_at: datetime
    spendable_points: int


@dataclass(frozen=True)
class PoolDebit:
    member_id: int
    points: int


def pool_balance(shares: list[PoolShare]) -> int:
    return sum(max(0, s.spendable_points) for s in shares)


def spending_order(shares: list[PoolShare], redeemer_id: int) -> list[PoolShare]:
    """The redeemer first, then the others by how long they have been in the household."""
    others = sorted((s for s in shares if s.member_id != redeemer_id), key=lambda s: (s.joined_at, s.member_id))
    return [s for s in shares if s.member_id == redeemer_id] + others


def split_redemption(shares: list[PoolShare], redeemer_id: int, points: int, *, reward_name: str) -> list[PoolDebit]:
    """Who pays how much of `points` from the pool; InsufficientPoints when the pool is short."""
    available = pool_balance(shares)
    if available < points:
        raise InsufficientPoints(f"{reward_name} needs {points} points; your household has {available}. "
                                 f"{points - available} more to go!")
    debits, left = [], points
    for share in spending_order(shares, redeemer_id):
        part = min(left, max(0, share.spendable_points))
        if part:
            debits.append(PoolDebit(share.member_id, part))
            left -= part
        if not left:
            break
    return debits


def household_debit_key(redemption_id: int, member_id: int) -> str:
    return f"redemption:{redemption_id}:debit:member:{member_id}"


def household_return_key(redemption_id: int, member_id: int, why: str) -> str:
    return f"redemption:{redemption_id}:return:{why}:member:{member_id}"


def clean_invite_email(value) -> str:
    if not isinstance(value, str) or not EMAIL.match(value.strip()) or len(value) > 255:
        raise InvalidInput("Send the email address of the person to invite.", {"email": "an email address"})
    return value.strip().lower()


def new_invitation_token() -> str:
    return secrets.token_urlsafe(24)


def token_digest(token: str) -> str:
    """Only a digest of a token is stored: a database leak does not let anyone join a household."""
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_expiry(settings: HouseholdSettings, now: datetime) -> datetime:
    return now + timedelta(days=settings.invitation_days)


def display_name(first_name: str | None, last_name: str | None, fallback: str) -> str:
    """"Alice M.": a first name and an initial, never an email address."""
    if first_name:
        return f"{first_name} {last_name[0]}." if last_name else first_name
    return fallback
