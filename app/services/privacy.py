"""Mandatory privacy webhooks: customers/data_request, customers/redact, shop/redact."""
from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from app.loyalty.privacy import Subject
from app.loyalty.referrals import normalise_email
from app.models import ApiKey, AppSubscriptionRecord, KlaviyoAccount, KlaviyoSync, WebhookDelivery, WebhookEndpoint
from app.models import (BulkExportLine, GuestReferral, ImportJob, LedgerEntry, Member, MemberNotification, Order, PrivacyRequest,
                        ProgramVersion, RateLimitWindow, Redemption, Referral, Refund, Reward, Shop, WebhookEvent)
from app.services.games_privacy import games_data_export, redact_games_data
from app.models import MemberEmail, RewardReadyMark
from app.queries.member_emails import member_email_export
from app.services.member_emails import forget_member_emails
from app.services.inbox import UnprocessableEvent
from app.services.households import forget_household_invitations
from app.services.referrals import guest_email_digest

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
        **games_data_export(session, shop, member),
        **member_email_export(session, shop.id, member.id),
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


def redact_member(session: Session, shop: Shop, member: Member | None, subject: Subject, now,
                  *, redact_event_id: int | None = None) -> None:
    """Erase the customer's personal data from every table; points history stays (totals unchanged),
    attached to an anonymous member."""
    if member is not None:
        _erase_member_profile(member, subject, now)
        redact_games_data(session, shop, member)
        forget_member_emails(session, shop.id, member.id)
        session.execute(update(Order).where(Order.shop_id == shop.id, Order.member_id == member.id)
                        .values(customer_id=None))
    session.execute(update(Order).where(Order.shop_id == shop.id, Order.customer_id == subject.customer_id)
                    .values(customer_id=None))
    _detach_referrals(session, shop, member, subject)
    _forget_guest_referrals(session, shop, subject)
    forget_household_invitations(session, shop, member, subject.emails)
    _scrub_kept_export_lines(session, shop, subject)
    _scrub_ledger_reasons(session, shop, subject)
    _erase_data_request_exports(session, shop, subject, now)
    erase_delivery_bodies_about(session, shop, subject, now, skip_event_id=redact_event_id)


def _erase_member_profile(member: Member, subject: Subject, now) -> None:
    for attr in ("email", "first_name", "last_name", "phone", "birthday", "address_fingerprint"):
        setattr(member, attr, None)
    if member.block_reason:
        member.block_reason = subject.scrub(member.block_reason)
    member.customer_id = -member.id  # detached from the Shopify customer, unique within the shop
    member.redacted_at = now


def _detach_referrals(session: Session, shop: Shop, member: Member | None, subject: Subject) -> None:
    """The referee side of referrals (a guest referral knows the referee only by email)."""
    as_referee = Referral.referee_customer_id == subject.customer_id
    if member is not None:
        as_referee = or_(as_referee, Referral.referee_member_id == member.id)
    if subject.emails:
        # Guest referrals store the address normalised (no +tag, Gmail dots dropped).
        addresses = subject.emails | {normalise_email(e) for e in subject.emails if normalise_email(e)}
        as_referee = or_(as_referee, func.lower(Referral.referee_email).in_(sorted(addresses)))
    session.execute(update(Referral).where(Referral.shop_id == shop.id, as_referee)
                    .values(referee_email=None, referee_customer_id=None))


def _forget_guest_referrals(session: Session, shop: Shop, subject: Subject) -> None:
    """A guest's referral is kept as a digest of the normalised address; once the customer is
    erased even that goes (the same address could then be welcomed again, which is the lesser harm)."""
    digests = sorted({guest_email_digest(n) for e in subject.emails if (n := normalise_email(e))})
    if digests:
        session.execute(delete(GuestReferral).where(GuestReferral.shop_id == shop.id,
                                                    GuestReferral.email_sha256.in_(digests)))


def _scrub_kept_export_lines(session: Session, shop: Shop, subject: Subject) -> None:
    """Lines of a running orders import wait in bulk_export_lines with the order's customer in
    them. The customer is dropped from their orders (settled as guest orders, so nothing about
    them is created again) and any other mention is scrubbed."""
    last_id = 0
    while True:
        rows = session.execute(select(BulkExportLine.id, BulkExportLine.body).where(
            BulkExportLine.shop_id == shop.id, BulkExportLine.id > last_id)
            .order_by(BulkExportLine.id).limit(1000)).all()
        if not rows:
            return
        for row in rows:
            if subject.is_mentioned_in(row.body.encode()):
                session.execute(update(BulkExportLine).where(BulkExportLine.id == row.id)
                                .values(body=_without_subject(row.body, subject)))
        last_id = rows[-1].id


