"""Signup points at first sight of a signed-in customer.

Classic customer accounts announce the account with `state: enabled` (customers webhooks). New
customer accounts, the only kind a store created today has, never change `state` (it stays
`disabled`), so the first App Proxy request carrying the customer's signed
`logged_in_customer_id` is the moment they are known to have an account. Both paths post the same
ledger key (`member:{id}:action:signup`), so a customer is paid once, ever, whichever path comes first.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database
from app.loyalty.ledger import action_key
from app.loyalty.orders import parse_time
from app.models import LedgerEntry, Member, Shop
from app.services.actions import try_action_points
from app.services.ledger import lock_member
from app.services.members import find_member, get_or_create_member
from app.services.program import current_program
from app.shopify.admin_access import AdminAccess, ShopNeedsReauth, call_admin
from app.shopify.documents import SIGNED_IN_CUSTOMER
from app.shopify.graphql import ShopifyError
from app.shopify.oauth import OAuthError

log = logging.getLogger(__name__)


def _signup_due(session: Session, shop: Shop, member: Member | None) -> bool:
    """A read-only check, so the widget's usual load of a known member writes nothing."""
    _, program = current_program(session, shop)
    if not program.actions.signup.enabled:
        return False
    if member is None:
        return True
    if member.blocked_at is not None or member.redacted_at is not None:
        return False
    return session.scalar(select(LedgerEntry.id).where(
        LedgerEntry.shop_id == shop.id, LedgerEntry.entry_key == action_key(member.id, "signup"))) is None


def _customer_from_shopify(db: Database, admin: AdminAccess, shop_id: int, customer_id: int) -> dict | None:
    """The customer as the Admin API has it; None when Shopify cannot say right now (the next
    request asks again) or the id is not a customer of this shop."""
    with db.scope() as session:
        shop = session.get(Shop, shop_id)
        session.commit()  # hold no write lock while Shopify answers
        try:
            data = call_admin(admin, session, shop, SIGNED_IN_CUSTOMER,
                                    {"id": f"gid://shopify/Customer/{customer_id}"})
        except (ShopifyError, ShopNeedsReauth, OAuthError) as exc:
            log.warning("signup for customer %s of %s postponed: %s", customer_id, shop.domain, exc)
            return None
    return data.get("customer")


def _enrol(session: Session, shop: Shop, customer_id: int, customer: dict | None, now) -> Member:
    member = get_or_create_member(session, shop, customer_id, now=now)
    if customer is not None and member.redacted_at is None:
        member.email = member.email or (customer.get("defaultEmailAddress") or {}).get("emailAddress")
        member.phone = member.phone or (customer.get("defaultPhoneNumber") or {}).get("phoneNumber")
        member.first_name = member.first_name or customer.get("firstName")
        member.last_name = member.last_name or customer.get("lastName")
        member.account_state = member.account_state or (customer.get("state") or "").lower() or None
        member.customer_created_at = member.customer_created_at or parse_time(customer.get("createdAt"))
        member.locale = member.locale or (customer.get("locale") or "")[:16] or None
    return member


def welcome_signed_in_customer(db: Database, admin: AdminAccess, shop_id: int, customer_id: int, *,
                               clock: Callable[[], datetime]) -> None:
    """Enrol a signed-in customer on first sight and pay the signup action if it is still due.
    Safe to run on every widget load: concurrent first loads post one entry (unique key)."""
    with db.scope(read_only=True) as session:
        shop = session.get(Shop, shop_id)
        member = find_member(session, shop, customer_id)
        if not _signup_due(session, shop, member):
            return
    customer = None
    if member is None:
        if shop.reauth_required_at is not None:
            return  # no token Shopify accepts: enrol after the shop reconnects
        customer = _customer_from_shopify(db, admin, shop_id, customer_id)
        if customer is None:
            return
    with db.scope() as session:
        shop, now = session.get(Shop, shop_id), clock()
        member = _enrol(session, shop, customer_id, customer, now)
        lock_member(session, member)
        try_action_points(session, shop, member, "signup", now=now)
        session.commit()
