"""Install and authentication.

- `/auth/install` + `/auth/callback`: the authorization code grant (HMAC, state, timestamp).
- Session tokens (App Bridge ID tokens) authenticate every embedded-admin request; Flask-Login
  holds the resulting ShopUser for the request (no cookies: the admin lives in an iframe).
- Shopify-managed install: the first embedded load of a shop without a token exchanges its
  session token for an offline token (`ensure_installed_from_session_token`).
"""
from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from flask import Blueprint, Flask, redirect, request
from flask_login import LoginManager, UserMixin
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.errors import ApiError
from app.parsing import is_stored_id
from app.runtime import tessera
from app.services import shops
from app.shopify.domains import InvalidShopDomain, normalize_shop_domain
from app.shopify.oauth import OAuthError
from app.shopify.session_tokens import InvalidSessionToken, SessionClaims, decode_session_token
from app.shopify.signatures import oauth_query_hmac_valid, repeated_keys

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
login_manager = LoginManager()

STATE_COOKIE = "tessera_oauth_state"
STATE_MAX_AGE = 600
# Shopify's callback is generated the moment the merchant approves; an older one is a replay.
CALLBACK_MAX_AGE = 300


@dataclass
class ShopUser(UserMixin):
    shop_id: int | None
    shop_domain: str
    staff_user_id: str
    claims: SessionClaims
    needs_reauth: bool = False

    def get_id(self) -> str:
        return f"{self.shop_domain}:{self.staff_user_id}"


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer "):].strip()
    # The first embedded load carries the token in the URL; only page loads may use it.
    if request.method == "GET" and request.args.get("id_token"):
        return request.args["id_token"]
    return None


@login_manager.request_loader
def load_shop_user(_request) -> ShopUser | None:
    token = _bearer_token()
    if not token:
        return None
    t = tessera()
    try:
        claims = decode_session_token(token, api_key=t.api_key, secrets=t.api_secrets)
    except InvalidSessionToken:
        return None
    with t.db.scope(read_only=True) as session:
        shop = shops.find_shop(session, claims.shop_domain)
        shop_id = shop.id if shop is not None and shop.is_installed else None
        needs_reauth = shop_id is not None and (shop.reauth_required_at is not None
                                                or not shop.access_token_ciphertext)
    return ShopUser(shop_id=shop_id, shop_domain=claims.shop_domain, staff_user_id=claims.staff_user_id, claims=claims,
                    needs_reauth=needs_reauth)


@login_manager.unauthorized_handler
def _unauthorized():
    error = ApiError(401, "session_token_required",
                     "A valid Shopify session token is required (Authorization: Bearer <token> from App Bridge).")
    raise error


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.register_blueprint(bp)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(tessera().config["SECRET_KEY"], salt="oauth-state")


def _valid_shop_arg() -> str:
    try:
        return normalize_shop_domain(request.args.get("shop"))
    except InvalidShopDomain as exc:
        raise ApiError(400, "invalid_shop_domain", str(exc)) from exc


def _reject_repeated_keys() -> None:
    """The HMAC signs one value per key and the handlers read one: a repeated key would let
    them disagree about which shop (or code) was signed."""
    repeated = repeated_keys(request.query_string.decode())
    if repeated:
        raise ApiError(400, "repeated_parameter", f"The install link repeats {', '.join(sorted(repeated))}; start "
                                                  "the install again from the Shopify admin.",
                       {key: "sent more than once" for key in sorted(repeated)})


def _check_query_hmac(max_age: int) -> None:
    query = request.query_string.decode()
    if not oauth_query_hmac_valid(query, tessera().api_secrets):
        raise ApiError(401, "invalid_hmac", "The request's hmac does not match; start the install again from the "
                                            "Shopify admin or app store.")
    timestamp = dict(parse_qsl(query)).get("timestamp", "")
    if not is_stored_id(timestamp) or abs(time.time() - int(timestamp)) > max_age:
        raise ApiError(400, "stale_request", "This install link has expired; start the install again from the "
                                             "Shopify admin.")


