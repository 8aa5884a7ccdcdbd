"""Compliance requests as the owner sees them (admin page and API): read-only.

Shopify forwards a customer's request for their data (customers/data_request) to the app; the
owner sends the customer what Tessera holds, which is the export kept with the request.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.errors import InvalidInput
from app.models import PrivacyRequest, Shop

KINDS = {"data_request": "Data request", "customer_redact": "Customer data erased",
         "shop_redact": "Shop data erased"}
PAGE_SIZE = 50


def request_filter(kind: str | None, before: str | None) -> dict[str, Any]:
    """The list's filter from a query string; a bad value is refused, naming the field."""
    fields = {}
    if kind and kind not in KINDS:
        fields["kind"] = f"one of {', '.join(KINDS)}"
    if before and not before.isdigit():
        fields["before"] = "the id of the last request of the previous page"
    if fields:
        raise InvalidInput("Fix the query parameters and try again.", fields)
    return {"kind": kind or None, "before_id": int(before) if before else None}


def recent_privacy_requests(session: Session, shop: Shop, *, kind: str | None = None,
                            before_id: int | None = None, limit: int = PAGE_SIZE) -> list[PrivacyRequest]:
    query = select(PrivacyRequest).where(PrivacyRequest.shop_id == shop.id)
    if kind:
        query = query.where(PrivacyRequest.kind == kind)
    if before_id:
        query = query.where(PrivacyRequest.id < before_id)
    return list(session.scalars(query.order_by(PrivacyRequest.id.desc()).limit(limit)))


def privacy_request_json(request: PrivacyRequest) -> dict[str, Any]:
    return {"id": request.id, "kind": request.kind, "label": KINDS.get(request.kind, request.kind),
            "customer_id": request.customer_id, "shopify_request_id": request.request_ref
            if request.kind == "data_request" else None,
            "received_at": request.created_at.isoformat(),
            "completed_at": request.completed_at.isoformat() if request.completed_at else None,
            "export": request.export}