def _without_subject(line: str, subject: Subject) -> str:
    document = json.loads(line)
    customer = document.get("customer") if isinstance(document, dict) else None
    if isinstance(customer, dict) and str(customer.get("legacyResourceId")) == str(subject.customer_id):
        document["customer"] = None
    return subject.scrub(json.dumps(document))


def _scrub_ledger_reasons(session: Session, shop: Shop, subject: Subject) -> None:
    """Reasons are append-only history, and this is the one edit allowed to them: the erasure the
    law requires. Points, keys and links stay as they were, so every balance is unchanged. Older
    reasons named the referee ("Referred Zelda ..."), and staff may have typed a name."""
    mentions = [LedgerEntry.reason.ilike(f"%{term}%") for term in subject.terms]
    if not mentions:
        return
    rows = session.execute(select(LedgerEntry.id, LedgerEntry.reason)
                           .where(LedgerEntry.shop_id == shop.id, or_(*mentions))).all()
    for row in rows:
        scrubbed = subject.scrub(row.reason)
        if scrubbed != row.reason:
            session.execute(update(LedgerEntry).where(LedgerEntry.shop_id == shop.id, LedgerEntry.id == row.id)
                            .values(reason=scrubbed, reason_code=None, reason_params=None))


def _erase_data_request_exports(session: Session, shop: Shop, subject: Subject, now) -> None:
    """Exports kept for the owner to answer earlier data requests go too: the request stays listed
    (when it came, that it was answered), its contents do not."""
    session.execute(update(PrivacyRequest).where(
        PrivacyRequest.shop_id == shop.id, PrivacyRequest.kind == "data_request",
        PrivacyRequest.customer_id == subject.customer_id).values(
        customer_id=None, export={"erased_at": now.isoformat(), "note": ERASED_EXPORT_NOTE}))


ERASED_EXPORT_NOTE = "erased: the customer was redacted (customers/redact)"
ERASED_BODY_NOTE = "body erased by customers/redact; the delivery will not be applied"


def erase_delivery_bodies_about(session: Session, shop: Shop, subject: Subject, now, *,
                                skip_event_id: int | None = None) -> None:
    """Raw webhook bodies are personal data too. Processed ones are blanked; pending or failed ones
    are blanked and marked failed for good, so neither a retry nor a worker holding one right now
    can apply the customer's data after the redact (its "done" update needs status processing)."""
    last_id = 0
    while True:
        rows = session.execute(select(WebhookEvent.id, WebhookEvent.status, WebhookEvent.body).where(
            WebhookEvent.shop_id == shop.id, WebhookEvent.id > last_id, WebhookEvent.body_erased_at.is_(None))
            .order_by(WebhookEvent.id).limit(500)).all()
        if not rows:
            return
        for row in rows:
            if row.id != skip_event_id and subject.is_mentioned_in(row.body):
                _erase_body(session, row.id, row.status, now)
        last_id = rows[-1].id


def _erase_body(session: Session, event_id: int, status: str, now) -> None:
    values: dict[str, Any] = {"body": b"", "body_erased_at": now}
    if status != "done":
        values.update(status="failed", last_error=ERASED_BODY_NOTE, next_attempt_at=None, locked_by=None,
                      locked_until=None)
    session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id).values(**values))


def handle_customer_redact(ctx: "HandlerContext") -> None:
    customer_id = _customer_id(ctx.payload)
    member = _member(ctx.session, ctx.shop, customer_id)
    subject = Subject.of(ctx.payload["customer"], member)
    request_ref = str(member.id) if member else None
    redact_member(ctx.session, ctx.shop, member, subject, ctx.now, redact_event_id=ctx.event.id)
    ctx.session.execute(update(Order).where(Order.shop_id == ctx.shop.id,
                                            Order.order_id.in_(_order_ids(ctx.payload, "orders_to_redact")))
                        .values(customer_id=None))
    # The redact delivery's own body names the customer: blank it in the transaction that marks it done.
    ctx.event.body, ctx.event.body_erased_at = b"", ctx.now
    ctx.session.add(PrivacyRequest(shop_id=ctx.shop.id, kind="customer_redact", customer_id=None,
                                   request_ref=request_ref, completed_at=ctx.now))


def _order_ids(payload: dict, key: str) -> list[int]:
    return [int(i) for i in payload.get(key) or [] if str(i).isdigit()]


# Children before parents, so foreign keys never block the deletes.
_SHOP_TABLES = (AppSubscriptionRecord, KlaviyoSync, KlaviyoAccount, WebhookDelivery, WebhookEndpoint, ApiKey,
                MemberEmail, RewardReadyMark,
                GuestReferral, RateLimitWindow, MemberNotification, Referral, LedgerEntry, Redemption, Refund, Order,
                PrivacyRequest, BulkExportLine, ImportJob, Reward, Member, ProgramVersion)


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
