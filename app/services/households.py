"""Households: invitations, joining and leaving, and the pooled side of a redemption.

Every change to a household and every pooled redemption first locks the household's row, then
its members' rows in id order (one fixed order, so two writers never wait for each other in a
cycle): two members redeeming at once are served one after the other, and the second sees the
pool the first left. On SQLite the writing transaction holds the database's write lock anyway.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.loyalty.errors import NotFound
from app.loyalty.households import (HouseholdFull, InvitationExpired, InvitationUsed, PoolDebit, PoolShare,
                                    clean_invite_email, display_name, household_debit_key, household_return_key,
                                    invitation_expiry, new_invitation_token, pool_balance, split_redemption,
                                    token_digest)
from app.loyalty.ledger import EntryKind
from app.loyalty.wording import Reason, reason, reason_fields
from app.models import Household, HouseholdInvitation, HouseholdMember, Member, Redemption, Shop
from app.services.ledger import NewEntry, entry_by_key, post_entry, spendable_points
from app.services.members import get_or_create_member
from app.services.program import current_program


@dataclass(frozen=True)
class NewInvitation:
    invitation: HouseholdInvitation
    token: str  # shown once, to the inviter; only its digest is stored


def _settings(session: Session, shop: Shop):
    _, program = current_program(session, shop)
    if not program.households.enabled:
        raise NotFound("This store does not offer households.")
    return program.households


def household_of(session: Session, shop: Shop, member_id: int) -> HouseholdMember | None:
    return session.scalar(select(HouseholdMember).where(HouseholdMember.shop_id == shop.id,
                                                        HouseholdMember.member_id == member_id))


def _lock_household(session: Session, shop: Shop, household_id: int) -> list[Member]:
    """The household row, then its members' rows in id order; returns the members."""
    query = select(Household.id).where(Household.shop_id == shop.id, Household.id == household_id)
    members = select(Member).join(HouseholdMember, HouseholdMember.member_id == Member.id).where(
        HouseholdMember.shop_id == shop.id, HouseholdMember.household_id == household_id).order_by(Member.id)
    if session.get_bind().dialect.name != "sqlite":
        session.execute(query.with_for_update())
        members = members.with_for_update(of=Member, key_share=True)
    else:
        session.execute(query)
    return list(session.scalars(members))


def _size(session: Session, shop: Shop, household_id: int) -> int:
    return session.scalar(select(func.count()).select_from(HouseholdMember).where(
        HouseholdMember.shop_id == shop.id, HouseholdMember.household_id == household_id))


def invite(session: Session, shop: Shop, customer_id: int, email, *, now: datetime) -> NewInvitation:
    """The inviter's household (made for them if they have none) gets an invitation for `email`."""
    settings = _settings(session, shop)
    address = clean_invite_email(email)
    member = get_or_create_member(session, shop, customer_id, now=now)
    seat = household_of(session, shop, member.id)
    if seat is None:
        household = Household(shop_id=shop.id, created_by_member_id=member.id, created_at=now)
        session.add(household)
        session.flush()
        seat = HouseholdMember(shop_id=shop.id, household_id=household.id, member_id=member.id, joined_at=now)
        session.add(seat)
        session.flush()
    _lock_household(session, shop, seat.household_id)
    if _size(session, shop, seat.household_id) >= settings.max_members:
        raise HouseholdFull(f"Your household already has the most members this store allows "
                            f"({settings.max_members}); someone must leave before you invite another.")
    token = new_invitation_token()
    invitation = HouseholdInvitation(shop_id=shop.id, household_id=seat.household_id, inviter_member_id=member.id,
                                     email=address, token_sha256=token_digest(token),
                                     expires_at=invitation_expiry(settings, now), created_at=now)
    session.add(invitation)
    session.commit()
    return NewInvitation(invitation, token)


def accept(session: Session, shop: Shop, customer_id: int, token, *, now: datetime) -> HouseholdMember:
    settings = _settings(session, shop)
    invitation = session.scalar(select(HouseholdInvitation).where(
        HouseholdInvitation.shop_id == shop.id,
        HouseholdInvitation.token_sha256 == token_digest(token if isinstance(token, str) else "")))
    if invitation is None:
        raise NotFound("This invitation is not valid for this store. Ask for a new invitation link.")
    members = _lock_household(session, shop, invitation.household_id)
    session.refresh(invitation)
    if invitation.accepted_at is not None:
        raise InvitationUsed("This invitation has already been used. Ask for a new invitation link.")
    if invitation.expires_at <= now:
        raise InvitationExpired("This invitation has expired. Ask the person who invited you for a new one.")
    member = get_or_create_member(session, shop, customer_id, now=now)
    if household_of(session, shop, member.id) is not None:
        raise InvitationUsed("You are already in a household. Leave it first to join another.")
    if len(members) >= settings.max_members:
        raise HouseholdFull(f"This household is full ({settings.max_members} members).")
    seat = HouseholdMember(shop_id=shop.id, household_id=invitation.household_id, member_id=member.id, joined_at=now)
    session.add(seat)
    invitation.accepted_at, invitation.accepted_by_member_id = now, member.id
    session.commit()
    return seat


