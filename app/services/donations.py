"""Donating points to a cause: the member's ledger is locked (the same lock redemptions take),
the balance checked, and the donation and its `donation` entry written together, so two
donations at once can never overdraw it. A retried request (same key) returns the first."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.charity import DonationValue, donation_reason, value_donation
from app.loyalty.errors import ActionNotAllowed, InsufficientPoints, InvalidInput, MemberBlocked
from app.loyalty.ledger import EntryKind, donation_key
from app.loyalty.wording import reason_fields
from app.models import Donation, Member, Shop
from app.services.ledger import NewEntry, balance_of, lock_member, post_entry
from app.services.members import get_or_create_member
from app.services.program import current_program


def request_key(value) -> str:
    if not isinstance(value, str) or not 8 <= len(value) <= 128:
        raise InvalidInput("Send an Idempotency-Key header (8-128 characters) so a retried click never gives twice.",
                           {"idempotency_key": "8-128 characters, new for each donation"})
    return value


def donate_points(session: Session, shop: Shop, customer_id: int, cause_key, points, key: str, *,
                  now: datetime) -> tuple[Donation, bool]:
    """(the donation, whether it was made now). Commits."""
    _, program = current_program(session, shop)
    if not program.charity.enabled:
        raise ActionNotAllowed("This store is not collecting donations right now.")
    member = get_or_create_member(session, shop, customer_id, now=now)
    lock_member(session, member)
    existing = _existing(session, member, key)
    if existing is not None:
        session.commit()
        return existing, False
    value = value_donation(program.charity, cause_key, points, shop.currency)
    _check_spendable(session, member, value, now)
    donation = _record(session, member, key, value, now)
    member.last_activity_at = now
    session.commit()
    return donation, True


def _existing(session: Session, member: Member, key: str) -> Donation | None:
    return session.scalar(select(Donation).where(Donation.shop_id == member.shop_id, Donation.member_id == member.id,
                                                 Donation.idempotency_key == key))


def _check_spendable(session: Session, member: Member, value: DonationValue, now: datetime) -> None:
    if member.blocked_at is not None:
        raise MemberBlocked("This account cannot use points right now; please contact the store.")
    balance = balance_of(session, member, now).balance
    if balance < value.points:
        raise InsufficientPoints(f"You have {balance} points to give; choose {balance} or fewer.")


def _record(session: Session, member: Member, key: str, value: DonationValue, now: datetime) -> Donation:
    donation = Donation(shop_id=member.shop_id, member_id=member.id, idempotency_key=key, cause_key=value.cause.key,
                        cause_name=value.cause.name, points=value.points, amount_minor=value.amount_minor,
                        matched_minor=value.matched_minor, currency=value.currency, created_at=now)
    session.add(donation)
    session.flush()
    post_entry(session, member, NewEntry(key=donation_key(member.id, key), kind=EntryKind.DONATION,
                                         points=-value.points, cause_type="donation", cause_id=str(donation.id),
                                         **reason_fields(donation_reason(value))), now=now)
    return donation
