"""The App Proxy API the storefront widget talks to: Shopify forwards
`https://SHOP/apps/tessera/*` here with a signature over the query. The shopper is the signed
`logged_in_customer_id` and nothing else; an empty one is a guest."""
from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from flask import Blueprint, Flask, request

from app.errors import ApiError
from app.models import Shop
from app.runtime import tessera
from app.services.shops import find_shop
from app.shopify.signatures import proxy_signature_valid

bp = Blueprint("storefront", __name__, url_prefix="/proxy")

# Shopify's own library allows 90 s between signing and checking.
MAX_SKEW_SECONDS = 90


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
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
        raise ApiError(401, "expired_signature", "This request has expired; reload the page.")
    with t.db.scope(read_only=True) as session:
        shop = find_shop(session, params.get("shop", ""))
        if shop is None or not shop.is_installed:
            raise ApiError(404, "unknown_shop", "This store does not run Tessera.")
    customer = params.get("logged_in_customer_id", "")
    return ProxyRequest(shop_id=shop.id, shop_domain=shop.domain, customer_id=int(customer) if customer.isdigit()
                        else None, path_prefix=params.get("path_prefix", ""))


def load_shop(session, proxy: ProxyRequest) -> Shop:
    return session.get(Shop, proxy.shop_id)


def private_json(body: dict, status: int = 200):
    """Per-customer answers must never sit in a shared cache."""
    return body, status, {"Cache-Control": "private, no-store"}


def init_app(app: Flask) -> None:
    from app.storefront import routes  # noqa: F401 - registers the routes on bp
    app.register_blueprint(bp)
