"""Customer account extensions: the Rewards page and the order status block.

The same reads and use cases as the widget's App Proxy routes (app/storefront/routes.py):
first sight enrols the customer and pays the signup action, redemption is the two-phase
`redeem_reward` with the caller's idempotency key, history carries the ledger's reasons.
"""
from __future__ import annotations

from app.errors import ApiError
from app.extensions_api.access import (bp, json_object, private_json, signed_in_customer,
                                       verified_extension_request)
from app.models import Shop
from app.queries.member_state import member_state
from app.queries.order_points import not_yet_known, order_points_json
from app.runtime import tessera
from app.services.members import find_member
from app.services.orders import find_order
from app.extensions_api.redeeming import redeem_for_caller, redemption_progress
from app.services.signup import welcome_signed_in_customer

HISTORY_ENTRIES = 50


@bp.get("/customer-account/member")
def customer_account_member():
    """Balance, tier progress, rewards, codes, referral link and history with reasons."""
    caller = verified_extension_request()
    customer_id = signed_in_customer(caller)
    t = tessera()
    welcome_signed_in_customer(t.db, t.shopify, caller.shop_id, customer_id, clock=t.clock)
    with t.db.scope(read_only=True) as session:
        state = member_state(session, session.get(Shop, caller.shop_id), customer_id, now=t.clock(),
                             recent=HISTORY_ENTRIES)
    referral_url = f"https://{caller.shop_domain}{state['referral_path']}" if state["referral_path"] else None
    return private_json({"guest": False, **state, "referral_url": referral_url})


@bp.post("/customer-account/redeem")
def customer_account_redeem():
    caller = verified_extension_request()
    customer_id = signed_in_customer(caller)
    return redeem_for_caller(caller, customer_id, json_object())


@bp.get("/customer-account/redemptions/<redemption_id>")
def customer_account_redemption(redemption_id: str):
    """A slow redemption's progress, for its owner only (404 for anyone else)."""
    caller = verified_extension_request()
    return redemption_progress(caller, signed_in_customer(caller), redemption_id)


@bp.get("/customer-account/orders/<int:order_id>")
def customer_account_order(order_id: int):
    """What this order earned (the block sends the number of its order GID). Before Shopify's
    order webhook arrives the order is not known yet: zero points, `known: false`. Another
    customer's order is not found."""
    caller = verified_extension_request()
    customer_id = signed_in_customer(caller)
    t = tessera()
    with t.db.scope(read_only=True) as session:
        shop = session.get(Shop, caller.shop_id)
        order = find_order(session, shop, order_id)
        if order is None:
            return private_json(not_yet_known(order_id))
        if order.customer_id != customer_id:
            raise ApiError(404, "not_found", "No such order in your account.")
        member = find_member(session, shop, customer_id)
        return private_json(order_points_json(session, shop, order_id, now=t.clock(), member=member))
