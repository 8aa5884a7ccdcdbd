"""Helpers shared by the tests: Shopify's payloads (tests/fixtures), signing like Shopify, a fixed clock."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import jwt

from app.shopify.signatures import oauth_query_hmac, proxy_signature, webhook_hmac
from config import DEFAULT_API_VERSION

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Webhook bodies as Shopify documents them for API_VERSION, one file per topic (`orders/paid` ->
# orders_paid.json); see the folder's README for how they were written.
WEBHOOK_FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "shopify" / "webhooks"
# The Admin API version the tests speak: the app's default, never a literal of its own.
API_VERSION = DEFAULT_API_VERSION
API_KEY = "a61950a2cbd5f32876b0b55587ec7a27"
SECRET = "shpss_test_secret_0123456789abcdef"
SHOP = "maple-pine-goods.myshopify.com"
OTHER_SHOP = "other-outfitters.myshopify.com"
CUSTOMER_ID = 7412583020571
ORDER_ID = 5981273456789


def payload_bytes(topic_or_file: str) -> bytes:
    """The real-shaped payload for a topic (`orders/paid`) exactly as stored, byte for byte."""
    name = topic_or_file.replace("/", "_")
    return (WEBHOOK_FIXTURES / f"{name}.json").read_bytes()


def payload(topic_or_file: str) -> dict:
    return json.loads(payload_bytes(topic_or_file))


class FrozenClock:
    def __init__(self, at: datetime):
        self.now = at

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now

    def set(self, at: datetime) -> None:
        self.now = at


def webhook_headers(topic: str, body: bytes, *, shop: str = SHOP, secret: str = SECRET,
                    webhook_id: str | None = None, event_id: str | None = None,
                    triggered_at: str = "2025-02-14T15:00:00.000Z") -> dict[str, str]:
    # triggered_at defaults to the fixtures' clock: not before the test shop's installation.
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": API_VERSION,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": triggered_at,
        "X-Shopify-Hmac-Sha256": webhook_hmac(body, secret),
    }


def send_webhook(client, topic: str, body: bytes | dict, **kwargs):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/webhooks", data=raw, headers=webhook_headers(topic, raw, **kwargs))


def session_token(*, shop: str = SHOP, api_key: str = API_KEY, secret: str = SECRET, sub: str = "84512345678",
                  lifetime: int = 60, now: float | None = None, **overrides) -> str:
    issued = int(now if now is not None else time.time())
    claims = {"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": api_key, "sub": sub,
              "exp": issued + lifetime, "nbf": issued, "iat": issued, "jti": str(uuid.uuid4()),
              "sid": uuid.uuid4().hex}
    claims.update(overrides)
    return jwt.encode(claims, secret, algorithm="HS256")


def signed_oauth_query(params: dict[str, str], secret: str = SECRET) -> str:
    query = urlencode(params)
    return f"{query}&hmac={oauth_query_hmac(query, secret)}"


def signed_proxy_query(*, shop: str = SHOP, customer_id: int | str | None = CUSTOMER_ID, secret: str = SECRET,
                       timestamp: int | None = None, path_prefix: str = "/apps/tessera", **extra: str) -> str:
    params = {"shop": shop, "logged_in_customer_id": "" if customer_id is None else str(customer_id),
              "path_prefix": path_prefix, "timestamp": str(timestamp if timestamp is not None else int(time.time())),
              **extra}
    query = urlencode(params)
    return f"{query}&signature={proxy_signature(query, secret)}"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)
