"""Referrals: recording who referred whom, and rewarding the referrer on the referee's first
paid order (above the program's minimum), unless a fraud rule blocks it."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.loyalty.ledger import (EntryKind, guest_referral_welcome_key, referral_reversal_key, referral_reward_key,
                                referral_welcome_key)
from app.loyalty.program import Program
from app.loyalty.referrals import Party, referral_reversal_reason, referral_reward_reason
from app.loyalty.settlement import ReferralFacts, ReferralOutcome
from app.loyalty.wording import reason_fields
from app.models import GuestReferral, Member, Order, Redemption, Referral, Shop
from app.services.ledger import NewEntry, lock_member, post_entry

if TYPE_CHECKING:
    from app.db import Database
    from app.jobs.queues import Queue
    from app.shopify.admin_access import AdminAccess


def referral_of_referee(session: Session, shop: Shop, referee: Member) -> Referral | None:
    return session.scalar(select(Referral).where(
        Referral.shop_id == shop.id, Referral.referee_customer_id == referee.customer_id,
        Referral.status != "blocked").order_by(Referral.created_at, Referral.id).limit(1))


def _party(member: Member) -> Party:
    return Party(member.customer_id, member.email, member.address_fingerprint)


def _referrer_for_order(session: Session, shop: Shop, order: Order) -> tuple[Member | None, str | None]:
    """Attribution from the order: a welcome code issued for a referral, else the referral
    code in a cart attribute or the landing page's `ref` parameter."""
    codes = [c.upper() for c in order.discount_codes or []]
    if codes:
        referral = session.scalar(select(Referral).join(Redemption, Redemption.id == Referral.welcome_redemption_id)
                                  .where(Referral.shop_id == shop.id, Redemption.shop_id == shop.id,
                                         Redemption.code.in_(codes)))
        if referral is not None:
            return session.get(Member, referral.referrer_member_id), "welcome_code"
        guest = session.scalar(select(GuestReferral)
                               .join(Redemption, Redemption.id == GuestReferral.welcome_redemption_id).where(GuestReferral.shop_id == shop.id, Redemption.shop_id == shop.id,
                                      Redemption.code.in_(codes)))
        if guest is not None:
            return session.get(Member, guest.referrer_member_id), "welcome_code"
    if order.referral_code:
        from app.services.members import find_member_by_referral_code
        return find_member_by_referral_code(session, shop, order.referral_code), "order_attribute"
    return None, None


def record_referral(session: Session, shop: Shop, referrer: Member, referee: Member | None, *, source: str,
                    now: datetime, referee_email: str | None = None) -> Referral:
    """A referee arrived with a referrer's code. A referee is only ever referred once."""
    if referee is not None:
        existing = referral_of_referee(session, shop, referee)
        if existing is not None:
            return existing
    referral = Referral(shop_id=shop.id, referrer_member_id=referrer.id, source=source, created_at=now,
                        referee_member_id=referee.id if referee else None,
                        referee_customer_id=referee.customer_id if referee else None,
                        referee_email=referee_email or (referee.email if referee else None),
                        status="signed_up" if referee else "visited")
    session.add(referral)
    session.flush()
    return referral


def _paid_orders_before(session: Session, shop: Shop, referee: Member, order: Order) -> int:
    query = select(func.count()).select_from(Order).where(
        Order.shop_id == shop.id, Order.member_id == referee.id, Order.paid_at.is_not(None),
        Order.is_test.is_(False), Order.order_id != order.order_id)
    if order.processed_at:
        query = query.where(Order.processed_at < order.processed_at)
    return session.scalar(query)


def _completed_recently(session: Session, shop: Shop, referrer: Member, program: Program, now: datetime) -> int:
    return session.scalar(select(func.count()).select_from(Referral).where(
        Referral.shop_id == shop.id, Referral.referrer_member_id == referrer.id, Referral.status == "completed",
        Referral.completed_at >= now - timedelta(days=program.referrals.period_days)))


