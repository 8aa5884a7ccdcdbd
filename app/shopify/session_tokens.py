"""App Bridge session tokens (ID tokens): HS256 JWTs signed with the app secret."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from shopify import session_token

from app.shopify.domains import InvalidShopDomain, normalize_shop_domain


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
    last_error: Exception | None = None
    for secret in (s for s in secrets if s):
        try:
            claims = session_token.decode_from_header(f"Bearer {token}", api_key, secret)
            break
        except session_token.SessionTokenError as exc:
            last_error = exc
    else:
        raise InvalidSessionToken(f"session token rejected: {last_error or 'no secret configured'}")
    try:
        shop = normalize_shop_domain(urlparse(claims["dest"]).hostname)
    except InvalidShopDomain as exc:
        raise InvalidSessionToken(str(exc)) from exc
    return SessionClaims(shop_domain=shop, staff_user_id=str(claims["sub"]), session_id=str(claims["sid"]),
                         raw_token=token)
