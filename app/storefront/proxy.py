"""The App Proxy API the storefront widget talks to: Shopify forwards
`https://SHOP/apps/tessera/*` here with a signature over the query. The shopper is the signed
`logged_in_customer_id` and nothing else; an empty one is a guest."""
from __future__ import annotations

import hashlib
import ipaddress
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl

from flask import Blueprint, request

from app.errors import ApiError
from app.models import Shop
from app.parsing import is_stored_id
from app.runtime import tessera
from app.services.rate_limits import RateLimit, count_request
from app.services.shops import find_shop
from app.shopify.signatures import proxy_signature_valid

bp = Blueprint("storefront", __name__, url_prefix="/proxy")

# Shopify's own library allows 90 s between signing and checking.
MAX_SKEW_SECONDS = 90
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class ProxyRequest:
    shop_id: int
    shop_domain: str
    customer_id: int | None
    path_prefix: str


def verified_proxy_request() -> ProxyRequest:
    """Signature first, then freshness, then the shop; 401/404 with a reason otherwise."""
    t = tessera()
    query = request.query_string.decode()
    if not proxy_signature_valid(query, t.api_secrets):
        raise ApiError(401, "invalid_signature", "This request did not come through the store's app proxy.")
    params = dict(parse_qsl(query, keep_blank_values=True))
    timestamp = params.get("timestamp", "")
    if not is_stored_id(timestamp) or abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
        raise ApiError(401, "expired_signature", "This request has expired; reload the page.")
    with t.db.scope(read_only=True) as session:
        shop = find_shop(session, params.get("shop", ""))
        if shop is None or not shop.is_installed:
            raise ApiError(404, "unknown_shop", "This store does not run Tessera.")
    customer = params.get("logged_in_customer_id", "")
    return ProxyRequest(shop_id=shop.id, shop_domain=shop.domain, customer_id=int(customer) if is_stored_id(customer)
                        else None, path_prefix=params.get("path_prefix", ""))


def shopper_address() -> str:
    """The shopper's IP address. Shopify's app proxy sends it in X-Forwarded-For; each proxy of
    ours in front of the app (APP_PROXY_TRUSTED_HOPS of them) appends one more address, and
    anything before Shopify's entry may have been typed by the shopper, so count from the end."""
    hops = tessera().config.get("APP_PROXY_TRUSTED_HOPS", 0)
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    index = len(forwarded) - 1 - hops
    address = forwarded[index] if 0 <= index < len(forwarded) else (request.remote_addr or "unknown")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address[:64]


def limit_referral_landings(proxy: ProxyRequest) -> None:
    """Each landing may mint a discount code: a few per shopper address, and a ceiling per shop
    so that many addresses together cannot mint codes without end either. 429 + Retry-After."""
    t = tessera()
    # The address is kept only as a digest: the counters need no personal data.
    client = hashlib.sha256(shopper_address().encode()).hexdigest()[:32]
    limits = [RateLimit(f"referral:client:{client}", t.config["REFERRAL_LANDINGS_PER_CLIENT_PER_HOUR"], HOUR),
              RateLimit("referral:shop", t.config["REFERRAL_LANDINGS_PER_SHOP_PER_HOUR"], HOUR)]
    for limit in limits:
        wait_seconds = count_request(t.db, proxy.shop_id, limit, t.clock())
        if wait_seconds is not None:
            raise ApiError(429, "too_many_requests", "Too many welcome codes were asked for just now; please try "
                                                     "again later.", headers={"Retry-After": str(wait_seconds)})


def load_shop(session, proxy: ProxyRequest) -> Shop:
    return session.get(Shop, proxy.shop_id)


def private_json(body: dict, status: int = 200):
    """Per-customer answers must never sit in a shared cache."""
    return body, status, {"Cache-Control": "private, no-store"}


def json_object_body() -> dict:
    """The request's JSON object; anything else is a 400 the widget can show."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "Send a JSON object body.")
    return body
