"""Retiring an old TOKEN_ENCRYPTION_KEY: re-encrypt every stored secret under the first key.

Once this has run with "NEW,OLD" configured, OLD can be removed from TOKEN_ENCRYPTION_KEY.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from app.crypto import TokenCipher, TokenCipherError
from app.models import Shop

if TYPE_CHECKING:
    from app.db import Database

log = logging.getLogger(__name__)

# Every column that holds a value encrypted with app/crypto.py. (The integration token is stored
# as a SHA-256 hash, not encrypted, so no key protects it.)
ENCRYPTED_COLUMNS = (Shop.access_token_ciphertext, Shop.refresh_token_ciphertext)
BATCH = 200


@dataclass
class ReencryptReport:
    reencrypted: int = 0
    already_current: int = 0
    changed_meanwhile: int = 0
    unreadable: list[str] = field(default_factory=list)


def reencrypt_stored_secrets(db: "Database", cipher: TokenCipher) -> ReencryptReport:
    """Idempotent: a secret the first key already reads is left alone. Each row is updated only if
    it still holds the ciphertext read (a token refresh running meanwhile wins, and already uses
    the first key)."""
    report = ReencryptReport()
    for column in ENCRYPTED_COLUMNS:
        last_id = 0
        while (rows := _next_batch(db, column, last_id)):
            with db.scope() as session:
                for row_id, ciphertext in rows:
                    _reencrypt_one(session, cipher, column, row_id, ciphertext, report)
                session.commit()
            last_id = rows[-1][0]
    return report


def _next_batch(db: "Database", column, last_id: int) -> list[tuple[int, str]]:
    with db.scope(read_only=True) as session:
        return [tuple(r) for r in session.execute(
            select(Shop.id, column).where(Shop.id > last_id, column.is_not(None)).order_by(Shop.id).limit(BATCH))]


def _reencrypt_one(session, cipher: TokenCipher, column, row_id: int, ciphertext: str,
                   report: ReencryptReport) -> None:
    if cipher.is_current(ciphertext):
        report.already_current += 1
        return
    try:
        fresh = cipher.reencrypt(ciphertext)
    except TokenCipherError:
        report.unreadable.append(f"shops.{column.key} of shop id {row_id}")
        return
    result = session.execute(update(Shop).where(Shop.id == row_id, column == ciphertext).values({column.key: fresh}))
    if result.rowcount == 1:
        report.reencrypted += 1
    else:
        report.changed_meanwhile += 1
