"""The UI extensions' data paths in the demo store: `/devstore/extensions?customer=<id>` shows
what the customer account page and order block, the checkout block and the admin customer and
order blocks and the POS tile and modal show, by calling the same endpoints the extensions call
(`/extensions/...` with a customer account / checkout session token, `/api/v1/...` with an admin
or POS ID token), tokens minted
here with the demo-only secret. Shopify renders the real extensions; this page runs their calls.
"""
from __future__ import annotations

import time
import uuid
from decimal import Decimal

import jwt
from flask import Blueprint, current_app, render_template, request

from app.devstore import oauth
from app.devstore.catalog import DEMO_SHOP
from app.devstore.locations import shop_locations
from app.devstore.seed import SHOPPERS
from app.devstore.stand_in import credentials, stand_in
from app.runtime import tessera
from app.services.shops import find_shop

bp = Blueprint("demo_extensions", __name__, url_prefix="/devstore", template_folder="templates")
TOKEN_LIFETIME_SECONDS = 300  # Shopify's own for extension tokens


def mint_extension_token(domain: str, customer_id: int | None) -> str:
    """A customer account / checkout extension token as Shopify shapes it: bare `dest`, the
    customer's GID as `sub` when signed in, 5 minutes of life."""
    app = credentials(current_app.config)
    issued = int(time.time())
    claims = {"dest": domain, "aud": app.api_key, "exp": issued + TOKEN_LIFETIME_SECONDS, "nbf": issued,
              "iat": issued, "jti": str(uuid.uuid4())}
    if customer_id is not None:
        claims["sub"] = f"gid://shopify/Customer/{customer_id}"
    return jwt.encode(claims, app.api_secret, algorithm="HS256")


def _story_customers(state: dict) -> list[dict]:
    named = {shopper.email for shopper in SHOPPERS.values()}
    return [c for c in state["customers"].values() if c["email"] in named]


def _latest_order(state: dict, customer_id: int) -> dict | None:
    orders = [o for o in state["orders"].values() if o["customer_id"] == customer_id]
    return max(orders, key=lambda o: o["id"]) if orders else None


def sample_cart(order: dict | None, currency: str) -> dict:
    """The customer's latest order as a checkout would hold it again (the estimate's input)."""
    lines = [] if order is None else [
        {"product_id": f"gid://shopify/Product/{li['product_id']}",
         "amount": str(Decimal(li["price"]) * li["quantity"] - Decimal(li["discount"]))}
        for li in order["lines"] if not li["gift_card"]]
    subtotal = sum((Decimal(line["amount"]) for line in lines), Decimal(0))
    return {"currency": currency, "subtotal": str(subtotal), "shipping": "0", "tax": "0", "lines": lines}


@bp.get("/extensions")
def extension_previews():
    state = stand_in().state.snapshot(DEMO_SHOP)
    customers = _story_customers(state)
    chosen = request.args.get("customer", type=int) or (customers[0]["id"] if customers else None)
    order = _latest_order(state, chosen) if chosen else None
    with tessera().db.scope(read_only=True) as session:
        shop = find_shop(session, DEMO_SHOP)
        currency = shop.currency if shop else "USD"
    return render_template(
        "devstore/extensions.html", customers=customers, customer_id=chosen, order=order,
        cart=sample_cart(order, currency),
        customer_token=mint_extension_token(DEMO_SHOP, chosen) if chosen else None,
        admin_token=oauth.mint_session_token(DEMO_SHOP, credentials(current_app.config),
                                             lifetime=TOKEN_LIFETIME_SECONDS),
        # POS's session token is the same Shopify ID token (dest the shop, sub the staff user).
        pos_token=oauth.mint_session_token(DEMO_SHOP, credentials(current_app.config),
                                           lifetime=TOKEN_LIFETIME_SECONDS),
        locations=sorted(shop_locations(state).values())), 200, {"Cache-Control": "no-store"}
