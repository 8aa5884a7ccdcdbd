"""Access to a shop's Admin API: a fresh access token and the GraphQL call made with it.

Token renewal writes (the rotated refresh token, the needs-reauth flag), so it runs in a short
transaction of its own and never commits the caller's session. The caller's session must hold
no uncommitted writes when it asks Shopify for something: its open read is ended first, because
on SQLite even a reading writer-session holds the write lock (BEGIN IMMEDIATE) and webhook
acknowledgements would wait for the HTTP call.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crypto import TokenCipher
from app.db import Database, has_uncommitted_writes
from app.models import Shop
from app.shopify.graphql import AdminClient, PartialResult, ShopifyAuthError
from app.shopify.oauth import AccessGrant, OAuthClient, OAuthError, ShopifyEndpoints

if TYPE_CHECKING:
    from app.jobs.queues import Queue

log = logging.getLogger(__name__)

# Refresh an expiring offline token this long before Shopify would reject it.
REFRESH_MARGIN = timedelta(minutes=5)
# token_source of a Dev Dashboard app on its own store (`shops add` without --token).
CLIENT_CREDENTIALS = "client_credentials"


class ShopNeedsReauth(Exception):
    """The shop's token is gone or refused; the owner must open the app again to reconnect."""


class UncommittedWrites(RuntimeError):
    """A caller asked Shopify for something while holding writes: commit (or roll back) first, so
    a slow or failed Shopify call neither holds locks nor decides the fate of those writes."""


@dataclass(frozen=True)
class AdminAccess:
    """What talking to a shop's Admin API takes: where Shopify is, how to renew a token, the
    database for the renewal's own transaction, and the queue that resumes work after a reconnect.
    Use cases receive this instead of the whole runtime (Tessera.shopify builds it)."""
    db: Database
    cipher: TokenCipher
    endpoints: ShopifyEndpoints
    oauth_client: Callable[[], OAuthClient]
    queue: "Queue"
    clock: Callable[[], datetime]
    http: requests.Session
    # Sleep between Shopify retries; tests replace it so backoff costs no wall time.
    sleep: Callable[[float], None] | None = None
    # Elapsed-time clock of request budgets (a redemption's deadline); tests advance a fake one.
    monotonic: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class ShopCredentials:
    """What token renewal needs of a shop, read before the caller's transaction ends."""
    shop_id: int
    domain: str
    token_source: str | None
    access_token_ciphertext: str | None
    access_token_expires_at: datetime | None

    @classmethod
    def of(cls, shop: Shop) -> "ShopCredentials":
        return cls(shop.id, shop.domain, shop.token_source, shop.access_token_ciphertext,
                   shop.access_token_expires_at)


def reconnect_advice(shop: Shop | ShopCredentials) -> str:
    """What brings a shop back: the embedded app reconnects itself when opened; a store set up
    with `shops add` gets its token from the command line."""
    if shop.token_source == CLIENT_CREDENTIALS:
        return (f"check the app is still installed on the store, then run `flask --app wsgi shops add {shop.domain}` "
                "on the Tessera server")
    if shop.token_source == "custom_app":
        return (f"create a new Admin API token for the custom app and run `flask --app wsgi shops add {shop.domain} "
                "--token NEW_TOKEN` on the Tessera server")
    return "open Tessera again from Apps in the Shopify admin"


def lock_shop(session: Session, shop_id: int) -> Shop:
    # FOR NO KEY UPDATE: held across the refresh call, a plain FOR UPDATE would block every insert
    # that references the shop (the webhook inbox's too), stalling acknowledgements past 5 s.
    return session.scalar(select(Shop).where(Shop.id == shop_id).with_for_update(key_share=True))


def store_grant(cipher: TokenCipher, shop: Shop, grant: AccessGrant) -> None:
    shop.access_token_ciphertext = cipher.encrypt(grant.access_token)
    shop.access_token_expires_at = grant.expires_at
    shop.refresh_token_ciphertext = cipher.encrypt(grant.refresh_token) if grant.refresh_token else None
    shop.refresh_token_expires_at = grant.refresh_token_expires_at
    if grant.scope:
        shop.scopes = grant.scope


def clear_reauth(shop: Shop) -> datetime | None:
    """Forget the re-authentication flag; returns when it was raised (None if it was not)."""
    flagged_at = shop.reauth_required_at
    shop.reauth_required_at = None
    shop.reauth_reason = None
    return flagged_at


def resume_what_waited(queue: "Queue", shop: Shop, flagged_at: datetime | None) -> None:
    if flagged_at is not None:
        log.info("shop %s reconnected", shop.domain)
        queue.enqueue("resume_after_reconnect", shop.id, flagged_at.isoformat())


def _flag_reauth(session: Session, shop: Shop, reason: str, now: datetime) -> None:
    # The first refusal dates the outage: what stopped since then is resumed on reconnecting.
    shop.reauth_required_at = shop.reauth_required_at or now
    shop.reauth_reason = reason
    session.commit()
    log.error("shop %s needs re-authentication: %s", shop.domain, reason)


