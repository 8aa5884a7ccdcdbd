"""Compliance requests: what customers asked for through Shopify, with the data export to send."""
from __future__ import annotations

from flask import jsonify, request

from app.admin.access import shop_session
from app.api.blueprint import bp
from app.services.privacy_requests import PAGE_SIZE, privacy_request_json, recent_privacy_requests, request_filter


@bp.get("/data-requests")
def data_requests():
    """Newest first, 50 a page: `?kind=data_request|customer_redact|shop_redact`, `?before=ID` for
    the next page (`next_before`). A data request carries `export`, the data to send the customer."""
    wanted = request_filter(request.args.get("kind"), request.args.get("before"))
    with shop_session(read_only=True) as (session, shop):
        rows = recent_privacy_requests(session, shop, **wanted)
        return jsonify({"data_requests": [privacy_request_json(r) for r in rows],
                        "next_before": rows[-1].id if len(rows) == PAGE_SIZE else None})