def referral_facts_for_order(session: Session, shop: Shop, referee: Member, order: Order, program: Program, *,
                             now: datetime) -> ReferralFacts | None:
    """What the planner needs to decide whether this order of the referee completes a referral
    (loyalty.settlement): read only, so nothing is recorded for an order that does not."""
    if not program.referrals.enabled:
        return None
    referral = referral_of_referee(session, shop, referee)
    if referral is not None and referral.status not in ("visited", "signed_up"):
        return None
    source = None
    if referral is None:
        referrer, source = _referrer_for_order(session, shop, order)
    else:
        referrer = session.get(Member, referral.referrer_member_id)
    if referrer is None:
        return None
    return ReferralFacts(
        referral_id=referral.id if referral else None, referrer_member_id=referrer.id, source=source,
        referrer=_party(referrer), referee=_party(referee),
        referee_has_ordered=_paid_orders_before(session, shop, referee, order) > 0,
        referrals_in_period=_completed_recently(session, shop, referrer, program, now))


def settle_referral(session: Session, shop: Shop, referee: Member, order: Order, outcome: ReferralOutcome,
                    program: Program, *, version_id: int, now: datetime) -> None:
    """Write what the planner decided (within the order's transaction): the referral recorded if
    this order attributed it, then blocked with its reason, or completed with the referrer's reward."""
    facts = outcome.facts
    referrer = session.get(Member, facts.referrer_member_id)
    referral = session.get(Referral, facts.referral_id) if facts.referral_id else \
        record_referral(session, shop, referrer, referee, source=facts.source, now=now)
    referral.referee_member_id, referral.referee_customer_id = referee.id, referee.customer_id
    referral.order_id = order.order_id
    if outcome.blocked_reason:
        referral.status, referral.block_reason = "blocked", outcome.blocked_reason
        return
    lock_member(session, referrer)
    post_entry(session, referrer, NewEntry(
        key=referral_reward_key(referral.id), kind=EntryKind.EARN, points=outcome.referrer_points,
        cause_type="referral", cause_id=str(referral.id), program_version_id=version_id,
        **reason_fields(referral_reward_reason(referral.id, outcome.referrer_points))), now=now)
    referral.status, referral.completed_at = "completed", now
    from app.services.tiers import refresh_member_tier
    refresh_member_tier(session, shop, referrer, program, version_id=version_id, now=now)


def _welcome_terms(program: Program, currency: str):
    from app.loyalty.rewards import RedemptionTerms
    settings = program.referrals
    return RedemptionTerms(kind=settings.referee_discount_kind, points=0, value=settings.referee_discount_value,
                           currency=currency, min_subtotal=None, expiry_days=settings.referee_code_expiry_days,
                           combines_with={"orderDiscounts": False, "productDiscounts": False,
                                          "shippingDiscounts": True}, variant_id=None)


def welcome_referee(db: "Database", shop_id: int, code: str, *, customer_id: int | None, email: str | None,
                    admin: "AdminAccess", queue: "Queue", clock: Callable[[], datetime]) -> Any:
    """A visitor arrived with a referral link: record the referral and give the welcome code.

    A logged-in customer gets a code limited to them (asking again shows the same code: only
    they can use it). A guest gets an all-customer code once per email address, shown only in
    this answer: a code is never looked up by email, so knowing someone's address gives nothing.
    Guest referrals live in their own table and never touch a member's referral."""
    from app.services.redemptions import issue_free_code
    with db.scope() as session:
        shop, program, referrer = _open_referral_program(session, shop_id, code)
        if customer_id is not None:
            row = _member_referral(session, shop, referrer, customer_id, clock())
            key, member_id = referral_welcome_key(row.id), row.referee_member_id
        else:
            row = _guest_referral(session, shop, referrer, email, clock())
            key, member_id = _guest_welcome_key(row), None
        session.commit()  # referred by someone else first: that referral (and its code) stands
        row_type, row_id = type(row), row.id
    redemption = issue_free_code(db, shop_id, member_id, key=key, terms=_welcome_terms(program, shop.currency),
                                 purpose="referral_welcome", prefix="WELCOME", admin=admin, queue=queue, clock=clock)
    with db.scope() as session:
        session.get(row_type, row_id).welcome_redemption_id = redemption.id
        session.commit()
    return redemption


