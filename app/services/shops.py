"""Shops: install (OAuth, token exchange, custom app), uninstall, and fresh access tokens."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Shop
from app.services.program import ensure_default_program
from app.shopify.documents import LIST_WEBHOOK_SUBSCRIPTIONS, SHOP_INFO, SUBSCRIBE_WEBHOOK
from app.shopify.graphql import AdminClient, ShopifyAuthError
from app.shopify.oauth import AccessGrant, OAuthError

if TYPE_CHECKING:
    from app.runtime import Tessera
    from app.services.inbox import HandlerContext

log = logging.getLogger(__name__)

# Refresh an expiring offline token this long before Shopify would reject it.
REFRESH_MARGIN = timedelta(minutes=5)


class ShopNeedsReauth(Exception):
    """The shop's token is gone or refused; the owner must open the app again to reconnect."""


def find_shop(session: Session, domain: str) -> Shop | None:
    return session.scalar(select(Shop).where(Shop.domain == domain))


def shop_id_for(t: "Tessera", domain: str) -> int | None:
    """The shop's id for a webhook, from a per-process cache: shop rows are never deleted
    (shop/redact keeps a tombstone), so a domain's id never changes once known."""
    shop_id = t.shop_ids.get(domain)
    if shop_id is None:
        with t.db.engine.connect() as connection:
            shop_id = connection.execute(select(Shop.id).where(Shop.domain == domain)).scalar()
        if shop_id is not None:
            t.shop_ids[domain] = shop_id
    return shop_id


def _lock_shop(session: Session, shop_id: int) -> Shop:
    # FOR NO KEY UPDATE: held across the refresh call, a plain FOR UPDATE would block every insert
    # that references the shop (the webhook inbox's too), stalling acknowledgements past 5 s.
    return session.scalar(select(Shop).where(Shop.id == shop_id).with_for_update(key_share=True))


def _store_grant(t: "Tessera", shop: Shop, grant: AccessGrant) -> None:
    shop.access_token_ciphertext = t.cipher.encrypt(grant.access_token)
    shop.access_token_expires_at = grant.expires_at
    shop.refresh_token_ciphertext = t.cipher.encrypt(grant.refresh_token) if grant.refresh_token else None
    shop.refresh_token_expires_at = grant.refresh_token_expires_at
    if grant.scope:
        shop.scopes = grant.scope


def install_shop(t: "Tessera", session: Session, domain: str, grant: AccessGrant, *, source: str) -> Shop:
    """Store the shop and its (encrypted) token. A reinstall keeps program, members and ledger."""
    now = t.clock()
    shop = find_shop(session, domain)
    if shop is None:
        shop = Shop(domain=domain, currency="USD")
        session.add(shop)
        session.flush()
    _store_grant(t, shop, grant)
    shop.token_source = source
    if not shop.is_installed:
        shop.installed_at = now
    shop.uninstalled_at = None
    shop.reauth_required_at = None
    shop.reauth_reason = None
    ensure_default_program(session, shop)
    session.commit()
    t.queue.enqueue("finish_install", shop.id)
    return shop


def handle_app_uninstalled_webhook(ctx: "HandlerContext") -> None:
    """Shopify has already revoked the token; forget it. Data stays until shop/redact."""
    shop = ctx.shop
    if shop.uninstalled_at is None or (shop.installed_at and shop.installed_at > shop.uninstalled_at):
        shop.uninstalled_at = ctx.now
    shop.access_token_ciphertext = None
    shop.refresh_token_ciphertext = None
    shop.access_token_expires_at = None
    shop.refresh_token_expires_at = None
    # Other apps' access ends with ours: a token handed out before would otherwise work again
    # the moment the shop reinstalls.
    shop.integration_token_hash = None


def _mark_reauth(session: Session, shop: Shop, reason: str, now: datetime) -> None:
    shop.reauth_required_at = now
    shop.reauth_reason = reason
    session.commit()
    log.error("shop %s needs re-authentication: %s", shop.domain, reason)


