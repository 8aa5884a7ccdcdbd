"""One order's points for the admin order page block: earned and taken back."""
from __future__ import annotations

from flask import jsonify

from app.admin.access import shop_session
from app.api.blueprint import bp
from app.errors import ApiError
from app.queries.order_points import order_points_json
from app.runtime import tessera
from app.services.orders import find_order


@bp.get("/orders/<int:order_id>/points")
def order_points(order_id: int):
    """404 for an order Tessera has not seen (a guest's order still counts as seen, with 0 points)."""
    with shop_session(read_only=True) as (session, shop):
        order = find_order(session, shop, order_id)
        if order is None:
            raise ApiError(404, "not_found", "Tessera has not received this order from Shopify yet; it earns points "
                                             "when Shopify sends it (usually within a minute).")
        answer = order_points_json(session, shop, order_id, now=tessera().clock())
        return jsonify({**answer, "customer_id": order.customer_id})
