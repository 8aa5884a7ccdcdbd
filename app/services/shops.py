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
from app.shopify.graphql import AdminClient, PartialResult, ShopifyAuthError
from app.shopify.oauth import AccessGrant, OAuthError

if TYPE_CHECKING:
    from app.runtime import Tessera
    from app.services.inbox import HandlerContext

log = logging.getLogger(__name__)

# Refresh an expiring offline token this long before Shopify would reject it.
REFRESH_MARGIN = timedelta(minutes=5)
# token_source of a Dev Dashboard app on its own store (`shops add` without --token).
CLIENT_CREDENTIALS = "client_credentials"


class ShopNeedsReauth(Exception):
    """The shop's token is gone or refused; the owner must open the app again to reconnect."""


def find_shop(session: Session, domain: str) -> Shop | None:
    return session.scalar(select(Shop).where(Shop.domain == domain))


def webhook_recipient(t: "Tessera", domain: str) -> tuple[int, bool] | None:
    """(shop id, installed now?) for a webhook's shop domain, or None for a shop we never had.
    Read on every delivery: the installed state changes, unlike the id."""
    with t.db.session(read_only=True) as session:  # on SQLite, not behind the inbox writes' lock
        row = session.execute(select(Shop.id, Shop.installed_at, Shop.uninstalled_at)
                              .where(Shop.domain == domain)).first()
    if row is None:
        return None
    return row.id, row.installed_at is not None and row.uninstalled_at is None


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
    # Every grant from an install flow starts the current installation, even when the previous
    # one's app/uninstalled has not arrived yet: that delivery must not undo this install.
    shop.installed_at = now
    shop.uninstalled_at = None
    flagged_at = _clear_reauth(shop)
    ensure_default_program(session, shop)
    session.commit()
    t.queue.enqueue("finish_install", shop.id)
    _resume_what_waited(t, shop, flagged_at)
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


def _mark_reauth(session: Session, shop: Shop, reason: str, now: datetime) -> None:
    # The first refusal dates the outage: what stopped since then is resumed on reconnecting.
    shop.reauth_required_at = shop.reauth_required_at or now
    shop.reauth_reason = reason
    session.commit()
    log.error("shop %s needs re-authentication: %s", shop.domain, reason)


def fresh_access_token(t: "Tessera", session: Session, shop: Shop) -> str:
    """A usable access token, renewed shortly before it runs out.

    The refresh token rotates on every use, so the renewal holds the shop row locked and
    stores the new grant in the same transaction. A refused renewal marks the shop as needing
    re-authentication (shown in the admin and `shops list`); queued work stays queued. A
    temporary failure (Shopify down, 429 after retries) raises OAuthError and marks nothing.
    """
    if not shop.access_token_ciphertext:
        raise ShopNeedsReauth(f"{shop.domain} has no access token; {reconnect_advice(shop)}")
    now = t.clock()
    if shop.access_token_expires_at is None or shop.access_token_expires_at - now > REFRESH_MARGIN:
        return t.cipher.decrypt(shop.access_token_ciphertext)
    session.commit()  # end any open read so the lock below starts a fresh write transaction
    shop = _lock_shop(session, shop.id)
    if shop.access_token_expires_at and shop.access_token_expires_at - now > REFRESH_MARGIN:
        token = t.cipher.decrypt(shop.access_token_ciphertext)  # another worker refreshed it meanwhile
        session.commit()
        return token
    grant = _renewed_grant(t, session, shop, now)
    _store_grant(t, shop, grant)
    flagged_at = _clear_reauth(shop)  # Shopify granted a token again: the shop is back
    session.commit()
    _resume_what_waited(t, shop, flagged_at)
    return grant.access_token


