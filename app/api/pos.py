"""Staff redemptions: the POS extension redeems a reward for the member on the cart.

The POS session token is a Shopify ID token like the admin's (HS256 with the app secret, `dest`
the shop, `sub` the signed-in staff user), so /api/v1's own check admits it. The redemption is
the shopper's one (app/services/redemptions.py): same rules, same idempotency key per member,
the staff user recorded on the debit entry.
"""
from __future__ import annotations

from flask import jsonify

from app.admin.access import shop_session, staff_user_id
from app.api.blueprint import bp, json_body
from app.queries.member_directory import require_member
from app.queries.redemption_status import member_redemption, redemption_json
from app.runtime import tessera
from app.services.redemptions import redeem_reward


@bp.post("/members/<int:customer_id>/redemptions")
def staff_redemption(customer_id: int):
    """`{"reward_id", "idempotency_key"}` -> 201 with the code to put on the POS cart; 202 with
    `redemption_id` while Shopify is still creating it (poll the route below)."""
    body = json_body()
    with shop_session(read_only=True) as (session, shop):
        require_member(session, shop, customer_id)  # staff redeem for members, never enrol here
        shop_id = shop.id
    result = redeem_reward(tessera(), shop_id, customer_id, body.get("reward_id"), body.get("idempotency_key"),
                           staff_user_id=staff_user_id())
    if result.redemption.status == "pending":
        return jsonify({"status": "pending", "redemption_id": result.redemption.id}), 202
    return jsonify(redemption_json(result.redemption, result.balance) | {"staff_user_id": staff_user_id()}), 201


@bp.get("/members/<int:customer_id>/redemptions/<redemption_id>")
def staff_redemption_status(customer_id: int, redemption_id: str):
    with shop_session(read_only=True) as (session, shop):
        return jsonify(member_redemption(session, shop, customer_id, redemption_id, now=tessera().clock()))
