"""Who is asking from a customer account or checkout extension: the verified session token's
shop and signed-in customer, checked like the App Proxy checks its requests (an installed shop,
a customer only when Shopify signed one)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, request

from app.errors import ApiError
from app.runtime import tessera
from app.services.shops import find_shop
from app.shopify.session_tokens import InvalidSessionToken, decode_extension_token

bp = Blueprint("extensions_api", __name__, url_prefix="/extensions")

# UI extensions run in a web worker on a Shopify origin that Shopify does not promise to keep,
# so the answer allows any origin; nothing here rides on cookies, only on the Bearer token.
CORS_HEADERS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS", "Access-Control-Max-Age": "600"}


@dataclass(frozen=True)
class ExtensionRequest:
    shop_id: int
    shop_domain: str
    customer_id: int | None


@bp.after_request
def _allow_extension_origin(response):
    response.headers.update(CORS_HEADERS)
    response.headers["Vary"] = "Authorization"
    return response


@bp.before_request
def _answer_preflight():
    # The Authorization header makes every call preflighted; the preflight carries no token.
    if request.method == "OPTIONS":
        return "", 204
    return None


def verified_extension_request() -> ExtensionRequest:
    """Token first (401), then the shop (404), as the App Proxy does."""
    t = tessera()
    header = request.headers.get("Authorization", "")
    token = header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""
    if not token:
        raise ApiError(401, "session_token_required", "Send the extension's session token as Authorization: Bearer.")
    try:
        claims = decode_extension_token(token, api_key=t.api_key, secrets=t.api_secrets)
    except InvalidSessionToken as exc:
        raise ApiError(401, "invalid_session_token", f"{exc}; ask Shopify for a fresh token.") from exc
    with t.db.scope(read_only=True) as session:
        shop = find_shop(session, claims.shop_domain)
        if shop is None or not shop.is_installed:
            raise ApiError(404, "unknown_shop", "This store does not run Tessera.")
        return ExtensionRequest(shop_id=shop.id, shop_domain=shop.domain, customer_id=claims.customer_id)


def signed_in_customer(caller: ExtensionRequest) -> int:
    if caller.customer_id is None:
        raise ApiError(401, "login_required", "Log in to your account to use your points.")
    return caller.customer_id


def json_object() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "Send a JSON object body.")
    return body


def private_json(body: dict, status: int = 200):
    """Per-customer answers must never sit in a shared cache."""
    return body, status, {"Cache-Control": "private, no-store"}
