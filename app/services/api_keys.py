"""Owner API keys: `tsk_...` bearer keys that make the shop's /api/v1 scriptable.

A key is shown once, when it is minted; only its SHA-256 is stored (a database leak gives no
usable key) with a short prefix so the owner can tell keys apart in the list.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.loyalty.errors import InvalidInput, NotFound
from app.models import ApiKey, Shop

KEY_PREFIX = "tsk_"
# 32 random bytes: 256 bits, beyond guessing however many requests an attacker makes.
KEY_BYTES = 32
SHOWN_PREFIX_LENGTH = 12
MAX_LABEL_LENGTH = 100
# last_used_at is a hint for the owner ("is this key still used?"): a minute's precision spares
# a write on every scripted request.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def api_key_label(value) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "API key"
    if not isinstance(value, str) or len(value.strip()) > MAX_LABEL_LENGTH:
        raise InvalidInput("The key's label is not valid.",
                           {"label": f"text of at most {MAX_LABEL_LENGTH} characters, e.g. 'Nightly export'"})
    return value.strip()


def mint_api_key(session: Session, shop: Shop, *, label: str, created_by: str | None,
                 now: datetime) -> tuple[ApiKey, str]:
    """A new key for the shop; the returned secret is never readable again."""
    key = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
    row = ApiKey(shop_id=shop.id, label=label, key_prefix=key[:SHOWN_PREFIX_LENGTH], key_hash=hash_api_key(key),
                 created_by=created_by, created_at=now)
    session.add(row)
    session.commit()
    return row, key


def api_keys_of(session: Session, shop: Shop) -> list[ApiKey]:
    """The shop's keys still in force, newest first."""
    return list(session.scalars(select(ApiKey).where(ApiKey.shop_id == shop.id, ApiKey.revoked_at.is_(None))
                                .order_by(ApiKey.id.desc())))


def revoke_api_key(session: Session, shop: Shop, key_id: int, *, now: datetime) -> None:
    """Revoking twice is harmless; a key of another shop is as unknown as one that never was."""
    row = session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.shop_id == shop.id))
    if row is None:
        raise NotFound(f"There is no API key {key_id} in this shop; list the keys with GET /api/v1/api-keys.")
    if row.revoked_at is None:
        row.revoked_at = now
        session.commit()


def revoke_all_api_keys(session: Session, shop_id: int, *, now: datetime) -> None:
    """On uninstall (in the caller's transaction): a key must not work again after a reinstall."""
    for row in session.scalars(select(ApiKey).where(ApiKey.shop_id == shop_id, ApiKey.revoked_at.is_(None))):
        row.revoked_at = now


def find_api_key(session: Session, key: str) -> ApiKey | None:
    """The key in force for this secret, or None. Looked up by its hash (so the lookup's timing
    says nothing about the secret), then compared in constant time."""
    digest = hash_api_key(key)
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)))
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return row


def last_use_is_stale(row: ApiKey, now: datetime) -> bool:
    return row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION


def note_api_key_used(session: Session, key_id: int, *, now: datetime) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
    session.commit()


def api_key_json(row: ApiKey) -> dict:
    return {"id": row.id, "label": row.label, "prefix": row.key_prefix, "created_at": row.created_at.isoformat(),
            "created_by": row.created_by,
            "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None}
