"""Members: created from customer webhooks and orders, one per Shopify customer per shop."""
from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import Member, Shop
from app.services.inbox import UnprocessableEvent

if TYPE_CHECKING:
    from app.services.inbox import HandlerContext

# No 0/O, 1/I/L: codes get read aloud and typed from phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_referral_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def find_member(session: Session, shop: Shop, customer_id: int) -> Member | None:
    return session.scalar(select(Member).where(Member.shop_id == shop.id, Member.customer_id == customer_id))


def get_or_create_member(session: Session, shop: Shop, customer_id: int) -> Member:
    """Safe under concurrency: two jobs creating the same member end with one row."""
    member = find_member(session, shop, customer_id)
    while member is None:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(Member).values(shop_id=shop.id, customer_id=customer_id,
                                              referral_code=new_referral_code()).on_conflict_do_nothing())
        member = find_member(session, shop, customer_id)  # None only after a referral-code collision
    return member


def customer_id_of(payload: dict) -> int:
    try:
        return int(payload["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UnprocessableEvent("customer payload has no numeric id") from exc


def handle_customer_webhook(ctx: "HandlerContext") -> None:
    member = get_or_create_member(ctx.session, ctx.shop, customer_id_of(ctx.payload))
    payload = ctx.payload
    member.email = payload.get("email") or member.email
    member.first_name = payload.get("first_name") or member.first_name
    member.last_name = payload.get("last_name") or member.last_name
    member.phone = payload.get("phone") or member.phone
    member.account_state = payload.get("state") or member.account_state


def handle_customer_deleted_webhook(ctx: "HandlerContext") -> None:
    member = find_member(ctx.session, ctx.shop, customer_id_of(ctx.payload))
    if member is not None:
        member.account_state = "deleted"
