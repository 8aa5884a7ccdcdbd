"""Integration tokens: what other apps send to award points through /integrations."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy.orm import Session

from app.models import Shop


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_integration_token(session: Session, shop: Shop) -> str:
    """A new token replaces the old one (shown once; only its hash is stored)."""
    token = "tsi_" + secrets.token_urlsafe(32)
    shop.integration_token_hash = hash_token(token)
    session.commit()
    return token
