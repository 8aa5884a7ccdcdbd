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
