"""Checkout extensions: the points a cart will earn, and redeeming a reward as a code the
extension applies in place (`applyDiscountCodeChange`).

Guests get the estimate; redeeming needs a signed-in customer (the token's `sub`). A reward
whose minimum the cart does not reach, or that cannot combine with the codes already on the
checkout, is refused before any points are held.
"""
from __future__ import annotations

from app.errors import ApiError
from app.extensions_api.access import (bp, json_object, private_json, signed_in_customer,
                                       verified_extension_request)
from app.loyalty.checkout import CODE_KINDS, checkout_refusal, parse_cart
from app.models import Shop
from app.queries.cart_estimate import cart_estimate
from app.queries.member_state import member_state
from app.runtime import tessera
from app.extensions_api.redeeming import redeem_for_caller, redemption_progress
from app.services.rewards import find_reward, spec_of


@bp.post("/checkout/estimate")
def checkout_estimate():
    """`{"currency", "subtotal", "shipping", "tax", "lines": [{"product_id", "amount"}]}` ->
    the points the order would earn now; `points: null` when the checkout is in another
    currency than the shop's (the earning rules are written in the shop's currency)."""
    caller = verified_extension_request()
    body = json_object()
    t = tessera()
    with t.db.scope(read_only=True) as session:
        estimate = cart_estimate(session, session.get(Shop, caller.shop_id), body, caller.customer_id, now=t.clock())
    return private_json(estimate)


@bp.get("/checkout/member")
def checkout_member():
    """The signed-in member's balance and the rewards that can become a code at checkout."""
    caller = verified_extension_request()
    customer_id = signed_in_customer(caller)
    t = tessera()
    with t.db.scope(read_only=True) as session:
        state = member_state(session, session.get(Shop, caller.shop_id), customer_id, now=t.clock(), recent=0)
    rewards = [r for r in state["rewards"] if r["kind"] in CODE_KINDS]
    return private_json({"balance": state["balance"], "pending": state["pending"], "tier": state["tier"],
                         "blocked": state["blocked"], "rewards": rewards})


@bp.post("/checkout/redeem")
def checkout_redeem():
    """`{"reward_id", "idempotency_key", "currency", "subtotal", "applied_codes": [...], "points"?}`
    -> the redemption with its `code` for the extension to apply."""
    caller = verified_extension_request()
    customer_id = signed_in_customer(caller)
    body = json_object()
    _refuse_misfit(caller.shop_id, body)
    return redeem_for_caller(caller, customer_id, body)


@bp.get("/checkout/redemptions/<redemption_id>")
def checkout_redemption(redemption_id: str):
    """A slow redemption's progress, for its owner only (404 for anyone else)."""
    caller = verified_extension_request()
    return redemption_progress(caller, signed_in_customer(caller), redemption_id)


def _refuse_misfit(shop_id: int, body: dict) -> None:
    t = tessera()
    with t.db.scope(read_only=True) as session:
        shop = session.get(Shop, shop_id)
        if str(body.get("currency") or "").upper() != shop.currency.upper():
            raise ApiError(422, "currency_mismatch", f"Rewards are priced in {shop.currency}; switch the checkout to "
                                                     f"{shop.currency} to use one here.", {"currency": shop.currency})
        if body.get("subtotal") in (None, ""):
            raise ApiError(422, "invalid", "Send the checkout's subtotal so the reward's minimum can be checked.",
                           {"subtotal": "an amount such as \"54.00\""})
        cart = parse_cart({"subtotal": body.get("subtotal")}, shop.currency)
        refusal = checkout_refusal(spec_of(find_reward(session, shop, body.get("reward_id"))), cart,
                                   _applied_codes(body.get("applied_codes")))
    if refusal is not None:
        raise ApiError(422, refusal[0], refusal[1])


def _applied_codes(value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise ApiError(422, "invalid", "'applied_codes' must be a list of discount codes.",
                       {"applied_codes": "a list of strings"})
    return [code.strip()[:64] for code in value if code.strip()]
