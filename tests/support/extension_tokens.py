"""Session tokens as `shopify.sessionToken.get()` gives them to customer account and checkout
UI extensions (shopify.dev, Session Token API): HS256 with the app secret, `dest` the bare shop
host, `aud` the client id, 5 minutes of life, `sub` the customer's GID only when signed in."""
from __future__ import annotations

import time
import uuid

import jwt

from tests.support import API_KEY, CUSTOMER_ID, SECRET, SHOP

GUEST = object()


def extension_token(*, shop: str = SHOP, customer_id=CUSTOMER_ID, secret: str = SECRET, api_key: str = API_KEY,
                    lifetime: int = 300, now: float | None = None, **overrides) -> str:
    issued = int(now if now is not None else time.time())
    claims = {"dest": shop, "aud": api_key, "exp": issued + lifetime, "nbf": issued, "iat": issued,
              "jti": str(uuid.uuid4())}
    if customer_id is not GUEST and customer_id is not None:
        claims["sub"] = f"gid://shopify/Customer/{customer_id}"
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
