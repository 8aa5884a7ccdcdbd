"""Signing outbound webhooks per the Standard Webhooks specification (standardwebhooks.com).

The receiver verifies `webhook-signature` over `{webhook-id}.{webhook-timestamp}.{body}` with the
bytes of its `whsec_` secret (base64 after the prefix), and rejects timestamps far from its clock
(replays). The same message id is sent on every retry, so the receiver can de-duplicate.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

SECRET_PREFIX = "whsec_"
# The specification asks for 24 to 64 bytes of key material.
SECRET_BYTES = 32


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256>`: the `webhook-signature` header value."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_key_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, message_id: str, sent_at: datetime, body: str) -> dict[str, str]:
    timestamp = int(sent_at.timestamp())
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, message_id, timestamp, body),
            "Content-Type": "application/json"}
