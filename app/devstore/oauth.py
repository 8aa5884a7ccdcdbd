"""Shopify's side of authentication, for the demo store (shopify.dev authentication docs):
the authorize page (auto-approved: the demo merchant always says yes), the token endpoint
(authorization code, token exchange, refresh, client credentials; expiring offline tokens;
429s on demand), opening the embedded
app with a signed query and an ID token, and minting session tokens.

URL timestamps and JWT times are real time (Tessera checks them against the wall clock);
token lifetimes follow Tessera's clock, which `devstore seed` moves through the demo's past.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt

from app.devstore.graph import iso, parse_time
from app.devstore.state import ShopState
from app.shopify.signatures import oauth_query_hmac

ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 90 * 86400
CODE_SECONDS = 600
DEMO_STAFF_USER_ID = "70000000001"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
# Dev Dashboard apps on their developer's own store: tokens for about a day, no refresh token.
CLIENT_CREDENTIALS_GRANT = "client_credentials"
CLIENT_CREDENTIALS_TOKEN_SECONDS = 86399
RATE_LIMITED = {"errors": "Exceeded token request rate limit. Retry after the time in Retry-After."}


class OAuthRefused(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


@dataclass(frozen=True)
class AppCredentials:
    api_key: str
    api_secret: str
    app_url: str
    scopes: str


def host_param(domain: str) -> str:
    """`host`: base64 of the shop's admin location, without padding, as Shopify sends it."""
    store = domain.split(".", 1)[0]
    return base64.b64encode(f"admin.shopify.com/store/{store}".encode()).decode().rstrip("=")


def signed_query(params: dict[str, str], secret: str) -> str:
    query = urlencode(params)
    return f"{query}&hmac={oauth_query_hmac(query, secret)}"


def authorize(shop: ShopState, args: dict[str, str], app: AppCredentials, now: datetime) -> str:
    """Approve the install and return the app's callback URL with code, hmac, state, timestamp."""
    if args.get("client_id") != app.api_key:
        raise OAuthRefused(400, "invalid_request", "Oauth error invalid_request: The api_key is invalid "
                                                   f"(expected the demo app's client id {app.api_key}).")
    redirect_uri = args.get("redirect_uri", "")
    if urlsplit(redirect_uri)[:2] != urlsplit(app.app_url)[:2]:
        raise OAuthRefused(400, "invalid_request", "Oauth error invalid_request: The redirect_uri is not "
                                                   f"whitelisted (it must be on {app.app_url}).")
    code = secrets.token_hex(16)
    shop["codes"][code] = {"scope": args.get("scope") or app.scopes,
                           "expires_at": iso(now + timedelta(seconds=CODE_SECONDS))}
    params = {"code": code, "host": host_param(shop["domain"]), "shop": shop["domain"], "state": args.get("state", ""),
              "timestamp": str(int(time.time()))}
    return f"{redirect_uri}?{signed_query(params, app.api_secret)}"


def _grant(shop: ShopState, scope: str, expiring: bool, now: datetime) -> dict[str, Any]:
    token = "shpat_" + secrets.token_hex(16)
    expires_at = now + timedelta(seconds=ACCESS_TOKEN_SECONDS) if expiring else None
    shop["access_tokens"][token] = {"scope": scope, "expires_at": iso(expires_at)}
    shop["installed"], shop["scope"] = True, scope
    answer: dict[str, Any] = {"access_token": token, "scope": scope}
    if expiring:
        refresh = "shprt_" + secrets.token_hex(16)
        shop["refresh_tokens"][refresh] = {"scope": scope,
                                           "expires_at": iso(now + timedelta(seconds=REFRESH_TOKEN_SECONDS))}
        answer.update(expires_in=ACCESS_TOKEN_SECONDS, refresh_token=refresh,
                      refresh_token_expires_in=REFRESH_TOKEN_SECONDS)
    return answer


def _take_unexpired(bucket: dict[str, dict], key: str, now: datetime) -> dict | None:
    entry = bucket.pop(key, None)  # codes and refresh tokens are single-use
    if entry is None or (entry["expires_at"] and parse_time(entry["expires_at"]) <= now):
        return None
    return entry


def _exchange_session_token(shop: ShopState, body: dict, app: AppCredentials) -> str:
    try:
        claims = jwt.decode(body.get("subject_token", ""), app.api_secret, algorithms=["HS256"],
                            audience=app.api_key, leeway=10,
                            options={"require": ["iss", "dest", "aud", "sub", "exp", "nbf", "sid"]})
    except jwt.PyJWTError as exc:
        raise OAuthRefused(400, "invalid_subject_token", f"The session token is invalid: {exc}") from exc
    if urlsplit(str(claims.get("dest", ""))).hostname != shop["domain"]:
        raise OAuthRefused(400, "invalid_subject_token", "The session token belongs to another shop.")
    return app.scopes


