"""OAuth endpoints of a shop: authorization code grant, token exchange, token refresh, and the
client credentials grant of Dev Dashboard apps installed on the developer's own store.

Every URL is built from SHOPIFY_ADMIN_BASE_URL (default `https://{shop}`), so the local demo
store and tests can put a stand-in for Shopify behind it.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import requests

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"
CLIENT_CREDENTIALS_GRANT = "client_credentials"
# A 429 from the token endpoint is a pause, not a refusal: wait (Retry-After, capped so a page
# load is not held for long) and ask again a few times before reporting a temporary failure.
RATE_LIMIT_RETRIES = 3
RATE_LIMIT_MAX_WAIT_SECONDS = 10.0


class OAuthError(Exception):
    """Shopify refused a token request; `permanent` means retrying the same input is useless."""

    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class AccessGrant:
    access_token: str
    scope: str
    expires_at: datetime | None = None
    refresh_token: str | None = None
    refresh_token_expires_at: datetime | None = None


@dataclass(frozen=True)
class ShopifyEndpoints:
    admin_base_url: str
    api_version: str

    def shop_url(self, shop: str, path: str) -> str:
        return self.admin_base_url.format(shop=shop).rstrip("/") + path

    def graphql_url(self, shop: str) -> str:
        return self.shop_url(shop, f"/admin/api/{self.api_version}/graphql.json")

    def embedded_app_url(self, shop: str, api_key: str) -> str:
        return self.shop_url(shop, f"/admin/apps/{api_key}")


class OAuthClient:
    def __init__(self, endpoints: ShopifyEndpoints, api_key: str, api_secret: str, *,
                 http: requests.Session | None = None, timeout: float = 10.0,
                 sleep: Callable[[float], None] | None = None):
        self.endpoints = endpoints
        self.api_key = api_key
        self.api_secret = api_secret
        self.http = http or requests.Session()
        self.timeout = timeout
        self.sleep = sleep or time.sleep

    def authorize_url(self, shop: str, *, scopes: str, redirect_uri: str, state: str) -> str:
        query = urlencode({"client_id": self.api_key, "scope": scopes, "redirect_uri": redirect_uri, "state": state})
        return self.endpoints.shop_url(shop, f"/admin/oauth/authorize?{query}")

    def exchange_code(self, shop: str, code: str, *, expiring: bool, now: datetime) -> AccessGrant:
        body = {"client_id": self.api_key, "client_secret": self.api_secret, "code": code,
                "expiring": "1" if expiring else "0"}
        return self._token_request(shop, body, now)

    def exchange_session_token(self, shop: str, session_token: str, *, expiring: bool, now: datetime) -> AccessGrant:
        body = {"client_id": self.api_key, "client_secret": self.api_secret, "grant_type": TOKEN_EXCHANGE_GRANT,
                "subject_token": session_token, "subject_token_type": ID_TOKEN_TYPE,
                "requested_token_type": OFFLINE_TOKEN_TYPE, "expiring": "1" if expiring else "0"}
        return self._token_request(shop, body, now)

    def refresh(self, shop: str, refresh_token: str, *, now: datetime) -> AccessGrant:
        body = {"client_id": self.api_key, "client_secret": self.api_secret, "grant_type": "refresh_token",
                "refresh_token": refresh_token}
        return self._token_request(shop, body, now)

    def client_credentials(self, shop: str, *, now: datetime) -> AccessGrant:
        """A Dev Dashboard app on its developer's own store: the app's credentials alone buy a
        token (about 24 h, no refresh token); renewing means asking again."""
        body = {"client_id": self.api_key, "client_secret": self.api_secret, "grant_type": CLIENT_CREDENTIALS_GRANT}
        return self._token_request(shop, body, now)

    def _token_request(self, shop: str, body: dict[str, str], now: datetime) -> AccessGrant:
        response = self._post_token_request(shop, body)
        if response.status_code == 429:
            raise OAuthError("Shopify is rate limiting token requests (429); try again in a minute", permanent=False)
        if response.status_code >= 500:
            raise OAuthError(f"Shopify answered {response.status_code} to the token request", permanent=False)
        if response.status_code != 200:
            raise OAuthError(f"Shopify refused the token request ({response.status_code}): "
                             f"{_error_text(response)}", permanent=True)
        return _grant_from(response.json(), now)

    def _post_token_request(self, shop: str, body: dict[str, str]) -> requests.Response:
        """The token endpoint's answer, asking again after a 429 as Retry-After says."""
        url = self.endpoints.shop_url(shop, "/admin/oauth/access_token")
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                response = self.http.post(url, json=body, headers={"Accept": "application/json"},
                                          timeout=self.timeout)
            except requests.RequestException as exc:
                raise OAuthError(f"could not reach Shopify for {shop}: {exc}", permanent=False) from exc
            if response.status_code != 429 or attempt == RATE_LIMIT_RETRIES:
                return response
            self.sleep(_retry_after(response, attempt))
        raise AssertionError("unreachable")


def _retry_after(response: requests.Response, attempt: int) -> float:
    try:
        wait = float(response.headers.get("Retry-After", ""))
    except ValueError:
        wait = 2.0 ** attempt
    return min(max(wait, 0.0), RATE_LIMIT_MAX_WAIT_SECONDS)


def _error_text(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    return str(data.get("error_description") or data.get("error") or data.get("errors") or data)[:200]


def _grant_from(data: dict, now: datetime) -> AccessGrant:
    def after(seconds) -> datetime | None:
        return now + timedelta(seconds=int(seconds)) if seconds else None

    if not data.get("access_token"):
        raise OAuthError("Shopify's token response carries no access_token", permanent=True)
    return AccessGrant(access_token=data["access_token"], scope=data.get("scope", ""),
                       expires_at=after(data.get("expires_in")), refresh_token=data.get("refresh_token"),
                       refresh_token_expires_at=after(data.get("refresh_token_expires_in")))