def mark_reauth(access: AdminAccess, shop_id: int, reason: str) -> None:
    """Flag the shop in a transaction of its own (the caller's may be read-only or gone)."""
    with access.db.scope() as session:
        _flag_reauth(session, lock_shop(session, shop_id), reason, access.clock())


def _needs_renewal(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at - now <= REFRESH_MARGIN


def fresh_access_token(access: AdminAccess, shop: Shop | ShopCredentials) -> str:
    """A usable access token, renewed shortly before it runs out.

    The refresh token rotates on every use, so the renewal holds the shop row locked and
    stores the new grant in the same (own) transaction. A refused renewal marks the shop as
    needing re-authentication (shown in the admin and `shops list`); queued work stays queued. A
    temporary failure (Shopify down, 429 after retries) raises OAuthError and marks nothing.
    """
    if not shop.access_token_ciphertext:
        raise ShopNeedsReauth(f"{shop.domain} has no access token; {reconnect_advice(shop)}")
    now = access.clock()
    if not _needs_renewal(shop.access_token_expires_at, now):
        return access.cipher.decrypt(shop.access_token_ciphertext)
    shop_id = shop.shop_id if isinstance(shop, ShopCredentials) else shop.id
    with access.db.scope() as session:
        locked = lock_shop(session, shop_id)
        if not _needs_renewal(locked.access_token_expires_at, now):
            session.rollback()  # another worker refreshed it meanwhile
            return access.cipher.decrypt(locked.access_token_ciphertext)
        grant = _renewed_grant(access, session, locked, now)
        store_grant(access.cipher, locked, grant)
        flagged_at = clear_reauth(locked)  # Shopify granted a token again: the shop is back
        session.commit()
    resume_what_waited(access.queue, locked, flagged_at)
    return grant.access_token


def _renewed_grant(access: AdminAccess, session: Session, shop: Shop, now: datetime) -> AccessGrant:
    """Client-credentials shops ask for a new token; the others spend their refresh token."""
    if shop.token_source != CLIENT_CREDENTIALS and not shop.refresh_token_ciphertext:
        _flag_reauth(session, shop, "the access token expired and there is no refresh token", now)
        raise ShopNeedsReauth(f"{shop.domain}: access token expired; {reconnect_advice(shop)}")
    try:
        if shop.token_source == CLIENT_CREDENTIALS:
            return access.oauth_client().client_credentials(shop.domain, now=now)
        return access.oauth_client().refresh(shop.domain, access.cipher.decrypt(shop.refresh_token_ciphertext), now=now)
    except OAuthError as exc:
        if exc.permanent:
            _flag_reauth(session, shop, f"token renewal refused: {exc}", now)
            raise ShopNeedsReauth(f"{shop.domain}: {exc}; {reconnect_advice(shop)}") from exc
        raise


def end_read_before_shopify(session: Session) -> None:
    """End the caller's read so no lock is held while Shopify answers; refuse if it holds writes."""
    if has_uncommitted_writes(session):
        raise UncommittedWrites("commit the session's writes before calling Shopify")
    session.rollback()


def _client(access: AdminAccess, credentials: ShopCredentials) -> AdminClient:
    token = fresh_access_token(access, credentials)
    kwargs = {"sleep": access.sleep} if access.sleep else {}
    return AdminClient(credentials.domain, token, url=access.endpoints.graphql_url(credentials.domain), http=access.http,
                       monotonic=access.monotonic, **kwargs)


def admin_client(access: AdminAccess, session: Session, shop: Shop) -> AdminClient:
    """An Admin GraphQL client with a fresh token; the caller's read is over when it returns."""
    credentials = ShopCredentials.of(shop)
    end_read_before_shopify(session)
    return _client(access, credentials)


def call_admin(access: AdminAccess, session: Session, shop: Shop, document, variables=None, **options) -> dict:
    """Run one Admin GraphQL document; a refused token marks the shop for re-authentication.
    `options` go to AdminClient.execute (retry_ambiguous, deadline)."""
    credentials = ShopCredentials.of(shop)
    client = admin_client(access, session, shop)
    try:
        return client.execute(document, variables, **options)
    except ShopifyAuthError as exc:
        mark_reauth(access, credentials.shop_id, str(exc))
        raise ShopNeedsReauth(str(exc)) from exc


def call_admin_partial(access: AdminAccess, session: Session, shop: Shop, document, variables=None) -> PartialResult:
    """`call_admin` for a caller that can do without fields Shopify withholds (ACCESS_DENIED on
    fields): the data with the withheld fields listed."""
    credentials = ShopCredentials.of(shop)
    client = admin_client(access, session, shop)
    try:
        return client.execute_partial(document, variables)
    except ShopifyAuthError as exc:
        mark_reauth(access, credentials.shop_id, str(exc))
        raise ShopNeedsReauth(str(exc)) from exc