def rate_limited(shop: ShopState) -> bool:
    """Tests and the demo can make the token endpoint answer 429 the next N times."""
    remaining = shop.get("token_rate_limited", 0)
    if remaining > 0:
        shop["token_rate_limited"] = remaining - 1
    return remaining > 0


def _client_credentials(shop: ShopState, app: AppCredentials, now: datetime) -> dict[str, Any]:
    """Only for an app of the store's own organisation, installed from the Dev Dashboard."""
    if not shop.get("client_credentials_app"):
        raise OAuthRefused(400, "unauthorized_client", "The client credentials grant is only available for apps "
                                                       "developed by the store's own organization.")
    if not shop["installed"]:
        raise OAuthRefused(400, "invalid_request", "The app is not installed on this store; install it from the "
                                                   "Dev Dashboard first.")
    token = "shpat_" + secrets.token_hex(16)
    shop["access_tokens"][token] = {
        "scope": shop["scope"], "expires_at": iso(now + timedelta(seconds=CLIENT_CREDENTIALS_TOKEN_SECONDS))}
    return {"access_token": token, "scope": shop["scope"], "expires_in": CLIENT_CREDENTIALS_TOKEN_SECONDS}


def install_client_credentials_app(shop: ShopState, app: AppCredentials) -> None:
    """The Dev Dashboard's "Install app" on the developer's own store."""
    shop.update(client_credentials_app=True, installed=True, scope=app.scopes)


def token(shop: ShopState, body: dict, app: AppCredentials, now: datetime) -> dict[str, Any]:
    """POST /admin/oauth/access_token: the four grants Tessera uses."""
    if body.get("client_id") != app.api_key or body.get("client_secret") != app.api_secret:
        raise OAuthRefused(401, "invalid_client", "Client credentials are invalid.")
    grant_type = body.get("grant_type")
    expiring = str(body.get("expiring", "0")) == "1"
    if grant_type == CLIENT_CREDENTIALS_GRANT:
        return _client_credentials(shop, app, now)
    if grant_type == "refresh_token":
        entry = _take_unexpired(shop["refresh_tokens"], body.get("refresh_token", ""), now)
        if entry is None:
            raise OAuthRefused(400, "invalid_grant", "The refresh token is invalid, used or expired.")
        return _grant(shop, entry["scope"], True, now)
    if grant_type == TOKEN_EXCHANGE_GRANT:
        return _grant(shop, _exchange_session_token(shop, body, app), expiring, now)
    entry = _take_unexpired(shop["codes"], body.get("code", ""), now)
    if entry is None:
        raise OAuthRefused(400, "invalid_request", "The authorization code was not found or was already used.")
    return _grant(shop, entry["scope"], expiring, now)


def token_scopes(shop: ShopState, access_token: str | None, now: datetime) -> set[str] | None:
    """The scopes of a valid access token, or None (the Admin API answers 401)."""
    entry = shop["access_tokens"].get(access_token or "")
    if entry is None or (entry["expires_at"] and parse_time(entry["expires_at"]) <= now):
        return None
    return {s.strip() for s in entry["scope"].split(",") if s.strip()}


def revoke_all(shop: ShopState) -> None:
    """On uninstall Shopify revokes the app's tokens and drops its API webhook subscriptions."""
    shop.update(installed=False, access_tokens={}, refresh_tokens={}, codes={}, subscriptions=[])


def mint_session_token(domain: str, app: AppCredentials, *, lifetime: int = 60) -> str:
    """An App Bridge ID token for the demo shop's staff user (HS256 with the app secret)."""
    issued = int(time.time())
    claims = {"iss": f"https://{domain}/admin", "dest": f"https://{domain}", "aud": app.api_key,
              "sub": DEMO_STAFF_USER_ID, "exp": issued + lifetime, "nbf": issued, "iat": issued,
              "jti": str(uuid.uuid4()),
              "sid": hashlib.sha256(f"{domain}:{DEMO_STAFF_USER_ID}".encode()).hexdigest()[:32]}
    return jwt.encode(claims, app.api_secret, algorithm="HS256")


def embedded_app_url(domain: str, app: AppCredentials, path: str = "") -> str:
    """What the Shopify admin loads for an installed embedded app (auth.md §2, §3); a deep link
    (`/admin/apps/<app>/members`) loads that path of the app."""
    params = {"embedded": "1", "host": host_param(domain), "id_token": mint_session_token(domain, app),
              "locale": "en", "session": hashlib.sha256(domain.encode()).hexdigest()[:32], "shop": domain,
              "timestamp": str(int(time.time()))}
    return f"{app.app_url}/{path.lstrip('/')}?{signed_query(params, app.api_secret)}"


def install_url(domain: str, app: AppCredentials) -> str:
    """Opening an app that is not installed starts its install, with a signed query."""
    params = {"host": host_param(domain), "shop": domain, "timestamp": str(int(time.time()))}
    return f"{app.app_url}/auth/install?{signed_query(params, app.api_secret)}"
