"""Klaviyo's API at the HTTP boundary (`responses`), as strict as Klaviyo about what Tessera
sends: the private-key header, the revision header, JSON:API bodies of the documented shape
(developers.klaviyo.com: Bulk Import Profiles, Create Event). Anything else is answered the way
Klaviyo answers it (400/401 with a JSON:API error), so a wrong body fails the test."""
from __future__ import annotations

import json

import responses

BASE_URL = "https://klaviyo.test"
API_KEY = "pk_test_0123456789abcdef0123456789abcdef"
REVISION = "2026-10-15"
PROFILE_IDENTIFIERS = ("email", "phone_number", "external_id")


def _error(status: int, detail: str, headers: dict | None = None):
    return status, {"Content-Type": "application/vnd.api+json", **(headers or {})}, json.dumps(
        {"errors": [{"status": status, "code": "invalid", "title": "Invalid input.", "detail": detail}]})


def _profile_problem(profile) -> str | None:
    if not isinstance(profile, dict) or profile.get("type") != "profile":
        return "profile resources must have type 'profile'"
    attributes = profile.get("attributes") or {}
    if not any(attributes.get(k) for k in PROFILE_IDENTIFIERS):
        return "a profile needs an email, phone_number or external_id"
    if not isinstance(attributes.get("properties", {}), dict):
        return "properties must be an object"
    return None


def _profile_import_problem(body) -> str | None:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or data.get("type") != "profile-bulk-import-job":
        return "data.type must be 'profile-bulk-import-job'"
    profiles = ((data.get("attributes") or {}).get("profiles") or {}).get("data")
    if not isinstance(profiles, list) or not 1 <= len(profiles) <= 10000:
        return "data.attributes.profiles.data must list 1 to 10,000 profiles"
    return next((p for p in map(_profile_problem, profiles) if p), None)


def _event_problem(body) -> str | None:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or data.get("type") != "event":
        return "data.type must be 'event'"
    attributes = data.get("attributes") or {}
    metric = (attributes.get("metric") or {}).get("data") or {}
    if metric.get("type") != "metric" or not (metric.get("attributes") or {}).get("name"):
        return "data.attributes.metric.data must be a metric with a name"
    if not isinstance(attributes.get("properties"), dict):
        return "data.attributes.properties is required"
    return _profile_problem((attributes.get("profile") or {}).get("data"))


class KlaviyoStub:
    def __init__(self, rsps: responses.RequestsMock, base_url: str = BASE_URL):
        self.profile_imports: list[dict] = []
        self.events: list[dict] = []
        # Answers to give first (e.g. [(429, {"Retry-After": "2"})]), then 202s.
        self.queued: list[tuple[int, dict]] = []
        self.calls = 0
        rsps.add_callback(responses.POST, f"{base_url}/api/profile-bulk-import-jobs",
                          callback=lambda r: self._answer(r, _profile_import_problem, self.profile_imports))
        rsps.add_callback(responses.POST, f"{base_url}/api/events",
                          callback=lambda r: self._answer(r, _event_problem, self.events))

    def _answer(self, request, problem_of, accepted: list):
        self.calls += 1
        if request.headers.get("Authorization") != f"Klaviyo-API-Key {API_KEY}":
            return _error(401, "Incorrect authentication credentials.")
        if request.headers.get("revision") != REVISION:
            return _error(400, "The revision header is missing or unknown.")
        if not request.headers.get("Content-Type", "").startswith("application/vnd.api+json"):
            return _error(415, "Content-Type must be application/vnd.api+json")
        if self.queued:
            status, headers = self.queued.pop(0)
            return _error(status, "Request was throttled.", headers) if status >= 400 else (status, headers, "")
        body = json.loads(request.body)
        problem = problem_of(body)
        if problem:
            return _error(400, problem)
        accepted.append(body)
        return 202, {}, ""
