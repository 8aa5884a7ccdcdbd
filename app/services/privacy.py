"""Mandatory privacy webhooks: customers/data_request, customers/redact, shop/redact."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.models import (ImportJob, LedgerEntry, Member, MemberNotification, Order, PrivacyRequest, ProgramVersion,
                        Redemption, Referral, Refund, Reward, Shop, WebhookEvent)
from app.services.inbox import UnprocessableEvent

if TYPE_CHECKING:
    from app.services.inbox import HandlerContext

log = logging.getLogger(__name__)


def _customer_id(payload: dict) -> int:
    try:
        return int(payload["customer"]["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UnprocessableEvent("compliance payload has no customer.id") from exc


def _member(session: Session, shop: Shop, customer_id: int) -> Member | None:
    return session.scalar(select(Member).where(Member.shop_id == shop.id, Member.customer_id == customer_id))


def member_data_export(session: Session, shop: Shop, member: Member) -> dict[str, Any]:
    """Everything Tessera holds about one member, in plain JSON."""
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.shop_id == shop.id,
                                                        LedgerEntry.member_id == member.id).order_by(LedgerEntry.id))
    redemptions = session.scalars(select(Redemption).where(Redemption.shop_id == shop.id,
                                                           Redemption.member_id == member.id).order_by(Redemption.id))
    referrals = session.scalars(select(Referral).where(Referral.shop_id == shop.id,
                                                       Referral.referrer_member_id == member.id))
    return {
        "customer_id": member.customer_id, "email": member.email, "first_name": member.first_name,
        "last_name": member.last_name, "phone": member.phone,
        "birthday": member.birthday.isoformat() if member.birthday else None,
        "referral_code": member.referral_code, "tier": member.tier_key,
        "joined_at": member.created_at.isoformat(), "blocked": member.blocked_at is not None,
        "ledger": [{"created_at": e.created_at.isoformat(), "kind": e.kind, "points": e.points, "reason": e.reason}
                   for e in entries],
        "redemptions": [{"created_at": r.created_at.isoformat(), "code": r.code, "status": r.status,
                         "points_spent": r.points_spent} for r in redemptions],
        "referrals_made": [{"created_at": r.created_at.isoformat(), "status": r.status} for r in referrals],
    }


def handle_customer_data_request(ctx: "HandlerContext") -> None:
    """Shopify asks the merchant for the customer's data: keep the export for the owner."""
    customer_id = _customer_id(ctx.payload)
    member = _member(ctx.session, ctx.shop, customer_id)
    export = member_data_export(ctx.session, ctx.shop, member) if member else {"customer_id": customer_id,
                                                                                "note": "Tessera holds no data"}
    ref = str((ctx.payload.get("data_request") or {}).get("id") or "")
    ctx.session.add(PrivacyRequest(shop_id=ctx.shop.id, kind="data_request", customer_id=customer_id,
                                   request_ref=ref or None, export=export, completed_at=ctx.now))


def redact_member(session: Session, shop: Shop, member: Member, now) -> None:
    """Erase personal data; points history stays, attached to an anonymous member."""
    original_customer_id = member.customer_id
    for attr in ("email", "first_name", "last_name", "phone", "birthday", "address_fingerprint"):
        setattr(member, attr, None)
    member.customer_id = -member.id  # detached from the Shopify customer, unique within the shop
    member.redacted_at = now
    session.execute(update(Referral).where(Referral.shop_id == shop.id, Referral.referee_member_id == member.id)
                    .values(referee_email=None, referee_customer_id=None))
    session.execute(update(Order).where(Order.shop_id == shop.id, Order.customer_id == original_customer_id)
                    .values(customer_id=None))
    _purge_delivery_bodies(session, shop, str(original_customer_id).encode())


def _purge_delivery_bodies(session: Session, shop: Shop, needle: bytes) -> None:
    """Raw webhook bodies are personal data too: blank the processed ones that mention the customer."""
    last_id = 0
    while True:
        rows = session.execute(select(WebhookEvent.id, WebhookEvent.body).where(
            WebhookEvent.shop_id == shop.id, WebhookEvent.status == "done", WebhookEvent.id > last_id)
            .order_by(WebhookEvent.id).limit(500)).all()
        if not rows:
            return
        hits = [r.id for r in rows if needle in r.body]
        if hits:
            session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(hits)).values(body=b"{}"))
        last_id = rows[-1].id


def handle_customer_redact(ctx: "HandlerContext") -> None:
    customer_id = _customer_id(ctx.payload)
    member = _member(ctx.session, ctx.shop, customer_id)
    if member is not None:
        redact_member(ctx.session, ctx.shop, member, ctx.now)
    ctx.session.add(PrivacyRequest(shop_id=ctx.shop.id, kind="customer_redact", customer_id=None,
                                   request_ref=str(member.id) if member else None, completed_at=ctx.now))


# Children before parents, so foreign keys never block the deletes.
_SHOP_TABLES = (MemberNotification, Referral, LedgerEntry, Redemption, Refund, Order, PrivacyRequest, ImportJob,
                Reward, Member, ProgramVersion)


def handle_shop_redact(ctx: "HandlerContext") -> None:
    """48 h after uninstall: erase the shop's data, keeping a bare tombstone row for the domain."""
    shop = ctx.shop
    if shop.is_installed:
        log.warning("shop/redact for %s ignored: the shop has reinstalled Tessera", shop.domain)
        return
    session = ctx.session
    session.execute(update(Member).where(Member.shop_id == shop.id).values(referred_by_member_id=None))
    session.execute(update(LedgerEntry).where(LedgerEntry.shop_id == shop.id).values(reverses_entry_id=None))
    session.execute(update(Referral).where(Referral.shop_id == shop.id).values(welcome_redemption_id=None))
    for model in _SHOP_TABLES:
        session.execute(delete(model).where(model.shop_id == shop.id))
    session.execute(delete(WebhookEvent).where(WebhookEvent.shop_id == shop.id, WebhookEvent.id != ctx.event.id))
    for attr in ("name", "email", "money_format", "iana_timezone", "access_token_ciphertext", "scopes",
                 "refresh_token_ciphertext", "access_token_expires_at", "refresh_token_expires_at",
                 "integration_token_hash"):
        setattr(shop, attr, None)
    session.add(PrivacyRequest(shop_id=shop.id, kind="shop_redact", completed_at=ctx.now))