def fresh_access_token(t: "Tessera", session: Session, shop: Shop) -> str:
    """A usable access token, refreshing an expiring one shortly before it runs out.

    The refresh token rotates on every use, so the refresh holds the shop row locked and
    stores the new pair in the same transaction. A refused refresh marks the shop as needing
    re-authentication (shown in the admin and `shops list`); queued work stays queued.
    """
    if not shop.access_token_ciphertext:
        raise ShopNeedsReauth(f"{shop.domain} has no access token; open Tessera from the Shopify admin to reconnect")
    now = t.clock()
    if shop.access_token_expires_at is None or shop.access_token_expires_at - now > REFRESH_MARGIN:
        return t.cipher.decrypt(shop.access_token_ciphertext)
    session.commit()  # end any open read so the lock below starts a fresh write transaction
    shop = _lock_shop(session, shop.id)
    if shop.access_token_expires_at and shop.access_token_expires_at - now > REFRESH_MARGIN:
        token = t.cipher.decrypt(shop.access_token_ciphertext)  # another worker refreshed it meanwhile
        session.commit()
        return token
    if not shop.refresh_token_ciphertext:
        _mark_reauth(session, shop, "the access token expired and there is no refresh token", now)
        raise ShopNeedsReauth(f"{shop.domain}: access token expired; open Tessera from the Shopify admin")
    try:
        grant = t.oauth_client().refresh(shop.domain, t.cipher.decrypt(shop.refresh_token_ciphertext), now=now)
    except OAuthError as exc:
        if exc.permanent:
            _mark_reauth(session, shop, f"token refresh refused: {exc}", now)
            raise ShopNeedsReauth(f"{shop.domain}: {exc}; open Tessera from the Shopify admin") from exc
        session.rollback()
        raise
    _store_grant(t, shop, grant)
    session.commit()
    return grant.access_token


def admin_client(t: "Tessera", session: Session, shop: Shop) -> AdminClient:
    token = fresh_access_token(t, session, shop)
    kwargs = {"sleep": t.sleep} if t.sleep else {}
    return AdminClient(shop.domain, token, url=t.endpoints.graphql_url(shop.domain), http=t.http, **kwargs)


def call_admin(t: "Tessera", session: Session, shop: Shop, document, variables=None) -> dict:
    """Run one Admin GraphQL document; a refused token marks the shop for re-authentication."""
    client = admin_client(t, session, shop)
    # Never wait for Shopify inside a transaction: on SQLite even a reading job holds the database
    # write lock (BEGIN IMMEDIATE), and webhook acknowledgements would wait for the HTTP call.
    session.commit()
    try:
        return client.execute(document, variables)
    except ShopifyAuthError as exc:
        _mark_reauth(session, shop, str(exc), t.clock())
        raise ShopNeedsReauth(str(exc)) from exc


def sync_shop_details(t: "Tessera", session: Session, shop: Shop) -> None:
    info = call_admin(t, session, shop, SHOP_INFO)["shop"]
    shop.name = info.get("name") or shop.name
    shop.email = info.get("email") or shop.email
    shop.currency = info.get("currencyCode") or shop.currency
    shop.iana_timezone = info.get("ianaTimezone") or shop.iana_timezone
    shop.money_format = (info.get("currencyFormats") or {}).get("moneyFormat") or shop.money_format
    session.commit()


def register_webhooks(t: "Tessera", session: Session, shop: Shop, topics: list[str]) -> list[str]:
    """Subscribe the shop to `topics` at APP_URL/webhooks, skipping ones already there.
    Returns the topics created. (Compliance topics come from shopify.app.toml only.)"""
    from webhooks.topics import graphql_topic

    callback = f"{t.app_url}/webhooks"
    existing: set[str] = set()
    after = None
    while True:
        page = call_admin(t, session, shop, LIST_WEBHOOK_SUBSCRIPTIONS, {"after": after})["webhookSubscriptions"]
        existing |= {n["topic"] for n in page["nodes"] if (n.get("endpoint") or {}).get("callbackUrl") == callback}
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    created = []
    for topic in topics:
        if graphql_topic(topic) not in existing:
            call_admin(t, session, shop, SUBSCRIBE_WEBHOOK, {
                "topic": graphql_topic(topic), "webhookSubscription": {"callbackUrl": callback, "format": "JSON"}})
            created.append(topic)
    return created
