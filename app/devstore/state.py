"""What the stand-in for Shopify remembers (tokens, discounts, customers, orders, webhook
subscriptions), in one JSON file per demo database.

A file and not tables of Tessera's database: the app calls the stand-in over HTTP while it
holds SQLite's write lock (a redemption creates its code inside its transaction), so the
stand-in must never wait for that lock. The web process and CLI commands (`devstore seed`,
`trigger`) share the file; every change is a read-modify-write under an exclusive `flock`.
"""
from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Realistic-looking Shopify ids: one counter per resource, each starting at its own base.
ID_BASES = {"Shop": 61_234_000_000, "Customer": 7_412_500_000_000, "MailingAddress": 9_301_100_000_000,
            "Order": 5_981_200_000_000, "LineItem": 14_703_300_000_000, "ShippingLine": 4_821_900_000_000,
            "Refund": 978_100_000_000, "RefundLineItem": 567_800_000_000, "OrderTransaction": 6_712_300_000_000,
            "Fulfillment": 5_512_300_000_000, "DiscountCodeNode": 1_476_212_000_000,
            "DiscountRedeemCode": 19_102_318_000_000, "WebhookSubscription": 1_365_800_000_000,
            "StoreCreditAccount": 3_200_000_000, "StoreCreditAccountCreditTransaction": 8_800_000_000,
            "StoreCreditAccountDebitTransaction": 8_900_000_000,
            "Checkout": 37_456_000_000_000, "DataRequest": 4_400, "OrderNumber": 1_000,
            "BulkOperation": 3_514_700_000, "OrderAdjustment": 104_518_000_000,
            "AppSubscription": 29_710_000}

ShopState = dict[str, Any]


def new_shop_state(domain: str) -> ShopState:
    store = domain.split(".", 1)[0]
    return {"domain": domain, "id": ID_BASES["Shop"] + 1, "name": store.replace("-", " ").title(),
            "email": f"owner@{store}.example", "currency": "USD", "iana_timezone": "America/New_York",
            "money_format": "${{amount}}", "ids": {}, "installed": False, "scope": "", "codes": {}, "access_tokens": {},
            "refresh_tokens": {}, "subscriptions": [], "discounts": {}, "customers": {}, "orders": {},
            "store_credit_accounts": {}, "deliveries": [], "seeded_at": None, "customer_accounts": "new"}


def next_id(shop: ShopState, resource: str) -> int:
    counters = shop["ids"]
    counters[resource] = counters.get(resource, 0) + 1
    return ID_BASES[resource] + counters[resource]


def gid(resource: str, number: int | str) -> str:
    return f"gid://shopify/{resource}/{number}"


class DemoState:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._held: dict[str, Any] | None = None

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        if self._held is not None:  # this process holds the file (see `held`): no reload, no flock
            yield self._held
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self._load()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Keep the state in memory, locked against other processes, and write it once at the
        end: a year of orders would otherwise re-read and re-write the whole file per change.
        Inside, `snapshot` returns the live state (read it, do not change it)."""
        if self._held is not None:
            yield
            return
        with self._locked() as data:
            self._held = data
            try:
                yield
            finally:
                self._held = None
                self._save(data)

    def _load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"shops": {}}
        return json.loads(self.path.read_text() or '{"shops": {}}')

    def _save(self, data: dict[str, Any]) -> None:
        # Write-then-rename: a reader never sees half a file, even after a crash.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=1)
        os.replace(tmp, self.path)

    @contextmanager
    def shop(self, domain: str) -> Iterator[ShopState]:
        """The shop's state for reading and changing; saved when the block ends without error."""
        with self._locked() as data:
            shop = data["shops"].setdefault(domain, new_shop_state(domain))
            yield shop
            self._save_unless_held(data)

    def snapshot(self, domain: str) -> ShopState:
        """A copy for display; changes to it are not saved."""
        with self._locked() as data:
            return data["shops"].get(domain) or new_shop_state(domain)

    def forget_shop(self, domain: str) -> None:
        with self._locked() as data:
            if data["shops"].pop(domain, None) is not None:
                self._save_unless_held(data)

    def _save_unless_held(self, data: dict[str, Any]) -> None:
        if self._held is None:
            self._save(data)