def _open_referral_program(session: Session, shop_id: int, code: str):
    from app.loyalty.errors import ActionNotAllowed, NotFound
    from app.services.members import find_member_by_referral_code
    from app.services.program import current_program
    shop = session.get(Shop, shop_id)
    _, program = current_program(session, shop)
    if not program.referrals.enabled:
        raise ActionNotAllowed("The referral program is paused right now.")
    referrer = find_member_by_referral_code(session, shop, code.strip()) if code else None
    if referrer is None:
        raise NotFound("This referral link is not valid; ask your friend for a new one.")
    return shop, program, referrer


def _member_referral(session: Session, shop: Shop, referrer: Member, customer_id: int, now: datetime) -> Referral:
    from app.loyalty.errors import ActionNotAllowed
    from app.services.members import get_or_create_member
    referee = get_or_create_member(session, shop, customer_id, now=now)
    if referee.id == referrer.id:
        raise ActionNotAllowed(OWN_LINK)
    return record_referral(session, shop, referrer, referee, source="link", now=now)


OWN_LINK = "That is your own referral link: share it with friends instead."
ALREADY_WELCOMED = ("A welcome code was already given for this email address, and it is shown only once. "
                    "If you lost it, contact the store.")


def guest_email_digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


def _guest_referral(session: Session, shop: Shop, referrer: Member, email: str | None, now: datetime) -> GuestReferral:
    """The guest's referral row, new; or the one whose code could not be created (a retry)."""
    from app.loyalty.errors import ActionNotAllowed, InvalidInput
    from app.loyalty.referrals import normalise_email
    normalised = normalise_email(email)
    if normalised is None:
        raise InvalidInput("Enter your email address to get your welcome discount.",
                           {"email": "a valid email address"})
    if normalised == normalise_email(referrer.email):
        raise ActionNotAllowed(OWN_LINK)
    digest = guest_email_digest(normalised)
    guest = session.scalar(select(GuestReferral).where(GuestReferral.shop_id == shop.id,
                                                       GuestReferral.email_sha256 == digest))
    if guest is not None:
        if not _welcome_failed(session, guest):
            raise ActionNotAllowed(ALREADY_WELCOMED)
        return guest
    guest = GuestReferral(shop_id=shop.id, referrer_member_id=referrer.id, email_sha256=digest, created_at=now)
    try:
        with session.begin_nested():
            session.add(guest)
    except IntegrityError:  # the same address in a concurrent request: that one gives the code
        raise ActionNotAllowed(ALREADY_WELCOMED) from None
    return guest


def _welcome_failed(session: Session, guest: GuestReferral) -> bool:
    if guest.welcome_redemption_id is None:
        return True  # the earlier request stopped before its code was created
    return session.get(Redemption, guest.welcome_redemption_id).status == "failed"


def _guest_welcome_key(guest: GuestReferral) -> str:
    # A retry after a failed code needs a key of its own: the failed redemption keeps the first.
    return guest_referral_welcome_key(guest.id, retry_after=guest.welcome_redemption_id)


def reverse_referral_for_void_order(session: Session, shop: Shop, order: Order, *, now: datetime) -> None:
    """The referee's qualifying order was cancelled or refunded in full: the referrer's reward
    goes back (as much as they still have; the rest is recorded as a shortfall)."""
    from app.loyalty.clawback import limit_to_balance
    from app.services.ledger import balance_of, entry_by_key
    referral = session.scalar(select(Referral).where(Referral.shop_id == shop.id, Referral.order_id == order.order_id,
                                                     Referral.status == "completed"))
    if referral is None:
        return
    reward = entry_by_key(session, shop.id, referral_reward_key(referral.id))
    if reward is None:
        return
    referrer = session.get(Member, referral.referrer_member_id)
    lock_member(session, referrer)
    split = limit_to_balance(reward.points, balance_of(session, referrer, now).balance, allow_negative=False)
    post_entry(session, referrer, NewEntry(
        key=referral_reversal_key(referral.id), kind=EntryKind.CLAWBACK, points=-split.taken, cause_type="referral",
        cause_id=str(referral.id), **reason_fields(referral_reversal_reason(referral.id, split.taken, split.shortfall)),
        reverses_entry_id=reward.id, shortfall_points=split.shortfall), now=now)
    referral.status = "reversed"
