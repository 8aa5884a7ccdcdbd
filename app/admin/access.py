"""Who is asking, for which shop: session-token access for the admin pages and the JSON API,
CSRF tokens for the pages' forms, and the headers every embedded page carries.

Session tokens arrive as `Authorization: Bearer` (fetch from the page) or, on GET requests
only (page loads, file downloads), as the `id_token` query parameter (app/auth.py). Nothing is kept in cookies: the admin
runs in a third-party iframe where cookies are unreliable (auth.md §6).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from flask import current_app, make_response, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from app.auth import ensure_installed_from_session_token
from app.errors import ApiError
from app.models import Shop
from app.runtime import tessera
from app.shopify.admin_access import reconnect_advice
from app.shopify.domains import InvalidShopDomain, normalize_shop_domain

CSRF_SALT = "tessera-admin-csrf"
# A page left open all day still submits; a leaked token is useless after this.
CSRF_MAX_AGE = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "admin"
NAV = (("admin.home", "Home"), ("admin.program", "Program"), ("admin.members", "Members"),
       ("admin.segments", "Segments"), ("admin.analytics", "Analytics"), ("admin.imports", "Import & export"),
       ("admin.activity", "Activity"), ("admin.data_requests", "Data requests"), ("admin.emails", "Emails"),
       ("admin.games", "Games & giving"), ("admin.integrations", "Integrations"))


def frame_ancestors(shop_domain: str | None) -> str:
    """CSP for embedded pages: only this shop's admin may frame them (auth.md §6)."""
    if not shop_domain:
        return "frame-ancestors 'none';"
    return f"frame-ancestors https://{shop_domain} https://admin.shopify.com;"


def require_session_token() -> None:
    if not current_user.is_authenticated:
        raise ApiError(401, "session_token_required",
                       "A valid Shopify session token is required (Authorization: Bearer <token> from App Bridge).")


def current_shop_id() -> int:
    """The signed-in shop's id; a shop opening Tessera for the first time is installed here
    (Shopify-managed install: the session token is exchanged for an offline token)."""
    require_session_token()
    return ensure_installed_from_session_token(current_user)


@contextmanager
def shop_session(*, read_only: bool = False) -> Iterator[tuple[Session, Shop]]:
    """A database session and the signed-in shop. Every query the handlers make is scoped by it."""
    shop_id = current_shop_id()
    with tessera().db.scope(read_only=read_only) as session:
        shop = session.get(Shop, shop_id)
        if shop is None or not shop.is_installed:
            raise ApiError(401, "shop_not_installed", "Tessera is not installed on this shop; open it from your "
                                                      "Shopify admin to install it again.")
        yield session, shop


def staff_user_id() -> str:
    return current_user.staff_user_id


def _csrf_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CSRF_SALT)


def csrf_token() -> str:
    """Tied to the shop and the App Bridge session (`sid`), so it cannot be replayed for
    another shop or another staff session."""
    return _csrf_serializer().dumps({"shop": current_user.shop_domain, "sid": current_user.claims.session_id})


def check_csrf() -> None:
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if not sent:
        raise ApiError(403, "csrf_token_missing", "This form was sent without its security token. Reload the page "
                                                  "and submit it again.")
    try:
        data = _csrf_serializer().loads(sent, max_age=CSRF_MAX_AGE)
    except SignatureExpired:
        raise ApiError(403, "csrf_token_expired", "This page has been open too long. Reload it and submit the form "
                                                  "again.") from None
    except BadSignature:
        data = None
    if not isinstance(data, dict) or data.get("shop") != current_user.shop_domain or \
            data.get("sid") != current_user.claims.session_id:
        raise ApiError(403, "csrf_token_invalid", "This form's security token does not belong to your current "
                                                  "session. Reload the page and submit it again.")


def validated_shop_arg() -> str | None:
    try:
        return normalize_shop_domain(request.args.get("shop"))
    except InvalidShopDomain:
        return None


def embedded_page(html: str, shop_domain: str | None, status: int = 200):
    """An HTML answer for the admin iframe: framed only by the shop's admin, never cached
    (it carries shop data and a CSRF token), no URL (with its id_token) leaked as a referrer."""
    response = make_response(html, status)
    response.headers["Content-Security-Policy"] = frame_ancestors(shop_domain)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@lru_cache(maxsize=1)
def asset_version() -> str:
    """Changes when the stylesheet or script does, so browsers never run a stale copy."""
    digest = hashlib.sha256()
    for name in ("tessera.css", "admin.js"):
        digest.update((STATIC_DIR / name).read_bytes())
    return digest.hexdigest()[:12]


def page_url(endpoint: str, **values) -> str:
    """A link to another admin page keeping the embedded context (shop, host); admin.js adds
    a fresh id_token when it is followed."""
    host = request.args.get("host")
    return url_for(endpoint, shop=current_user.shop_domain, **({"host": host} if host else {}), **values)


def shell_context(shop: Shop) -> dict:
    """What the base template needs on every page."""
    t = tessera()
    return {"shop": shop, "api_key": t.api_key, "devstore": bool(t.config.get("DEVSTORE")),
            "host": request.args.get("host", ""), "csrf_token": csrf_token(), "staff_user_id": staff_user_id(),
            "asset_version": asset_version(), "page_url": page_url,
            "nav": NAV + ((("admin.billing_page", "Plan"),) if t.config.get("BILLING") else ()),
            "current_section": (request.endpoint or "").split(".")[-1],
            "reconnect_advice": reconnect_advice(shop)}


def render_page(template: str, shop: Shop, **context):
    return embedded_page(render_template(template, **shell_context(shop), **context), shop.domain)


def sign_in_page():
    """Answer to a page load without a valid session token: no shop data, status 401. In the
    admin (or the demo store) its script fetches a fresh token and loads the page again; if the
    URL already carried a token that failed, it says so instead of trying again."""
    t = tessera()
    html = render_template("admin/sign_in.html", api_key=t.api_key, devstore=bool(t.config.get("DEVSTORE")),
                           token_rejected=bool(request.args.get("id_token")), asset_version=asset_version())
    return embedded_page(html, validated_shop_arg(), status=401)