@bp.get("/auth/install")
def install():
    _reject_repeated_keys()
    shop = _valid_shop_arg()
    if "hmac" in request.args:  # present when Shopify opens the app; absent for a typed-in domain
        _check_query_hmac(max_age=86400)
    t = tessera()
    state = secrets.token_urlsafe(24)
    url = t.oauth_client().authorize_url(shop, scopes=t.config["SCOPES"], redirect_uri=f"{t.app_url}/auth/callback",
                                         state=state)
    response = redirect(url)
    response.set_cookie(STATE_COOKIE, _serializer().dumps({"state": state, "shop": shop}), max_age=STATE_MAX_AGE,
                        httponly=True, secure=t.app_url.startswith("https://"), samesite="Lax")
    return response


def _check_state(shop: str) -> None:
    try:
        saved = _serializer().loads(request.cookies.get(STATE_COOKIE, ""), max_age=STATE_MAX_AGE)
    except BadSignature:
        saved = None
    sent = request.args.get("state", "")
    # compare_digest raises on non-ASCII text: compare bytes so a odd `state` is a mismatch, not a 500.
    if not saved or saved.get("shop") != shop or \
            not secrets.compare_digest(str(saved.get("state", "")).encode(), sent.encode()):
        raise ApiError(400, "invalid_state", "The install state does not match this browser session; start the "
                                             "install again from the Shopify admin.")


@bp.get("/auth/callback")
def callback():
    _reject_repeated_keys()
    shop_domain = _valid_shop_arg()
    _check_query_hmac(max_age=CALLBACK_MAX_AGE)
    _check_state(shop_domain)
    t = tessera()
    try:
        grant = t.oauth_client().exchange_code(shop_domain, request.args.get("code", ""),
                                               expiring=t.config["EXPIRING_OFFLINE_TOKENS"], now=t.clock())
    except OAuthError as exc:
        raise ApiError(502 if not exc.permanent else 400, "token_exchange_failed",
                       f"Shopify did not grant access: {exc}. Start the install again.") from exc
    session = t.db.session()
    try:
        shops.install_shop(session, shop_domain, grant, source="oauth", cipher=t.cipher, queue=t.queue, now=t.clock())
    finally:
        session.close()
    response = redirect(t.endpoints.embedded_app_url(shop_domain, t.api_key))
    response.delete_cookie(STATE_COOKIE)
    return response


def ensure_installed_from_session_token(user: ShopUser) -> int:
    """Shopify-managed install: trade the session token for an offline token if we have none.
    A shop flagged as needing re-authentication reconnects the same way, the next time the
    owner opens the app; if Shopify cannot answer now, the page opens with the banner."""
    if user.shop_id is not None and not user.needs_reauth:
        return user.shop_id
    t = tessera()
    try:
        grant = t.oauth_client().exchange_session_token(user.shop_domain, user.claims.raw_token,
                                                        expiring=t.config["EXPIRING_OFFLINE_TOKENS"], now=t.clock())
    except OAuthError as exc:
        if user.shop_id is not None:
            log.warning("reconnecting %s failed: %s", user.shop_domain, exc)
            return user.shop_id
        raise ApiError(401 if exc.permanent else 502, "token_exchange_failed",
                       f"Could not connect {user.shop_domain}: {exc}") from exc
    session = t.db.session()
    try:
        if user.shop_id is None:
            user.shop_id = shops.install_shop(session, user.shop_domain, grant, source="token_exchange",
                                              cipher=t.cipher, queue=t.queue, now=t.clock()).id
        else:
            shops.reconnect_shop(session, user.shop_id, grant, cipher=t.cipher, queue=t.queue)
        user.needs_reauth = False
    finally:
        session.close()
    return user.shop_id
