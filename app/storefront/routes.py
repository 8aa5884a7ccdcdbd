"""App Proxy endpoints (paths are contracts used by the widget and other tests)."""
from __future__ import annotations

from datetime import date

from app.errors import ApiError
from app.loyalty.wording import entry_reason
from app.parsing import optional_text, optional_whole_number, text
from app.queries.cart_estimate import cart_estimate
from app.queries.games_state import GUEST_STATE, member_games_state
from app.queries.member_state import member_state
from app.queries.pooled_state import pooled_state
from app.queries.program_summary import program_summary
from app.queries.redemption_status import member_redemption, redemption_json
from app.runtime import tessera
from app.location_lookup import name_store_locations_for
from app.services.actions import claim_action
from app.services.ledger import balance_of
from app.services.members import find_member, get_or_create_member, set_birthday
from app.services.redemptions import redeem_reward
from app.services.referrals import welcome_referee
from app.services.signup import welcome_signed_in_customer
from app.storefront.language import in_shopper_language, shopper_locale
from app.storefront.proxy import (bp, json_object_body, limit_referral_landings, load_shop, private_json,
                                  verified_proxy_request)


@bp.get("/program")
def program():
    proxy = verified_proxy_request()
    t = tessera()
    with t.db.scope(read_only=True) as session:
        summary = program_summary(session, load_shop(session, proxy), now=t.clock())
    # The same for every shopper of the shop: safe for shared caches for a minute.
    return summary, 200, {"Cache-Control": "public, max-age=60"}


@bp.get("/member")
def member():
    proxy = verified_proxy_request()
    if proxy.customer_id is None:
        return private_json({"guest": True, "balance": 0, "pending": 0, "lifetime_earned": 0, "tier": None,
                             **GUEST_STATE})
    t = tessera()
    welcome_signed_in_customer(t.db, t.shopify, proxy.shop_id, proxy.customer_id, clock=t.clock)
    name_store_locations_for(proxy.shop_id, proxy.customer_id)
    with t.db.scope(read_only=True) as session:
        shop = load_shop(session, proxy)
        state = member_state(session, shop, proxy.customer_id, now=t.clock(), locale=shopper_locale())
        state.update(member_games_state(session, shop, proxy.customer_id, now=t.clock()))
        state.update(pooled_state(session, shop, find_member(session, shop, proxy.customer_id), now=t.clock(),
                                  locale=shopper_locale()))
    return private_json({"guest": False, **state})


@bp.post("/estimate")
def estimate():
    """The points the current cart would earn (the widget sends `/cart.js`'s total and lines).
    Guests too: public, but only through the store's signed App Proxy."""
    proxy = verified_proxy_request()
    body = json_object_body()
    t = tessera()
    with t.db.scope(read_only=True) as session:
        answer = cart_estimate(session, load_shop(session, proxy), body, proxy.customer_id, now=t.clock())
    return private_json(answer)


def _require_member(proxy) -> int:
    if proxy.customer_id is None:
        raise ApiError(401, "login_required", "Log in to your account to use your points.")
    return proxy.customer_id


@bp.post("/redeem")
def redeem():
    proxy = verified_proxy_request()
    customer_id = _require_member(proxy)
    body = json_object_body()
    t = tessera()
    result = redeem_reward(t.db, proxy.shop_id, customer_id, body.get("reward_id"), body.get("idempotency_key"),
                           admin=t.shopify, queue=t.queue, clock=t.clock, deadline_seconds=t.redeem_deadline_seconds,
                           points=optional_whole_number(body.get("points"), "points", minimum=1))
    answer = redemption_json(result.redemption, result.balance)
    answer["message"] = in_shopper_language(answer.get("message"))
    if result.redemption.status == "pending":
        # Shopify is slow: the worker finishes it; the widget polls GET /proxy/redemptions/<id>.
        return private_json({"status": "pending", "redemption_id": result.redemption.id}, 202)
    return private_json(answer)


@bp.get("/redemptions/<redemption_id>")
def redemption(redemption_id: str):
    """A redemption's progress, for its owner only (404 for anyone else)."""
    proxy = verified_proxy_request()
    customer_id = _require_member(proxy)
    t = tessera()
    with t.db.scope(read_only=True) as session:
        answer = member_redemption(session, load_shop(session, proxy), customer_id, redemption_id, now=t.clock())
    answer["message"] = in_shopper_language(answer.get("message"))
    return private_json(answer)


@bp.post("/referral")
def referral_landing():
    """The widget calls this when a visitor lands with `?ref=CODE`: records the referral and
    returns the welcome code, plus the cart attribute that attributes the order."""
    proxy = verified_proxy_request()
    limit_referral_landings(proxy)
    body = json_object_body()
    code = text(body.get("code"), "code", max_length=64).upper()
    t = tessera()
    redemption = welcome_referee(t.db, proxy.shop_id, code, customer_id=proxy.customer_id,
                                 email=optional_text(body.get("email"), "email", max_length=254),
                                 admin=t.shopify, queue=t.queue, clock=t.clock)
    if redemption.status == "failed":
        raise ApiError(502, "redemption_failed", redemption.failure_reason or "Could not create the welcome code.")
    return private_json({"code": redemption.code, "kind": redemption.kind,
                         "value": None if redemption.value is None else str(redemption.value),
                         "currency": redemption.currency,
                         "expires_at": redemption.expires_at.isoformat() if redemption.expires_at else None,
                         "apply_url": f"/discount/{redemption.code}" if redemption.code else None,
                         "cart_attribute": {"name": "tessera_ref", "value": code}})


@bp.post("/claim")
def claim():
    """Shopper-claimed actions: social follow/share (per network, once) and the birthday date."""
    proxy = verified_proxy_request()
    customer_id = _require_member(proxy)
    body = json_object_body()
    action = body.get("action")
    t = tessera()
    with t.db.scope() as session:
        shop = load_shop(session, proxy)
        member = get_or_create_member(session, shop, customer_id, now=t.clock())
        if action == "birthday":
            set_birthday(session, shop, member, _birthday(body.get("birthday")), now=t.clock())
            points, message = 0, in_shopper_language("Birthday saved: your birthday points arrive on the day.")
        elif action in ("social_follow", "social_share"):
            network = optional_text(body.get("network"), "network", max_length=64)
            entry = claim_action(session, shop, member, action, now=t.clock(), ref=network, detail=network)
            points, message = entry.points, entry_reason(entry.reason_code, entry.reason_params, entry.reason,
                                                         shopper_locale(), points=entry.points)
        else:
            raise ApiError(422, "invalid", "Unknown action.", {"action": "social_follow, social_share or birthday"})
        return private_json({"points": points, "message": message,
                             "balance": balance_of(session, member, t.clock()).balance})


def _birthday(value) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ApiError(422, "invalid", "Enter your birthday as a date.", {"birthday": "YYYY-MM-DD"}) from None