def leave(session: Session, shop: Shop, customer_id: int, *, now: datetime) -> None:
    """The member leaves with their own points; the others keep theirs (nothing is moved)."""
    member = get_or_create_member(session, shop, customer_id, now=now)
    seat = household_of(session, shop, member.id)
    if seat is None:
        raise NotFound("You are not in a household.")
    _lock_household(session, shop, seat.household_id)
    session.delete(seat)
    session.commit()


# ---- the pooled redemption ------------------------------------------------------------------------

@dataclass(frozen=True)
class Pool:
    household_id: int
    shares: list[PoolShare]

    @property
    def balance(self) -> int:
        return pool_balance(self.shares)


def lock_pool(session: Session, shop: Shop, member: Member, now: datetime) -> Pool | None:
    """The member's household pool, locked; None when they are in none (or households are off)."""
    _, program = current_program(session, shop)
    seat = household_of(session, shop, member.id) if program.households.enabled else None
    if seat is None:
        return None
    members = _lock_household(session, shop, seat.household_id)
    seats = dict(session.execute(select(HouseholdMember.member_id, HouseholdMember.joined_at).where(
        HouseholdMember.shop_id == shop.id, HouseholdMember.household_id == seat.household_id)).all())
    spendable = spendable_points(session, shop, [m.id for m in members], now)
    return Pool(seat.household_id, [PoolShare(m.id, seats[m.id], spendable.get(m.id, 0)) for m in members])


def check_pool_covers(pool: Pool, redeemer: Member, points: int, reward_name: str) -> None:
    """InsufficientPoints worded for the household when the pool is short."""
    split_redemption(pool.shares, redeemer.id, points, reward_name=reward_name)


def post_pooled_debits(session: Session, shop: Shop, pool: Pool, redeemer: Member, redemption: Redemption, *,
                       points: int, reward_name: str, why: Reason, now: datetime) -> list[PoolDebit]:
    """One `redeem` entry per member the points come from, each caused by the same redemption
    (`why`, the redeemer's own reason; the others read who spent their points)."""
    debits = split_redemption(pool.shares, redeemer.id, points, reward_name=reward_name)
    for debit in debits:
        payer = session.get(Member, debit.member_id)
        post_entry(session, payer, NewEntry(
            key=household_debit_key(redemption.id, payer.id), kind=EntryKind.REDEEM, points=-debit.points,
            cause_type="redemption", cause_id=str(redemption.id),
            **reason_fields(why if payer.id == redeemer.id else _spent_by(redeemer, why))), now=now)
    redemption.terms = {**(redemption.terms or {}), "household_debits": [[d.member_id, d.points] for d in debits]}
    return debits


def _spent_by(redeemer: Member, why: Reason) -> Reason:
    # The name the household already sees ("Alice M."), never the email Member.display_name may fall back to.
    name = display_name(redeemer.first_name, redeemer.last_name, "")
    return reason("household.redeemed_by", redemption=why, member=name) if name else \
        reason("household.redeemed_by_other", redemption=why)


def return_pooled_points(session: Session, redemption: Redemption, *, why: str, reason: Reason, now: datetime) -> bool:
    """Give each member back what the redemption took from them; False if it was not pooled."""
    debits = (redemption.terms or {}).get("household_debits")
    if not debits:
        return False
    for member_id, points in sorted(debits):
        payer = session.get(Member, member_id)
        if payer is None:
            continue
        debit = entry_by_key(session, redemption.shop_id, household_debit_key(redemption.id, member_id))
        post_entry(session, payer, NewEntry(
            key=household_return_key(redemption.id, member_id, why), kind=EntryKind.REVERSAL, points=points,
            cause_type="redemption", cause_id=str(redemption.id), **reason_fields(reason),
            reverses_entry_id=debit.id if debit else None), now=now)
    return True


def forget_household_invitations(session: Session, shop: Shop, member: Member | None, emails: frozenset[str]) -> None:
    """A customer redact: invitations addressed to their emails go, and they leave their
    household (their points stay theirs, as on any leave; the others keep theirs)."""
    if emails:
        session.execute(delete(HouseholdInvitation).where(HouseholdInvitation.shop_id == shop.id,
                                                          func.lower(HouseholdInvitation.email).in_(sorted(emails))))
    if member is not None:
        session.execute(delete(HouseholdMember).where(HouseholdMember.shop_id == shop.id,
                                                      HouseholdMember.member_id == member.id))
