"""A small Admin GraphQL client over requests.

- Reads `extensions.cost.throttleStatus` after every call and waits before the next one when
  the shop's bucket cannot cover the query's expected cost.
- Retries THROTTLED answers, HTTP 429 (honouring Retry-After), 5xx and timeouts with jittered
  exponential backoff, up to a cap; then raises ShopifyUnavailable.
- Raises typed errors for what retrying cannot fix: 401/403 (token), top-level GraphQL
  errors, and `userErrors` of mutations (ShopifyUserErrors, with the list).
- An answer with data whose only errors are ACCESS_DENIED on some fields (what Shopify does for
  protected customer fields the app is not approved for: the fields come back null, each with an
  error naming its path) raises ShopifyAccessDenied, which carries the partial data;
  `execute_partial` returns it as a PartialResult for callers that can do without those fields.
- A mutation Shopify offers no idempotency for (store credit) is called with
  `retry_ambiguous=False`: after a timeout or 5xx the request may have been applied, so the
  client raises ShopifyOutcomeUnknown instead of sending it again.
- An optional `deadline` (on the client's monotonic clock) bounds the whole call, retries
  included: past it the client raises ShopifyDeadlineExceeded.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from app.shopify.documents import Document

log = logging.getLogger(__name__)


class ShopifyError(Exception):
    """Base class for failures at the Shopify boundary."""


class ShopifyUnavailable(ShopifyError):
    """Shopify did not answer usefully after all retries (throttling, 5xx, timeouts)."""


class ShopifyOutcomeUnknown(ShopifyUnavailable):
    """The request may have reached Shopify and been applied; only reading back can tell."""


class ShopifyDeadlineExceeded(ShopifyUnavailable):
    """The caller's time budget ran out before Shopify answered usefully."""


@dataclass(frozen=True)
class _Retry:
    wait: float
    problem: str
    maybe_applied: bool  # the request may have left and been applied (timeout, 5xx, garbled answer)


class ShopifyAuthError(ShopifyError):
    """The access token was refused (401/403): the shop must re-authenticate."""


class ShopifyGraphQLError(ShopifyError):
    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = errors
        super().__init__("; ".join(str(e.get("message", e)) for e in errors) or "GraphQL error")


@dataclass(frozen=True)
class DeniedField:
    """A field Shopify withheld: its path in the answer and Shopify's explanation."""

    path: tuple[str | int, ...]
    message: str

    @property
    def name(self) -> str:
        return next((str(p) for p in reversed(self.path) if isinstance(p, str)), "")


class ShopifyAccessDenied(ShopifyGraphQLError):
    """The answer has data, but some fields were withheld (ACCESS_DENIED on their paths)."""

    def __init__(self, errors: list[dict[str, Any]], data: dict[str, Any]):
        super().__init__(errors)
        self.data = data
        self.denied = tuple(DeniedField(tuple(e["path"]), str(e.get("message", ""))) for e in errors)


@dataclass(frozen=True)
class PartialResult:
    """`data` as Shopify answered it, with the fields it withheld (null in `data`)."""

    data: dict[str, Any]
    denied: tuple[DeniedField, ...] = ()

    @property
    def denied_names(self) -> list[str]:
        return sorted({d.name for d in self.denied})


def _only_fields_denied(errors: list[dict[str, Any]], data: Any) -> bool:
    return isinstance(data, dict) and all(
        (e.get("extensions") or {}).get("code") == "ACCESS_DENIED" and len(e.get("path") or []) > 1 for e in errors)


class ShopifyUserErrors(ShopifyError):
    def __init__(self, field: str, user_errors: list[dict[str, Any]]):
        self.root_field = field
        self.user_errors = user_errors
        super().__init__("; ".join(e.get("message", "") for e in user_errors))

    @property
    def codes(self) -> set[str]:
        return {e.get("code") for e in self.user_errors if e.get("code")}


@dataclass
class _Bucket:
    available: float = 1000.0
    maximum: float = 1000.0
    restore_rate: float = 50.0
    observed_at: float = 0.0


