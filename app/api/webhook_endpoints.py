"""Outbound webhook endpoints: add (the signing secret is shown once), list, delete, and the
delivery log of one."""
from __future__ import annotations

from flask import jsonify

from app.admin.access import shop_session
from app.api.blueprint import bp, json_body
from app.runtime import tessera
from app.services.outbound_webhooks import (create_webhook_endpoint, delete_webhook_endpoint, delivery_json,
                                            endpoint_json, find_webhook_endpoint, recent_deliveries,
                                            webhook_endpoints_of)


@bp.post("/webhook-endpoints")
def add_webhook_endpoint():
    """`{"url", "events"}` -> 201 `{"id", "secret", ...}` (`whsec_...`: verify our signatures with it)."""
    t = tessera()
    body = json_body()
    with shop_session() as (session, shop):
        endpoint, secret = create_webhook_endpoint(
            session, shop, body, now=t.clock(), cipher=t.cipher,
            allow_private=bool(t.config.get("OUTBOUND_WEBHOOKS_ALLOW_PRIVATE")))
        return jsonify({**endpoint_json(endpoint), "secret": secret}), 201


@bp.get("/webhook-endpoints")
def list_webhook_endpoints():
    with shop_session(read_only=True) as (session, shop):
        return jsonify({"webhook_endpoints": [endpoint_json(e) for e in webhook_endpoints_of(session, shop)]})


@bp.get("/webhook-endpoints/<int:endpoint_id>")
def get_webhook_endpoint(endpoint_id: int):
    with shop_session(read_only=True) as (session, shop):
        return jsonify(endpoint_json(find_webhook_endpoint(session, shop, endpoint_id)))


@bp.delete("/webhook-endpoints/<int:endpoint_id>")
def remove_webhook_endpoint(endpoint_id: int):
    with shop_session() as (session, shop):
        delete_webhook_endpoint(session, shop, endpoint_id)
        return "", 204


@bp.get("/webhook-endpoints/<int:endpoint_id>/deliveries")
def webhook_deliveries(endpoint_id: int):
    """The latest 100 deliveries: status, response code, attempts, next attempt."""
    with shop_session(read_only=True) as (session, shop):
        return jsonify({"deliveries": [delivery_json(d) for d in recent_deliveries(session, shop, endpoint_id)]})