def _renewed_grant(t: "Tessera", session: Session, shop: Shop, now: datetime) -> AccessGrant:
    """Client-credentials shops ask for a new token; the others spend their refresh token."""
    if shop.token_source != CLIENT_CREDENTIALS and not shop.refresh_token_ciphertext:
        _mark_reauth(session, shop, "the access token expired and there is no refresh token", now)
        raise ShopNeedsReauth(f"{shop.domain}: access token expired; {reconnect_advice(shop)}")
    try:
        if shop.token_source == CLIENT_CREDENTIALS:
            return t.oauth_client().client_credentials(shop.domain, now=now)
        return t.oauth_client().refresh(shop.domain, t.cipher.decrypt(shop.refresh_token_ciphertext), now=now)
    except OAuthError as exc:
        if exc.permanent:
            _mark_reauth(session, shop, f"token renewal refused: {exc}", now)
            raise ShopNeedsReauth(f"{shop.domain}: {exc}; {reconnect_advice(shop)}") from exc
        session.rollback()
        raise


def reconnect_advice(shop: Shop) -> str:
    """What brings a shop back: the embedded app reconnects itself when opened; a store set up
    with `shops add` gets its token from the command line."""
    if shop.token_source == CLIENT_CREDENTIALS:
        return (f"check the app is still installed on the store, then run `flask --app wsgi shops add {shop.domain}` "
                "on the Tessera server")
    if shop.token_source == "custom_app":
        return (f"create a new Admin API token for the custom app and run `flask --app wsgi shops add {shop.domain} "
                "--token NEW_TOKEN` on the Tessera server")
    return "open Tessera again from Apps in the Shopify admin"


def reconnect_shop(t: "Tessera", session: Session, shop_id: int, grant: AccessGrant) -> None:
    """A shop that needed re-authentication has a working token again: store it, clear the flag,
    and put back to work what waited for it."""
    shop = _lock_shop(session, shop_id)
    _store_grant(t, shop, grant)
    flagged_at = _clear_reauth(shop)
    session.commit()
    _resume_what_waited(t, shop, flagged_at)


def _clear_reauth(shop: Shop) -> datetime | None:
    """Forget the re-authentication flag; returns when it was raised (None if it was not)."""
    flagged_at = shop.reauth_required_at
    shop.reauth_required_at = None
    shop.reauth_reason = None
    return flagged_at


def _resume_what_waited(t: "Tessera", shop: Shop, flagged_at: datetime | None) -> None:
    if flagged_at is not None:
        log.info("shop %s reconnected", shop.domain)
        t.queue.enqueue("resume_after_reconnect", shop.id, flagged_at.isoformat())


def admin_client(t: "Tessera", session: Session, shop: Shop) -> AdminClient:
    token = fresh_access_token(t, session, shop)
    kwargs = {"sleep": t.sleep} if t.sleep else {}
    return AdminClient(shop.domain, token, url=t.endpoints.graphql_url(shop.domain), http=t.http, **kwargs)


def call_admin(t: "Tessera", session: Session, shop: Shop, document, variables=None, **options) -> dict:
    """Run one Admin GraphQL document; a refused token marks the shop for re-authentication.
    `options` go to AdminClient.execute (retry_ambiguous, deadline)."""
    client = admin_client(t, session, shop)
    # Never wait for Shopify inside a transaction: on SQLite even a reading job holds the database
    # write lock (BEGIN IMMEDIATE), and webhook acknowledgements would wait for the HTTP call.
    session.commit()
    try:
        return client.execute(document, variables, **options)
    except ShopifyAuthError as exc:
        _mark_reauth(session, shop, str(exc), t.clock())
        raise ShopNeedsReauth(str(exc)) from exc


def call_admin_partial(t: "Tessera", session: Session, shop: Shop, document, variables=None) -> PartialResult:
    """`call_admin` for a caller that can do without fields Shopify withholds (ACCESS_DENIED on
    fields): the data with the withheld fields listed."""
    client = admin_client(t, session, shop)
    try:
        return client.execute_partial(document, variables)
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
        existing |= {n["topic"] for n in page["nodes"] if n.get("uri") == callback}
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    created = []
    for topic in topics:
        if graphql_topic(topic) not in existing:
            call_admin(t, session, shop, SUBSCRIBE_WEBHOOK, {
                "topic": graphql_topic(topic), "webhookSubscription": {"uri": callback, "format": "JSON"}})
            created.append(topic)
    return created
