"""Webhook deliveries from the demo store, signed and addressed as Shopify does
(shopify.dev, "Deliver webhooks through HTTPS": headers, HMAC of the raw body).

An event goes to every address subscribed to its topic: the shop's API subscriptions
(`webhookSubscriptionCreate`) and the app-wide ones declared in shopify.app.toml (relative
`uri`s resolved against APP_URL), one delivery per distinct address. Nothing is sent for an
app that is not installed, except the compliance topics. Failed deliveries are logged, not
retried; an API subscription that keeps failing is deleted, as Shopify does.
"""
from __future__ import annotations

import json
import tomllib
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from app.devstore.state import ShopState
from app.shopify.documents import subscription_topic
from app.shopify.signatures import webhook_hmac
from webhooks.topics import COMPLIANCE_TOPICS

APP_TOML = Path(__file__).resolve().parents[2] / "shopify.app.toml"
DELIVERY_LOG_SIZE = 300


@lru_cache(maxsize=1)
def declared_subscriptions() -> dict[str, tuple[str, ...]]:
    """topic -> paths from shopify.app.toml's [[webhooks.subscriptions]]."""
    try:
        config = tomllib.loads(APP_TOML.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    paths: dict[str, tuple[str, ...]] = {}
    for subscription in config.get("webhooks", {}).get("subscriptions", []):
        path = urlsplit(subscription.get("uri", "")).path or "/"
        for topic in subscription.get("topics", []) + subscription.get("compliance_topics", []):
            paths[topic] = paths.get(topic, ()) + (path,)
    return paths


def addresses(shop: ShopState, topic: str, app_url: str) -> list[str]:
    if topic not in COMPLIANCE_TOPICS and not shop["installed"]:
        return []
    subscribed = [s["callback_url"] for s in shop["subscriptions"] if s["topic"] == subscription_topic(topic)]
    declared = [app_url.rstrip("/") + path for path in declared_subscriptions().get(topic, ())]
    return list(dict.fromkeys(subscribed + declared))


@dataclass(frozen=True)
class Webhook:
    """One topic's body for one event (several topics of one action share the event id)."""
    topic: str
    payload: dict[str, Any]
    event_id: str
    triggered_at: datetime


@dataclass(frozen=True)
class DeliveryResult:
    topic: str
    address: str
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _headers(webhook: Webhook, body: bytes, domain: str, secret: str, api_version: str) -> dict[str, str]:
    triggered = webhook.triggered_at.astimezone(timezone.utc)
    milliseconds = f"{triggered.microsecond // 1000:03d}"
    return {"Content-Type": "application/json", "X-Shopify-Topic": webhook.topic,
            "X-Shopify-Hmac-Sha256": webhook_hmac(body, secret), "X-Shopify-Shop-Domain": domain,
            "X-Shopify-API-Version": api_version, "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": webhook.event_id,
            "X-Shopify-Triggered-At": triggered.strftime("%Y-%m-%dT%H:%M:%S.") + milliseconds + "Z"}


def deliver(http: requests.Session, webhook: Webhook, targets: list[str], *, domain: str, secret: str,
            api_version: str) -> list[DeliveryResult]:
    body = json.dumps(webhook.payload, separators=(",", ":")).encode()
    results = []
    for address in targets:
        try:
            response = http.post(address, data=body, timeout=10,
                                 headers=_headers(webhook, body, domain, secret, api_version))
            results.append(DeliveryResult(webhook.topic, address, response.status_code,
                                          None if response.ok else response.text[:300]))
        except requests.RequestException as exc:
            results.append(DeliveryResult(webhook.topic, address, None, f"{type(exc).__name__}: {exc}"))
    return results


# Shopify retries a failed delivery 8 times over 4 hours, then deletes the subscription if it was
# created through the Admin API (shopify.app.toml ones stay). The stand-in does not retry, so
# each failed delivery stands for one of those attempts.
FAILED_ATTEMPTS_BEFORE_REMOVAL = 8


def drop_failing_subscriptions(shop: ShopState, results: list[DeliveryResult]) -> None:
    for result in results:
        for subscription in shop["subscriptions"]:
            if subscription["callback_url"] == result.address and subscription["topic"] == subscription_topic(result.topic):
                subscription["failures"] = 0 if result.ok else subscription.get("failures", 0) + 1
    shop["subscriptions"] = [s for s in shop["subscriptions"]
                             if s.get("failures", 0) < FAILED_ATTEMPTS_BEFORE_REMOVAL]


def log_deliveries(shop: ShopState, results: list[DeliveryResult], at: datetime) -> None:
    for result in results:
        shop["deliveries"].append({"at": at.isoformat(), "topic": result.topic, "address": result.address,
                                   "status": result.status, "error": result.error})
    del shop["deliveries"][:-DELIVERY_LOG_SIZE]
