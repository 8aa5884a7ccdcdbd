"""The objects one running Tessera needs (database, cipher, queue, Shopify endpoints, clock),
built once by create_app and reachable from requests, jobs and CLI commands alike."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import requests
from flask import current_app

from app.crypto import TokenCipher
from app.db import Database
from app.shopify.admin_access import AdminAccess
from app.shopify.oauth import OAuthClient, ShopifyEndpoints

if TYPE_CHECKING:
    from app.jobs.queues import Queue


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Tessera:
    config: dict[str, Any]
    db: Database
    cipher: TokenCipher
    endpoints: ShopifyEndpoints
    queue: "Queue"
    clock: Callable[[], datetime] = utc_now
    http: requests.Session = field(default_factory=requests.Session)
    # Sleep used between Shopify retries; tests replace it so backoff costs no wall time.
    sleep: Callable[[float], None] | None = None
    # Elapsed-time clock of request budgets (redemption deadline); tests advance a fake one.
    monotonic: Callable[[], float] = time.monotonic

    @property
    def api_key(self) -> str:
        return self.config["SHOPIFY_API_KEY"]

    @property
    def api_secrets(self) -> list[str]:
        """The current secret first, then the previous one during a rotation."""
        return [s for s in (self.config["SHOPIFY_API_SECRET"], self.config.get("SHOPIFY_API_SECRET_PREVIOUS")) if s]

    @property
    def app_url(self) -> str:
        return self.config["APP_URL"]

    @property
    def redeem_deadline_seconds(self) -> float:
        """How long a shopper's redemption request may spend on Shopify before the worker takes over."""
        return float(self.config.get("REDEEM_DEADLINE_SECONDS", 15))

    @property
    def shopify(self) -> AdminAccess:
        """The Admin API access a use case receives; built on each use, so a swapped clock,
        queue or sleep (tests, `flask worker`) is what it sees."""
        return AdminAccess(self.db, self.cipher, self.endpoints, self.oauth_client, self.queue, self.clock, self.http,
                           self.sleep, self.monotonic)

    def run_task(self, task: str, *args: Any) -> Any:
        """The queues hand a task's name and arguments back here: the task registry is the one
        place that unpacks this runtime into what each service takes."""
        from app.jobs.tasks import TASKS
        return TASKS[task](self, *args)

    def oauth_client(self) -> OAuthClient:
        return OAuthClient(self.endpoints, self.api_key, self.config["SHOPIFY_API_SECRET"], http=self.http,
                           sleep=self.sleep)


def tessera() -> Tessera:
    return current_app.extensions["tessera"]
