"""A member's state on their Shopify customer, under the app-reserved namespace `$app:loyalty`,
so themes (Liquid), Flow, Klaviyo and Shopify's own emails can read it.

- At install and in the daily upkeep, the four definitions are created with storefront read
  access (a definition that already exists is success: the upkeep is idempotent).
- The member-events consumer marks a member dirty (no HTTP, in the dispatcher's transaction).
- Every ~30 s, `write_due_metafields` writes the dirty members whose last write is a minute old
  or more: at most one write per member per minute, each within about a minute of a change,
  25 metafields per metafieldsSet call (Shopify's limit), so 6 members a call.
The ledger stays the truth; these are a display copy.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import Database
from app.loyalty.events import MemberEvent
from app.loyalty.ledger import Balance
from app.models import CustomerMetafieldSync, Member, Shop
from app.services.ledger import balances_of
from app.services.program import current_program
from app.services.set_sql import among, insert_rows
from app.shopify.admin_access import AdminAccess, ShopNeedsReauth, call_admin
from app.shopify.documents import CREATE_METAFIELD_DEFINITION, SET_METAFIELDS
from app.shopify.graphql import ShopifyError, ShopifyUserErrors

log = logging.getLogger(__name__)

NAMESPACE = "$app:loyalty"
# key -> (Shopify type, name shown to the owner in the admin)
DEFINITIONS = {
    "points_balance": ("number_integer", "Loyalty points balance"),
    "points_pending": ("number_integer", "Loyalty points pending"),
    "tier": ("single_line_text_field", "Loyalty tier"),
    "referral_url": ("url", "Loyalty referral link"),
}
MAX_METAFIELDS_PER_CALL = 25
MEMBERS_PER_CALL = MAX_METAFIELDS_PER_CALL // len(DEFINITIONS)
WRITE_INTERVAL = timedelta(minutes=1)
RETRY_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))


# ---- definitions ------------------------------------------------------------------------------

def ensure_metafield_definitions(access: AdminAccess, session: Session, shop: Shop) -> list[str]:
    """Create the customer metafield definitions Shopify does not have yet; returns the keys
    created. "Already exists" (TAKEN) is what a second run sees, and is success."""
    created = []
    for key, (kind, name) in DEFINITIONS.items():
        definition = {"name": name, "namespace": NAMESPACE, "key": key, "type": kind, "ownerType": "CUSTOMER",
                      "description": "Kept up to date by Tessera Loyalty; read-only copy of the points ledger.",
                      "access": {"storefront": "PUBLIC_READ"}}
        try:
            call_admin(access, session, shop, CREATE_METAFIELD_DEFINITION, {"definition": definition})
            created.append(key)
        except ShopifyUserErrors as exc:
            if exc.codes != {"TAKEN"}:
                raise
    return created


# ---- the member-events consumer ---------------------------------------------------------------

def mark_members_for_metafields(session: Session, events: list[MemberEvent], *, now: datetime) -> None:
    """Every member an event touched gets their metafields rewritten soon. Marking twice is the
    same as once, so a batch handed over again changes nothing."""
    members = {(e.shop_id, e.member_id) for e in events}
    if not members:
        return
    insert_rows(session, CustomerMetafieldSync.__table__,
                [{"shop_id": shop_id, "member_id": member_id, "dirty_since": now, "written_at": None, "failures": 0,
                  "retry_at": None, "last_error": None} for shop_id, member_id in sorted(members)],
                conflict=("shop_id", "member_id"))
    for shop_id, member_ids in _by_shop(members).items():
        session.execute(update(CustomerMetafieldSync).where(
            CustomerMetafieldSync.shop_id == shop_id, among(session, CustomerMetafieldSync.member_id, member_ids),
            CustomerMetafieldSync.dirty_since.is_(None)).values(dirty_since=now)
            .execution_options(synchronize_session=False))


def _by_shop(members: set[tuple[int, int]]) -> dict[int, list[int]]:
    grouped: dict[int, list[int]] = {}
    for shop_id, member_id in sorted(members):
        grouped.setdefault(shop_id, []).append(member_id)
    return grouped


# ---- the periodic write -----------------------------------------------------------------------

@dataclass(frozen=True)
class MemberMetafields:
    member_id: int
    dirty_since: datetime
    values: list[dict]


def write_due_metafields(access: AdminAccess, db: Database, *, now: datetime, limit: int = 600) -> int:
    """Write the metafields of members due for it, shop by shop; returns how many were written."""
    with db.scope(read_only=True) as session:
        shop_ids = session.scalars(_due(now).with_only_columns(CustomerMetafieldSync.shop_id).distinct()).all()
    written = 0
    for shop_id in shop_ids:
        with db.scope() as session:
            written += _write_shop(access, session, session.get(Shop, shop_id), now, limit)
    return written


def _due(now: datetime):
    return select(CustomerMetafieldSync).where(
        CustomerMetafieldSync.dirty_since.is_not(None),
        (CustomerMetafieldSync.written_at.is_(None)) | (CustomerMetafieldSync.written_at <= now - WRITE_INTERVAL),
        (CustomerMetafieldSync.retry_at.is_(None)) | (CustomerMetafieldSync.retry_at <= now))


def _write_shop(access: AdminAccess, session: Session, shop: Shop, now: datetime, limit: int) -> int:
    if shop is None or not shop.is_installed or shop.reauth_required_at is not None:
        return 0
    batch = member_metafields(session, shop, now, limit)
    session.commit()  # end the read: Shopify is called outside any open transaction
    written = 0
    for start in range(0, len(batch), MEMBERS_PER_CALL):
        chunk = batch[start:start + MEMBERS_PER_CALL]
        try:
            call_admin(access, session, shop, SET_METAFIELDS, {"metafields": [v for m in chunk for v in m.values]})
        except (ShopifyError, ShopNeedsReauth) as exc:
            _record_failure(session, shop, chunk, now, exc)
            continue
        _record_written(session, shop, chunk, now)
        written += len(chunk)
    return written


def member_metafields(session: Session, shop: Shop, now: datetime, limit: int) -> list[MemberMetafields]:
    """The due members of a shop with the metafields that show them as the ledger does."""
    rows = session.execute(_due(now).where(CustomerMetafieldSync.shop_id == shop.id)
                           .with_only_columns(CustomerMetafieldSync.member_id, CustomerMetafieldSync.dirty_since)
                           .order_by(CustomerMetafieldSync.dirty_since).limit(limit)).all()
    if not rows:
        return []
    members = {m.id: m for m in session.scalars(select(Member).where(
        Member.shop_id == shop.id, among(session, Member.id, [r.member_id for r in rows])))}
    balances = balances_of(session, shop.id, list(members), now)
    _, program = current_program(session, shop)
    return [MemberMetafields(r.member_id, r.dirty_since,
                             metafield_values(shop, members[r.member_id], balances.get(r.member_id, Balance(0, 0, 0)),
                                              program))
            for r in rows if r.member_id in members]


def metafield_values(shop: Shop, member: Member, balance: Balance, program) -> list[dict]:
    """A member's metafields. A tier or referral link the member does not have is left out
    (Shopify refuses blank values); a tier name the owner renamed is written as it is now."""
    owner = f"gid://shopify/Customer/{member.customer_id}"
    tier = program.tier(member.tier_key) if member.tier_key else None
    values = {"points_balance": str(balance.balance), "points_pending": str(balance.pending),
              "tier": tier.name if tier else None,
              "referral_url": f"https://{shop.domain}/?ref={member.referral_code}" if member.referral_code else None}
    return [{"ownerId": owner, "namespace": NAMESPACE, "key": key, "type": DEFINITIONS[key][0], "value": value}
            for key, value in values.items() if value]


def _record_written(session: Session, shop: Shop, chunk: list[MemberMetafields], now: datetime) -> None:
    """Clean again, unless a change arrived while Shopify was being called (then the member
    stays dirty and is written after the minute)."""
    for member in chunk:
        row = (CustomerMetafieldSync.shop_id == shop.id, CustomerMetafieldSync.member_id == member.member_id)
        session.execute(update(CustomerMetafieldSync).where(*row).values(
            written_at=now, failures=0, retry_at=None, last_error=None).execution_options(synchronize_session=False))
        session.execute(update(CustomerMetafieldSync).where(
            *row, CustomerMetafieldSync.dirty_since == member.dirty_since).values(dirty_since=None)
            .execution_options(synchronize_session=False))
    session.commit()


def _record_failure(session: Session, shop: Shop, chunk: list[MemberMetafields], now: datetime,
                    exc: Exception) -> None:
    log.warning("metafields of %d members of %s not written: %s", len(chunk), shop.domain, exc)
    for member in chunk:
        row = session.scalar(select(CustomerMetafieldSync).where(
            CustomerMetafieldSync.shop_id == shop.id, CustomerMetafieldSync.member_id == member.member_id))
        row.failures += 1
        row.retry_at = now + RETRY_BACKOFF[min(row.failures, len(RETRY_BACKOFF)) - 1]
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    session.commit()
