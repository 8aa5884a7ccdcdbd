"""Redeeming from an extension (customer account page, checkout block) and following a slow
redemption: the same service, rules and idempotency as the widget's /proxy/redeem."""
from __future__ import annotations

from typing import Any

from app.extensions_api.access import ExtensionRequest, private_json
from app.models import Shop
from app.parsing import optional_whole_number
from app.queries.redemption_status import member_redemption, redemption_json
from app.runtime import tessera
from app.services.redemptions import redeem_reward


def redeem_for_caller(caller: ExtensionRequest, customer_id: int, body: dict[str, Any]):
    """201-style answer with the code, or 202 with the redemption id while Shopify is slow."""
    t = tessera()
    result = redeem_reward(t.db, caller.shop_id, customer_id, body.get("reward_id"), body.get("idempotency_key"),
                           admin=t.shopify, queue=t.queue, clock=t.clock, deadline_seconds=t.redeem_deadline_seconds,
                           points=optional_whole_number(body.get("points"), "points", minimum=1))
    if result.redemption.status == "pending":
        return private_json({"status": "pending", "redemption_id": result.redemption.id}, 202)
    return private_json(redemption_json(result.redemption, result.balance))


def redemption_progress(caller: ExtensionRequest, customer_id: int, redemption_id: str):
    """A slow redemption's progress, for its owner only (404 for anyone else)."""
    t = tessera()
    with t.db.scope(read_only=True) as session:
        return private_json(member_redemption(session, session.get(Shop, caller.shop_id), customer_id, redemption_id,
                                              now=t.clock()))
