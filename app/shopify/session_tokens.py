"""App Bridge session tokens (ID tokens): HS256 JWTs signed with the app secret.

Checked as Shopify documents them (shared reference auth.md; shopify.dev "session tokens"):
signature, `aud` == our API key, `exp` and `nbf` both present and honoured with Shopify's 10 s
leeway, and `iss` (`https://{shop}/admin`) and `dest` (`https://{shop}`) naming one
myshopify.com shop. The Python library only requires iss/dest/sub/jti/sid, so a token without
`exp` would be valid forever: we decode with PyJWT ourselves and require every claim we use.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

import jwt

from app.shopify.domains import InvalidShopDomain, normalize_shop_domain

LEEWAY_SECONDS = 10
REQUIRED_CLAIMS = ["iss", "dest", "aud", "sub", "exp", "nbf", "sid"]


class InvalidSessionToken(Exception):
    pass


@dataclass(frozen=True)
class SessionClaims:
    shop_domain: str
    staff_user_id: str
    session_id: str
    raw_token: str


def decode_session_token(token: str, *, api_key: str, secrets: list[str]) -> SessionClaims:
    """Verify signature, aud == api key, exp/nbf (10 s leeway), iss/dest on one myshopify host."""
    claims = _verified_claims(token, api_key, secrets)
    shop = _shop_of(claims)
    return SessionClaims(shop_domain=shop, staff_user_id=str(claims["sub"]), session_id=str(claims["sid"]),
                         raw_token=token)


def _verified_claims(token: str, api_key: str, secrets: list[str]) -> dict:
    last_error: Exception | None = None
    for secret in (s for s in secrets if s):
        try:
            return jwt.decode(token, secret, algorithms=["HS256"], audience=api_key, leeway=LEEWAY_SECONDS,
                              options={"require": REQUIRED_CLAIMS, "verify_exp": True, "verify_nbf": True,
                                       "verify_aud": True})
        except jwt.InvalidSignatureError as exc:
            last_error = exc  # perhaps signed with the other secret of a rotation
        except jwt.PyJWTError as exc:
            raise InvalidSessionToken(f"session token rejected: {exc}") from exc
    raise InvalidSessionToken(f"session token rejected: {last_error or 'no secret configured'}")


def _shop_of(claims: dict) -> str:
    iss, dest = claims["iss"], claims["dest"]
    if not isinstance(iss, str) or not isinstance(dest, str):
        raise InvalidSessionToken("session token rejected: iss and dest must be URLs")
    try:
        shop = normalize_shop_domain(urlparse(dest).hostname)
    except InvalidShopDomain as exc:
        raise InvalidSessionToken(str(exc)) from exc
    if iss.rstrip("/") != f"https://{shop}/admin" or dest.rstrip("/") != f"https://{shop}":
        raise InvalidSessionToken("session token rejected: iss and dest do not name the same shop")
    return shop


# Customer account and checkout UI extensions get a different token from `shopify.sessionToken.get()`
# (shopify.dev, "Session Token API", checkout and customer account UI extensions): no `iss`, no
# `sid`, `dest` is the bare shop host, a 5-minute lifetime, and `sub` - the customer's GID -
# only when a customer is signed in and the app may read customer accounts.
EXTENSION_REQUIRED_CLAIMS = ["dest", "aud", "exp", "nbf"]
CUSTOMER_GID_PREFIX = "gid://shopify/Customer/"


@dataclass(frozen=True)
class ExtensionClaims:
    shop_domain: str
    customer_id: int | None  # None: a guest at checkout


def decode_extension_token(token: str, *, api_key: str, secrets: list[str]) -> ExtensionClaims:
    """Verify a customer account / checkout extension token: signature, aud == client id, exp/nbf
    (10 s leeway), `dest` one myshopify.com shop, `sub` absent or a customer GID."""
    claims = _verified_extension_claims(token, api_key, secrets)
    return ExtensionClaims(shop_domain=_extension_shop_of(claims), customer_id=_customer_of(claims.get("sub")))


def _verified_extension_claims(token: str, api_key: str, secrets: list[str]) -> dict:
    last_error: Exception | None = None
    for secret in (s for s in secrets if s):
        try:
            return jwt.decode(token, secret, algorithms=["HS256"], audience=api_key, leeway=LEEWAY_SECONDS,
                              options={"require": EXTENSION_REQUIRED_CLAIMS, "verify_exp": True,
                                       "verify_nbf": True, "verify_aud": True})
        except jwt.InvalidSignatureError as exc:
            last_error = exc  # perhaps signed with the other secret of a rotation
        except jwt.PyJWTError as exc:
            raise InvalidSessionToken(f"session token rejected: {exc}") from exc
    raise InvalidSessionToken(f"session token rejected: {last_error or 'no secret configured'}")


def _extension_shop_of(claims: dict) -> str:
    dest = claims["dest"]
    if not isinstance(dest, str) or "/" in dest:
        raise InvalidSessionToken("session token rejected: dest must be the shop's myshopify.com host")
    try:
        return normalize_shop_domain(dest)
    except InvalidShopDomain as exc:
        raise InvalidSessionToken(str(exc)) from exc


def _customer_of(sub) -> int | None:
    if sub is None:
        return None
    number = sub[len(CUSTOMER_GID_PREFIX):] if isinstance(sub, str) and sub.startswith(CUSTOMER_GID_PREFIX) else ""
    if not number.isdigit() or not 0 < int(number) < 2 ** 63:
        raise InvalidSessionToken("session token rejected: sub is not a customer GID")
    return int(number)
