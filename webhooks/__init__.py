"""POST /webhooks: verify the HMAC over the raw body, write the delivery to the durable inbox,
answer 200. The write is shared with concurrent deliveries (webhooks/intake.py: one commit per
group); parsing the JSON and checking it against the headers happen later, in processing
(app/services/inbox.py), so the acknowledgement does only what must precede the 200.

The body is read only once its declared size is within MAX_CONTENT_LENGTH (app/request_limits:
413 before reading; a chunked body is cut off at the limit)."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, request

from app.errors import ApiError
from app.request_limits import read_body
from app.runtime import tessera
from app.services import inbox, shops
from app.shopify.domains import InvalidShopDomain, normalize_shop_domain
from app.shopify.signatures import webhook_hmac_valid
from webhooks.intake import IntakeUnavailable, InstalledShops, intake_writer
from webhooks.topics import COMPLIANCE_TOPICS, HANDLERS

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks")
def receive_webhook():
    t = tessera()
    raw_body = read_body()
    if not webhook_hmac_valid(raw_body, request.headers.get("X-Shopify-Hmac-Sha256"), t.api_secrets):
        raise ApiError(401, "invalid_hmac", "X-Shopify-Hmac-Sha256 does not match the body signed with the app secret")
    try:
        domain = normalize_shop_domain(request.headers.get("X-Shopify-Shop-Domain"))
    except InvalidShopDomain as exc:
        raise ApiError(400, "invalid_shop_domain", str(exc)) from exc
    topic = request.headers.get("X-Shopify-Topic", "")
    shop_id = _recipient_shop_id(domain, topic)
    if shop_id is None:
        return {"status": "ignored"}, 200
    row = inbox.delivery_row(shop_id, topic=topic, headers=request.headers, body=raw_body,
                             known_topics=HANDLERS.keys(), now=t.clock())
    try:
        delivery = intake_writer(current_app.extensions, t).record(row)
    except IntakeUnavailable as exc:
        raise ApiError(503, "inbox_unavailable", "The delivery could not be stored; it was not acknowledged, "
                       "so Shopify will send it again.") from exc
    return {"status": "duplicate" if not delivery.is_new else delivery.status, "id": delivery.event_id}, 200


def _recipient_shop_id(domain: str, topic: str) -> int | None:
    """The shop the delivery is stored for, or None to acknowledge it and keep nothing.

    Shopify's delivery is authentic (the HMAC held) but there is nothing to do: a shop that never
    installed Tessera has no data, and an uninstalled one gets no more loyalty updates. A 200
    stops Shopify retrying (8 times over 4 hours). Privacy topics for an uninstalled shop are kept: its
    data stays with us until shop/redact, and those requests must be honoured."""
    recipient = _recipients(current_app.extensions).look_up(
        domain, topic, lambda: shops.webhook_recipient(tessera().db, domain))
    if recipient is None:
        log.warning("webhook %s for %s ignored: that shop never installed Tessera", topic, domain)
        return None
    shop_id, installed = recipient
    if not installed and topic not in COMPLIANCE_TOPICS:
        log.warning("webhook %s for %s ignored: Tessera is uninstalled there", topic, domain)
        return None
    return shop_id


def _recipients(extensions: dict) -> InstalledShops:
    return extensions.setdefault("tessera_installed_shops", InstalledShops())
