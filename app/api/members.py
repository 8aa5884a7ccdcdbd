"""Members: search, one member in full, adjustments, blocking."""
from __future__ import annotations

from flask import jsonify, request

from app.admin.access import current_shop_id, shop_session, staff_user_id
from app.api.blueprint import bp, json_body
from app.queries.member_directory import (MemberQuery, member_detail, member_row_json, require_member,
                                           search_members)
from app.runtime import tessera
from app.location_lookup import name_store_locations_for
from app.services.adjustments import adjust_points
from app.services.ledger import balance_of
from app.services.members import block_member, unblock_member


@bp.get("/members")
def members():
    """`?query=` (name, email or customer id), `tier=`, `segment=`, `sort=`, `page=`, `per_page=`."""
    query = MemberQuery.from_args(request.args)
    with shop_session(read_only=True) as (session, shop):
        page = search_members(session, shop, query, now=tessera().clock())
        return jsonify({"members": [member_row_json(row) for row in page.rows], "total": page.total,
                        "page": query.page, "per_page": query.per_page, "has_next": page.has_next})


@bp.get("/members/<int:customer_id>")
def member(customer_id: int):
    name_store_locations_for(current_shop_id(), customer_id)
    with shop_session(read_only=True) as (session, shop):
        return jsonify(member_detail(session, shop, customer_id, now=tessera().clock()))


@bp.post("/members/<int:customer_id>/adjustments")
def adjust(customer_id: int):
    """`{"points": -50, "reason": "..."}`; reason required; an optional `idempotency_key` (or
    Idempotency-Key header) makes a retried request adjust once."""
    t = tessera()
    body = json_body()
    key = body.get("idempotency_key") or request.headers.get("Idempotency-Key")
    with shop_session() as (session, shop):
        member = require_member(session, shop, customer_id)
        entry = adjust_points(session, shop, member, body.get("points"), body.get("reason"),
                              staff_user_id=staff_user_id(), now=t.clock(),
                              idempotency_key=str(key)[:100] if key else None)
        balance = balance_of(session, member, t.clock())
        return jsonify({"entry": {"id": entry.id, "points": entry.points, "reason": entry.reason, "kind": entry.kind,
                                  "staff_user_id": entry.staff_user_id, "at": entry.created_at.isoformat()},
                        "balance": balance.balance, "pending": balance.pending}), 201


@bp.post("/members/<int:customer_id>/block")
def block(customer_id: int):
    body = request.get_json(silent=True) or {}
    reason = body.get("reason") if isinstance(body, dict) and isinstance(body.get("reason"), str) else ""
    with shop_session() as (session, shop):
        member = require_member(session, shop, customer_id)
        block_member(session, member, reason=f"{reason.strip()[:500] or 'Blocked by staff'} (staff {staff_user_id()})",
                     now=tessera().clock())
        return jsonify({"customer_id": customer_id, "blocked": True, "block_reason": member.block_reason})


@bp.post("/members/<int:customer_id>/unblock")
def unblock(customer_id: int):
    with shop_session() as (session, shop):
        unblock_member(session, require_member(session, shop, customer_id))
        return jsonify({"customer_id": customer_id, "blocked": False})
