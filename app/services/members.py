"""Members: one per Shopify customer per shop, kept in step with customer webhooks."""
from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.loyalty.orders import parse_time
from app.loyalty.referrals import address_fingerprint
from app.models import Member, Shop
from app.services import event_outbox
from app.services.actions import try_action_points
from app.services.inbox import UnprocessableEvent
from app.services.member_metrics import refresh_member_metrics

if TYPE_CHECKING:
    from app.services.inbox import HandlerContext

# No 0/O, 1/I/L: codes get read aloud and typed from phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_referral_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def find_member(session: Session, shop: Shop | int, customer_id: int) -> Member | None:
    shop_id = shop if isinstance(shop, int) else shop.id
    return session.scalar(select(Member).where(Member.shop_id == shop_id, Member.customer_id == customer_id))


def find_member_by_referral_code(session: Session, shop: Shop, code: str) -> Member | None:
    return session.scalar(select(Member).where(Member.shop_id == shop.id, Member.referral_code == code.upper()))


def get_or_create_member(session: Session, shop: Shop, customer_id: int, *, now: datetime) -> Member:
    """Safe under concurrency: two jobs creating the same member end with one row."""
    member = find_member(session, shop, customer_id)
    while member is None:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        created = session.execute(insert(Member).values(
            shop_id=shop.id, customer_id=customer_id, referral_code=new_referral_code(), created_at=now,
            updated_at=now).on_conflict_do_nothing().returning(Member.id)).scalar()
        member = find_member(session, shop, customer_id)  # None only after a referral-code collision
        if created is not None:
            event_outbox.record_enrolled(session, member, now=now)
    return member


def customer_id_of(payload: dict) -> int:
    try:
        return int(payload["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UnprocessableEvent("customer payload has no numeric id") from exc


def profile_complete(member: Member) -> bool:
    return all((member.first_name, member.last_name, member.email, member.phone, member.birthday))


def _copy_profile(member: Member, payload: dict) -> None:
    for attr in ("email", "first_name", "last_name", "phone"):
        if payload.get(attr):
            setattr(member, attr, payload[attr])
    member.account_state = payload.get("state") or member.account_state
    # Only the Admin API's customer has it (imports, first sight); the language of their emails.
    member.locale = (payload.get("locale") or "")[:16] or member.locale
    member.customer_created_at = member.customer_created_at or parse_time(payload.get("created_at"))
    fingerprint = address_fingerprint(payload.get("default_address"))
    member.address_fingerprint = fingerprint or member.address_fingerprint
    _copy_segment_facts(member, payload)


def _copy_segment_facts(member: Member, payload: dict) -> None:
    """Tags and country, for segment conditions (a payload without tags leaves them as they are)."""
    from app.loyalty.segments import customer_country, customer_tags_text
    tags = customer_tags_text(payload.get("tags"))
    member.customer_tags = member.customer_tags if tags is None else tags
    member.country_code = customer_country(payload) or member.country_code


def _subscribed(payload: dict) -> bool:
    # 2025-01 customer payloads dropped consent; older versions and orders still carry it.
    consent = payload.get("email_marketing_consent") or {}
    return consent.get("state") == "subscribed" or bool(payload.get("accepts_marketing"))


def award_profile_actions(session: Session, shop: Shop, member: Member, *, now: datetime) -> None:
    """The automatic action awards: signup (account enabled), newsletter, profile completion.
    Each is idempotent, so replays and out-of-order deliveries change nothing."""
    if member.account_state == "enabled":
        try_action_points(session, shop, member, "signup", now=now)
    if member.accepts_marketing:
        try_action_points(session, shop, member, "newsletter", now=now)
    if profile_complete(member):
        try_action_points(session, shop, member, "profile_completion", now=now)


def apply_customer(session: Session, shop: Shop, payload: dict, *, now: datetime) -> Member:
    """A customer as Shopify describes it (webhook or import) -> the member and its automatic
    action points."""
    member = get_or_create_member(session, shop, customer_id_of(payload), now=now)
    if member.redacted_at is None:
        _copy_profile(member, payload)
        member.accepts_marketing = member.accepts_marketing or _subscribed(payload)
        award_profile_actions(session, shop, member, now=now)
    refresh_member_metrics(session, shop, [member.id], now=now)
    return member


def handle_customer_webhook(ctx: "HandlerContext") -> None:
    apply_customer(ctx.session, ctx.shop, ctx.payload, now=ctx.now)


def handle_customer_deleted_webhook(ctx: "HandlerContext") -> None:
    member = find_member(ctx.session, ctx.shop, customer_id_of(ctx.payload))
    if member is not None:
        member.account_state = "deleted"


def set_birthday(session: Session, shop: Shop, member: Member, birthday: date, *, now: datetime) -> None:
    """The shopper enters a birthday once (changing it later would allow farming birthday points)."""
    from app.loyalty.errors import ActionNotAllowed, InvalidInput
    if member.birthday is not None and member.birthday != birthday:
        raise ActionNotAllowed("Your birthday is already saved; contact the store to change it.")
    if birthday > now.date() or birthday.year < now.year - 120:
        raise InvalidInput("That birthday is not a valid date.", {"birthday": "must be a past date"})
    member.birthday = birthday
    award_profile_actions(session, shop, member, now=now)
    from app.services.games import follow_member  # the "birthday set" badge
    follow_member(session, shop, member, now=now)
    session.commit()


def block_member(session: Session, member: Member, *, reason: str, now: datetime) -> None:
    member.blocked_at, member.block_reason = now, reason
    session.commit()


def unblock_member(session: Session, member: Member) -> None:
    member.blocked_at, member.block_reason = None, None
    session.commit()
