"""App Proxy endpoints of the games and giving modules: the leaderboard and the member's choice
to show on it, feedback on an order, donations to a cause. Signed by the app proxy like every
/proxy route; the member is the signed `logged_in_customer_id`."""
from __future__ import annotations

from flask import request

from app.errors import ApiError
from app.loyalty.money import to_decimal
from app.queries.leaderboard import leaderboard
from app.runtime import tessera
from app.services.donations import donate_points, request_key
from app.services.feedback import answer_feedback
from app.services.leaderboard import choose_leaderboard
from app.services.ledger import balance_of
from app.services.members import find_member
from app.services.program import current_program
from app.storefront.proxy import bp, json_object_body, load_shop, private_json, verified_proxy_request


def _member_id(proxy) -> int:
    if proxy.customer_id is None:
        raise ApiError(401, "login_required", "Log in to your account to take part.")
    return proxy.customer_id


@bp.get("/leaderboard")
def leaderboard_of_month():
    proxy = verified_proxy_request()
    t = tessera()
    with t.db.scope(read_only=True) as session:
        shop = load_shop(session, proxy)
        _, program = current_program(session, shop)
        if not program.leaderboard.enabled:
            raise ApiError(404, "leaderboard_off", "This store has no leaderboard.")
        return private_json(leaderboard(session, shop, proxy.customer_id, now=t.clock()))


@bp.post("/leaderboard/opt-in")
def leaderboard_opt_in():
    proxy = verified_proxy_request()
    customer_id = _member_id(proxy)
    body = json_object_body()
    t = tessera()
    with t.db.scope() as session:
        opted_in = choose_leaderboard(session, load_shop(session, proxy), customer_id, body.get("opted_in"),
                                      now=t.clock())
    return private_json({"opted_in": opted_in})


@bp.post("/feedback")
def feedback():
    proxy = verified_proxy_request()
    customer_id = _member_id(proxy)
    body = json_object_body()
    t = tessera()
    with t.db.scope() as session:
        shop = load_shop(session, proxy)
        answer = answer_feedback(session, shop, customer_id, body, now=t.clock())
        balance = balance_of(session, find_member(session, shop, customer_id), t.clock())
        return private_json({"order_id": str(answer.order_id), "nps": answer.nps, "csat": answer.csat,
                             "points": answer.points, "balance": balance.balance}, 201)


@bp.post("/donate")
def donate():
    proxy = verified_proxy_request()
    customer_id = _member_id(proxy)
    body = json_object_body()
    key = request_key(request.headers.get("Idempotency-Key") or body.get("client_id"))
    t = tessera()
    with t.db.scope() as session:
        shop = load_shop(session, proxy)
        donation, made_now = donate_points(session, shop, customer_id, body.get("cause"), body.get("points"), key,
                                           now=t.clock())
        balance = balance_of(session, find_member(session, shop, customer_id), t.clock())
        return private_json({"donation": donation_json(donation), "balance": balance.balance},
                            201 if made_now else 200)


def donation_json(donation) -> dict:
    return {"id": donation.id, "cause": donation.cause_key, "cause_name": donation.cause_name,
            "points": donation.points, "currency": donation.currency,
            "amount": str(to_decimal(donation.amount_minor, donation.currency)),
            "matched": str(to_decimal(donation.matched_minor, donation.currency)),
            "created_at": donation.created_at.isoformat()}
