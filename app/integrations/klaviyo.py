"""Klaviyo's REST API, as much as Tessera uses: profile upserts (Bulk Import Profiles) and events
(Create Event). JSON:API bodies, `Authorization: Klaviyo-API-Key <private key>` and the
`revision` header on every request (developers.klaviyo.com/en/reference/api_overview).

429 answers carry Retry-After (seconds); a short wait is taken here, a long one is handed back
to the caller so a worker is not held for minutes.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests

# The API revision these bodies are written for; Klaviyo keeps a revision for two years.
REVISION = "2026-10-15"
CONTENT_TYPE = "application/vnd.api+json"
# Bulk Import Profiles takes up to 10,000 profiles (5 MB); smaller batches fail smaller.
PROFILES_PER_IMPORT = 100
MAX_INLINE_WAIT_SECONDS = 10.0
MAX_TRIES = 3
TIMEOUT_SECONDS = (5, 20)


class KlaviyoError(Exception):
    """`permanent`: sending the same request again cannot help (bad key, invalid body)."""

    def __init__(self, message: str, *, status: int | None = None, permanent: bool = False):
        super().__init__(message)
        self.status, self.permanent = status, permanent


class KlaviyoRateLimited(KlaviyoError):
    def __init__(self, retry_after_seconds: float):
        super().__init__(f"Klaviyo asked to wait {retry_after_seconds:g} s (429)", status=429)
        self.retry_after_seconds = retry_after_seconds


def profile_resource(*, email: str | None, phone_number: str | None, external_id: str | None,
                     properties: dict[str, Any]) -> dict[str, Any]:
    identifiers = {"email": email, "phone_number": phone_number, "external_id": external_id}
    attributes = {key: value for key, value in identifiers.items() if value}
    return {"type": "profile", "attributes": {**attributes, "properties": properties}}


def profile_import_body(profiles: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": profiles}}}}


def event_body(*, metric: str, profile: dict[str, Any], properties: dict[str, Any], time: datetime,
               unique_id: str) -> dict[str, Any]:
    """`unique_id` makes a resent event a no-op at Klaviyo (it de-duplicates on it)."""
    return {"data": {"type": "event", "attributes": {
        "properties": properties, "time": time.isoformat(), "unique_id": unique_id,
        "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
        "profile": {"data": profile}}}}


def _retry_after(response: requests.Response) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "1")), 0.0)
    except ValueError:
        return 1.0


def _error_detail(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return "; ".join(e.get("detail") or e.get("title") or "" for e in errors)[:300] or response.reason
    except (ValueError, AttributeError):
        return response.text[:300] or response.reason


class KlaviyoClient:
    def __init__(self, http: requests.Session, base_url: str, api_key: str,
                 sleep: Callable[[float], None] | None = None):
        self._http, self._base_url, self._api_key = http, base_url.rstrip("/"), api_key
        self._sleep = sleep or time.sleep

    def import_profiles(self, profiles: list[dict[str, Any]]) -> None:
        self._post("/api/profile-bulk-import-jobs", profile_import_body(profiles))

    def create_event(self, body: dict[str, Any]) -> None:
        self._post("/api/events", body)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Klaviyo-API-Key {self._api_key}", "revision": REVISION,
                "Accept": CONTENT_TYPE, "Content-Type": CONTENT_TYPE}

    def _post(self, path: str, body: dict[str, Any]) -> None:
        for attempt in range(1, MAX_TRIES + 1):
            try:
                response = self._http.post(self._base_url + path, json=body, headers=self._headers(),
                                           timeout=TIMEOUT_SECONDS)
            except requests.RequestException as exc:
                if attempt == MAX_TRIES:
                    raise KlaviyoError(f"Klaviyo could not be reached: {exc}") from exc
                self._sleep(2 ** attempt)
                continue
            if response.status_code < 300:
                return
            if response.status_code == 429:
                wait = _retry_after(response)
                if wait > MAX_INLINE_WAIT_SECONDS or attempt == MAX_TRIES:
                    raise KlaviyoRateLimited(wait)
                self._sleep(wait)
                continue
            if response.status_code >= 500 and attempt < MAX_TRIES:
                self._sleep(2 ** attempt)
                continue
            raise KlaviyoError(f"Klaviyo answered {response.status_code}: {_error_detail(response)}",
                               status=response.status_code, permanent=400 <= response.status_code < 500)
