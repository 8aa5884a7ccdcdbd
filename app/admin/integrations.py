"""Integrations: the owner's API keys (the key shown once), outbound webhook endpoints (the
signing secret shown once, each with its delivery log) and the Klaviyo connection."""
from __future__ import annotations

from flask import jsonify, request

from app.admin.access import page_url, render_page, shop_session, staff_user_id
from app.admin.blueprint import bp
from app.runtime import tessera
from app.services.api_keys import api_key_json, api_key_label, api_keys_of, mint_api_key, revoke_api_key
from app.services.klaviyo import connect_klaviyo, disconnect_klaviyo, klaviyo_key_input, klaviyo_status
from app.services.outbound_webhooks import (WEBHOOK_EVENT_TYPES, create_webhook_endpoint, delete_webhook_endpoint,
                                            delivery_json, disabled_endpoints_of, endpoint_json, find_webhook_endpoint, recent_deliveries,
                                            webhook_endpoints_of)


@bp.get("/integrations")
def integrations():
    with shop_session(read_only=True) as (session, shop):
        return render_page("admin/integrations.html", shop,
                           api_keys=[api_key_json(k) for k in api_keys_of(session, shop)],
                           endpoints=[endpoint_json(e) for e in webhook_endpoints_of(session, shop)],
                           event_types=WEBHOOK_EVENT_TYPES, klaviyo=klaviyo_status(session, shop))


@bp.post("/integrations/api-keys")
def add_api_key():
    label = api_key_label(request.form.get("label"))
    with shop_session() as (session, shop):
        _, key = mint_api_key(session, shop, label=label, created_by=staff_user_id(), now=tessera().clock())
        return jsonify({"message": "API key created. Copy it now: it is not shown again.", "secret": key})


@bp.post("/integrations/api-keys/<int:key_id>/revoke")
def revoke_key(key_id: int):
    with shop_session() as (session, shop):
        revoke_api_key(session, shop, key_id, now=tessera().clock())
        return jsonify({"message": "API key revoked: scripts using it are refused from now on."})


@bp.post("/integrations/webhook-endpoints")
def add_endpoint():
    t = tessera()
    body = {"url": request.form.get("url"), "events": request.form.getlist("events")}
    with shop_session() as (session, shop):
        _, secret = create_webhook_endpoint(session, shop, body, now=t.clock(), cipher=t.cipher,
                                            allow_private=bool(t.config.get("OUTBOUND_WEBHOOKS_ALLOW_PRIVATE")))
        return jsonify({"message": "Endpoint added. Copy its signing secret now: it is not shown again.",
                        "secret": secret})


@bp.post("/integrations/webhook-endpoints/<int:endpoint_id>/delete")
def remove_endpoint(endpoint_id: int):
    with shop_session() as (session, shop):
        delete_webhook_endpoint(session, shop, endpoint_id)
        return jsonify({"message": "Endpoint deleted.", "redirect": page_url("admin.integrations")})


@bp.get("/integrations/webhook-endpoints/<int:endpoint_id>")
def endpoint_deliveries(endpoint_id: int):
    with shop_session(read_only=True) as (session, shop):
        endpoint = endpoint_json(find_webhook_endpoint(session, shop, endpoint_id))
        deliveries = [delivery_json(d) for d in recent_deliveries(session, shop, endpoint_id)]
        return render_page("admin/webhook_deliveries.html", shop, endpoint=endpoint, deliveries=deliveries)



@bp.post("/integrations/klaviyo")
def klaviyo_connect():
    t = tessera()
    api_key = klaviyo_key_input(request.form.get("api_key"))
    with shop_session() as (session, shop):
        connect_klaviyo(session, shop, api_key, now=t.clock(), cipher=t.cipher)
        return jsonify({"message": "Klaviyo connected: profiles and events are sent as members' points change."})


@bp.post("/integrations/klaviyo/disconnect")
def klaviyo_disconnect():
    with shop_session() as (session, shop):
        disconnect_klaviyo(session, shop)
        return jsonify({"message": "Klaviyo disconnected."})

@bp.context_processor
def _integration_alerts():
    """Every admin page warns about endpoints disabled after a day of failed deliveries."""
    def disabled_webhook_endpoints():
        with shop_session(read_only=True) as (session, shop):
            return [endpoint_json(e) for e in disabled_endpoints_of(session, shop.id)]
    return {"disabled_webhook_endpoints": disabled_webhook_endpoints}
