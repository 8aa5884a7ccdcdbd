"""`Authorization: Bearer tsk_...`: an owner API key signs the request in as its shop, for
/api/v1 only (the admin pages and the storefront never accept one)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from flask_login import current_user

from app.auth import ShopUser
from app.errors import ApiError
from app.models import Shop
from app.runtime import tessera
from app.services.api_keys import find_api_key, last_use_is_stale, looks_like_api_key, note_api_key_used


@dataclass
class ApiKeyUser(ShopUser):
    """A script acting for the shop: it has no App Bridge session (so no CSRF token), and what it
    records is attributed to `api_key:ID`."""

    api_key_id: int = 0


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    return header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""


def sign_in_with_api_key() -> bool:
    """True when the request carries a valid key (its shop is then the request's shop); an
    unknown or revoked key is refused here rather than tried as a session token."""
    key = _bearer()
    if not looks_like_api_key(key):
        return False
    t = tessera()
    now = t.clock()
    with t.db.scope(read_only=True) as session:
        row = find_api_key(session, key)
        shop = session.get(Shop, row.shop_id) if row is not None else None
    if row is None or shop is None:
        raise ApiError(401, "invalid_api_key", "This API key is unknown or was revoked. Create a new one in "
                                               "Tessera > Integrations (or POST /api/v1/api-keys).")
    if last_use_is_stale(row, now):
        with t.db.scope() as session:
            note_api_key_used(session, row.id, now=now)
    user = ApiKeyUser(shop_id=shop.id, shop_domain=shop.domain, staff_user_id=f"api_key:{row.id}", claims=None,
                      api_key_id=row.id)
    # Flask-Login's own way of setting the request's user without a session cookie.
    current_app.login_manager._update_request_context_with_user(user)
    return True


def require_owner_session() -> None:
    """Things a key must not do for itself (minting more keys): only the owner, signed in to the
    admin, may."""
    if isinstance(current_user._get_current_object(), ApiKeyUser):
        raise ApiError(403, "session_token_required", "API keys cannot create API keys; create one from Tessera > "
                                                      "Integrations in your Shopify admin.")
