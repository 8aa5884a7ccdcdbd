"""Endpoints Shopify Flow calls, each signed like a webhook (`X-Shopify-Hmac-Sha256`: base64
HMAC-SHA256 of the raw body with the app secret):

- POST /flow/lifecycle: a workflow using one of our triggers was enabled or disabled.
- POST /flow/actions/adjust-points and /flow/actions/block-member: the actions.

Flow retries an action on 5xx (and 429) and gives up on 4xx, so a request that can never succeed
(an unknown shop, missing fields, more points removed than the member has) is a 4xx with a
message the owner reads in the workflow's run log; our own trouble is a 5xx.
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, request

from app.errors import ApiError
from app.flow.definitions import trigger_named
from app.parsing import optional_text, text, whole_number
from app.request_limits import read_body
from app.runtime import tessera
from app.services.flow import adjust_points_for_flow, record_trigger_use, set_member_blocked_by_flow
from app.services.shops import find_shop
from app.shopify.signatures import webhook_hmac_valid

bp = Blueprint("flow", __name__, url_prefix="/flow")


def _signed_json() -> dict:
    raw_body = read_body()
    if not webhook_hmac_valid(raw_body, request.headers.get("X-Shopify-Hmac-Sha256"), tessera().api_secrets):
        raise ApiError(401, "invalid_hmac", "X-Shopify-Hmac-Sha256 does not match the body signed with the app secret.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "Send a JSON object body.")
    return body


def _installed_shop(session, body: dict):
    shop = find_shop(session, str(body.get("shopify_domain") or ""))
    if shop is None or not shop.is_installed:
        raise ApiError(404, "unknown_shop", "This store does not run Tessera; install it before using its Flow tasks.")
    return shop


def _customer_id(properties: dict) -> int:
    value = str(properties.get("customer_id") or "").rsplit("/", 1)[-1]
    return whole_number(value, "customer_id", minimum=1, status=400)


@bp.post("/lifecycle")
def trigger_lifecycle():
    body = _signed_json()
    trigger = trigger_named(body.get("flow_trigger_definition_id"))
    if trigger is None:
        raise ApiError(404, "unknown_trigger", "Tessera has no Flow trigger by that name.")
    try:
        reported_at = datetime.fromisoformat(str(body.get("timestamp")).replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "invalid", "timestamp must be an ISO 8601 date and time.") from None
    t = tessera()
    with t.db.scope() as session:
        changed = record_trigger_use(session, _installed_shop(session, body), trigger,
                                     in_use=body.get("has_enabled_flow") is True, reported_at=reported_at)
    return {"trigger": trigger.handle, "recorded": changed}, 200


@bp.post("/actions/adjust-points")
def adjust_points_action():
    body = _signed_json()
    properties = body.get("properties") or {}
    run_id = text(body.get("action_run_id"), "action_run_id", max_length=100, status=400)
    t = tessera()
    with t.db.scope() as session:
        entry = adjust_points_for_flow(session, _installed_shop(session, body), _customer_id(properties),
                                       properties.get("points"), properties.get("reason"), action_run_id=run_id,
                                       now=t.clock())
    return {"entry_id": entry.id, "points": entry.points}, 200


@bp.post("/actions/block-member")
def block_member_action():
    body = _signed_json()
    properties = body.get("properties") or {}
    blocked = properties.get("blocked")
    if not isinstance(blocked, bool):
        raise ApiError(400, "invalid", "'blocked' must be true (block) or false (unblock).",
                       {"blocked": "true or false"})
    reason = optional_text(properties.get("reason"), "reason", max_length=500, status=400)
    t = tessera()
    with t.db.scope() as session:
        member = set_member_blocked_by_flow(session, _installed_shop(session, body), _customer_id(properties),
                                            blocked=blocked, reason=reason, now=t.clock())
        return {"customer_id": member.customer_id, "blocked": member.blocked_at is not None}, 200