class _Buckets:
    """Last observed throttle state per shop, shared by the clients of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_shop: dict[str, _Bucket] = {}

    def observe(self, shop: str, status: dict[str, Any], now: float) -> None:
        with self._lock:
            self._by_shop[shop] = _Bucket(float(status.get("currentlyAvailable", 0)),
                                          float(status.get("maximumAvailable", 1000)),
                                          float(status.get("restoreRate", 50)) or 50.0, now)

    def wait_needed(self, shop: str, cost: float, now: float) -> float:
        with self._lock:
            bucket = self._by_shop.get(shop)
        if bucket is None:
            return 0.0
        refilled = min(bucket.maximum, bucket.available + (now - bucket.observed_at) * bucket.restore_rate)
        return 0.0 if refilled >= cost else (cost - refilled) / bucket.restore_rate


BUCKETS = _Buckets()


class AdminClient:
    def __init__(self, shop: str, access_token: str, *, url: str, http: requests.Session | None = None,
                 max_attempts: int = 5, timeout: float = 10.0, backoff_base: float = 0.5, backoff_cap: float = 8.0,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic):
        self.shop = shop
        self.url = url
        self.access_token = access_token
        self.http = http or requests.Session()
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.sleep = sleep
        self.monotonic = monotonic
        self._failures = 0

    def execute(self, document: Document, variables: dict[str, Any] | None = None, *,
                retry_ambiguous: bool = True, deadline: float | None = None) -> dict[str, Any]:
        """Run a document; returns `data`. Raises ShopifyUserErrors when the mutation's payload
        (document.root_field) carries userErrors."""
        data = self._execute_with_retries(document, variables or {}, retry_ambiguous, deadline)
        if document.root_field:
            payload = data.get(document.root_field) or {}
            user_errors = payload.get("userErrors") or []
            if user_errors:
                raise ShopifyUserErrors(document.root_field, user_errors)
        return data

    def execute_partial(self, document: Document, variables: dict[str, Any] | None = None) -> PartialResult:
        """Like `execute`, but fields Shopify withheld are reported, not raised."""
        try:
            return PartialResult(self.execute(document, variables))
        except ShopifyAccessDenied as exc:
            return PartialResult(exc.data, exc.denied)

    def _execute_with_retries(self, document: Document, variables: dict[str, Any], retry_ambiguous: bool,
                              deadline: float | None) -> dict[str, Any]:
        last_problem = "no attempt made"
        self._failures = 0
        for attempt in range(1, self.max_attempts + 1):
            self._wait_for_bucket(document.expected_cost)
            outcome = self._attempt(document, variables, self._attempt_timeout(document, deadline))
            if isinstance(outcome, dict):
                return outcome
            last_problem = outcome.problem
            if outcome.maybe_applied and not retry_ambiguous:
                raise ShopifyOutcomeUnknown(f"{document.name} may or may not have been applied ({last_problem})")
            if attempt < self.max_attempts:
                self._check_deadline(document, deadline, outcome.wait, last_problem)
                log.info("shopify %s %s: %s; retry %d in %.2fs", self.shop, document.name, last_problem, attempt,
                         outcome.wait)
                self.sleep(outcome.wait)
        raise ShopifyUnavailable(f"Shopify did not complete {document.name} after {self.max_attempts} attempts "
                                 f"({last_problem})")

    def _attempt_timeout(self, document: Document, deadline: float | None) -> float:
        """The per-request timeout, cut to what is left of the caller's budget."""
        if deadline is None:
            return self.timeout
        left = deadline - self.monotonic()
        if left <= 0:
            raise ShopifyDeadlineExceeded(f"no time left to call {document.name}")
        return min(self.timeout, left)

    def _check_deadline(self, document: Document, deadline: float | None, wait: float, problem: str) -> None:
        if deadline is not None and self.monotonic() + wait >= deadline:
            raise ShopifyDeadlineExceeded(f"{document.name} not done within the time budget ({problem})")

    def _attempt(self, document: Document, variables: dict[str, Any], timeout: float) -> dict[str, Any] | _Retry:
        """The data on success, or what to do about a retryable failure."""
        try:
            response = self.http.post(self.url, json={"query": document.text, "variables": variables,
                                                      "operationName": document.name},
                                      headers={"X-Shopify-Access-Token": self.access_token,
                                               "Accept": "application/json"}, timeout=timeout)
        except (requests.Timeout, requests.ConnectionError) as exc:
            # Only a connection that was never made is known not to have delivered the request.
            return _Retry(self._backoff(), f"network error: {type(exc).__name__}",
                          not isinstance(exc, requests.ConnectTimeout))
        if response.status_code in (401, 403):
            raise ShopifyAuthError(f"Shopify refused the access token for {self.shop} ({response.status_code})")
        if response.status_code == 429:
            return _Retry(self._retry_after(response), "HTTP 429", False)
        if response.status_code >= 500:
            return _Retry(self._backoff(), f"HTTP {response.status_code}", True)
        if response.status_code != 200:
            raise ShopifyError(f"Shopify answered HTTP {response.status_code}: {response.text[:200]}")
        return self._read_body(response)

    def _read_body(self, response: requests.Response) -> dict[str, Any] | _Retry:
        try:
            body = response.json()
        except ValueError:
            return _Retry(self._backoff(), "invalid JSON in response", True)
        cost = (body.get("extensions") or {}).get("cost") or {}
        if cost.get("throttleStatus"):
            BUCKETS.observe(self.shop, cost["throttleStatus"], self.monotonic())
        errors = body.get("errors") or []
        if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
            return _Retry(self._throttle_wait(cost), "THROTTLED", False)  # refused before running
        if errors and _only_fields_denied(errors, body.get("data")):
            raise ShopifyAccessDenied(errors, body["data"])
        if errors:
            raise ShopifyGraphQLError(errors)
        return body.get("data") or {}

    def _wait_for_bucket(self, cost: float) -> None:
        wait = BUCKETS.wait_needed(self.shop, cost, self.monotonic())
        if wait > 0:
            self.sleep(min(wait, self.backoff_cap))

    def _throttle_wait(self, cost: dict[str, Any]) -> float:
        status = cost.get("throttleStatus") or {}
        needed = float(cost.get("requestedQueryCost") or 0) - float(status.get("currentlyAvailable") or 0)
        rate = float(status.get("restoreRate") or 50) or 50.0
        return min(self.backoff_cap, max(needed / rate, 0.0)) + random.uniform(0, 0.1)

    def _retry_after(self, response: requests.Response) -> float:
        try:
            return min(self.backoff_cap, max(float(response.headers.get("Retry-After", "")), 0.0))
        except ValueError:
            return self._backoff()

    def _backoff(self) -> float:
        # "Full jitter": spreads retries of many workers hitting the same outage.
        self._failures += 1
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (self._failures - 1)))
