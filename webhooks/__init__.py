"""POST /webhooks: verify the HMAC over the raw body, write the delivery to the durable inbox,
answer 200. Processing happens later, off the request (app/services/inbox.py)."""
from __future__ import annotations

import logging

from flask import Blueprint, request

from app.errors import ApiError
from app.runtime import tessera
from app.services import inbox, shops
from app.shopify.domains import InvalidShopDomain, normalize_shop_domain
from app.shopify.signatures import webhook_hmac_valid
from webhooks.topics import HANDLERS

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks")
def receive_webhook():
    t = tessera()
    raw_body = request.get_data(cache=True)
    if not webhook_hmac_valid(raw_body, request.headers.get("X-Shopify-Hmac-Sha256"), t.api_secrets):
        raise ApiError(401, "invalid_hmac", "X-Shopify-Hmac-Sha256 does not match the body signed with the app secret")
    try:
        domain = normalize_shop_domain(request.headers.get("X-Shopify-Shop-Domain"))
    except InvalidShopDomain as exc:
        raise ApiError(400, "invalid_shop_domain", str(exc)) from exc
    topic = request.headers.get("X-Shopify-Topic", "")
    shop_id = shops.shop_id_for(t, domain)
    if shop_id is None:
        log.warning("webhook %s for unknown shop %s ignored", topic, domain)
        raise ApiError(404, "unknown_shop", f"{domain} has not installed Tessera")
    delivery = inbox.record_delivery(t.db, shop_id, topic=topic, headers=request.headers, body=raw_body,
                                     known_topics=HANDLERS.keys(), now=t.clock())
    if delivery.is_new and delivery.status == "pending":
        try:
            t.queue.enqueue("process_webhook_event", delivery.event_id)
        except Exception:  # noqa: BLE001 - the delivery is stored: the inbox sweep will process it
            log.exception("could not enqueue webhook event %s; the inbox sweep will pick it up", delivery.event_id)
    return {"status": "duplicate" if not delivery.is_new else delivery.status, "id": delivery.event_id}, 200
