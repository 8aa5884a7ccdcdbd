"""Shops: install (OAuth, token exchange, custom app), uninstall, reconnect, shop details and
webhook subscriptions. Tokens and Admin API calls live in app/shopify/admin_access.py."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crypto import TokenCipher
from app.db import Database
from app.models import Shop
from app.services.api_keys import revoke_all_api_keys
from app.services.program import ensure_default_program
from app.shopify.admin_access import (CLIENT_CREDENTIALS, AdminAccess, ShopNeedsReauth, call_admin, clear_reauth,
                                      lock_shop, resume_what_waited, store_grant)
from app.shopify.documents import LIST_WEBHOOK_SUBSCRIPTIONS, SHOP_INFO, SUBSCRIBE_WEBHOOK, subscription_topic
from app.shopify.oauth import AccessGrant

if TYPE_CHECKING:
    from app.jobs.queues import Queue
    from app.services.inbox import HandlerContext

log = logging.getLogger(__name__)

# Jobs and the CLI catch ShopNeedsReauth and name CLIENT_CREDENTIALS through this module.
__all__ = ["CLIENT_CREDENTIALS", "ShopNeedsReauth", "find_shop", "handle_app_uninstalled_webhook", "install_shop", "reconnect_shop",
           "register_webhooks", "sync_shop_details", "webhook_recipient"]


def find_shop(session: Session, domain: str) -> Shop | None:
    return session.scalar(select(Shop).where(Shop.domain == domain))


def webhook_recipient(db: Database, domain: str) -> tuple[int, bool] | None:
    """(shop id, installed now?) for a webhook's shop domain, or None for a shop we never had.
    Read on every delivery: the installed state changes, unlike the id."""
    with db.session(read_only=True) as session:  # on SQLite, not behind the inbox writes' lock
        row = session.execute(select(Shop.id, Shop.installed_at, Shop.uninstalled_at)
                              .where(Shop.domain == domain)).first()
    if row is None:
        return None
    return row.id, row.installed_at is not None and row.uninstalled_at is None


def install_shop(session: Session, domain: str, grant: AccessGrant, *, source: str, cipher: TokenCipher,
                 queue: "Queue", now: datetime) -> Shop:
    """Store the shop and its (encrypted) token. A reinstall keeps program, members and ledger."""
    shop = find_shop(session, domain)
    if shop is None:
        shop = Shop(domain=domain, currency="USD")
        session.add(shop)
        session.flush()
    store_grant(cipher, shop, grant)
    shop.token_source = source
    # Every grant from an install flow starts the current installation, even when the previous
    # one's app/uninstalled has not arrived yet: that delivery must not undo this install.
    shop.installed_at = now
    shop.uninstalled_at = None
    flagged_at = clear_reauth(shop)
    ensure_default_program(session, shop)
    session.commit()
    queue.enqueue("finish_install", shop.id)
    resume_what_waited(queue, shop, flagged_at)
    return shop


def handle_app_uninstalled_webhook(ctx: "HandlerContext") -> None:
    """Shopify has already revoked the token; forget it. Data stays until shop/redact.
    A delivery triggered before the current installation is about an earlier one (Shopify
    retries for hours; the owner may have reinstalled meanwhile) and is ignored."""
    shop = ctx.shop
    triggered_at = ctx.event.triggered_at
    if triggered_at and shop.installed_at and triggered_at < shop.installed_at:
        log.info("app/uninstalled for %s triggered %s, before the current installation (%s): ignored",
                 shop.domain, triggered_at.isoformat(), shop.installed_at.isoformat())
        return
    if shop.uninstalled_at is None or (shop.installed_at and shop.installed_at > shop.uninstalled_at):
        shop.uninstalled_at = ctx.now
    shop.access_token_ciphertext = None
    shop.refresh_token_ciphertext = None
    shop.access_token_expires_at = None
    shop.refresh_token_expires_at = None
    # Other apps' access ends with ours: a token handed out before would otherwise work again
    # the moment the shop reinstalls.
    shop.integration_token_hash = None
    revoke_all_api_keys(ctx.session, shop.id, now=ctx.now)


def reconnect_shop(session: Session, shop_id: int, grant: AccessGrant, *, cipher: TokenCipher,
                   queue: "Queue") -> None:
    """A shop that needed re-authentication has a working token again: store it, clear the flag,
    and put back to work what waited for it."""
    shop = lock_shop(session, shop_id)
    store_grant(cipher, shop, grant)
    flagged_at = clear_reauth(shop)
    session.commit()
    resume_what_waited(queue, shop, flagged_at)


def sync_shop_details(admin: AdminAccess, session: Session, shop: Shop) -> None:
    info = call_admin(admin, session, shop, SHOP_INFO)["shop"]
    shop.name = info.get("name") or shop.name
    shop.email = info.get("email") or shop.email
    shop.currency = info.get("currencyCode") or shop.currency
    shop.iana_timezone = info.get("ianaTimezone") or shop.iana_timezone
    shop.money_format = (info.get("currencyFormats") or {}).get("moneyFormat") or shop.money_format
    session.commit()


def register_webhooks(admin: AdminAccess, session: Session, shop: Shop, topics: list[str], *, app_url: str
                      ) -> list[str]:
    """Subscribe the shop to `topics` at APP_URL/webhooks, skipping ones already there.
    Returns the topics created. (Compliance topics come from shopify.app.toml only.)"""
    callback = f"{app_url}/webhooks"
    existing: set[str] = set()
    after = None
    while True:
        page = call_admin(admin, session, shop, LIST_WEBHOOK_SUBSCRIPTIONS, {"after": after})["webhookSubscriptions"]
        existing |= {n["topic"] for n in page["nodes"] if n.get("uri") == callback}
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    created = []
    for topic in topics:
        if subscription_topic(topic) not in existing:
            call_admin(admin, session, shop, SUBSCRIBE_WEBHOOK, {
                "topic": subscription_topic(topic), "webhookSubscription": {"uri": callback, "format": "JSON"}})
            created.append(topic)
    return created
