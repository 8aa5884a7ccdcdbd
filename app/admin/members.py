"""Members: search and filter, one member in full, adjustments (reason required, audited with
the staff user id), blocking from the program."""
from __future__ import annotations

import uuid

from flask import jsonify, request

from app.admin.access import current_shop_id, page_url, render_page, shop_session, staff_user_id
from app.admin.blueprint import bp
from app.admin.forms import adjustment_points
from app.location_lookup import name_store_locations_for
from app.queries.member_directory import MemberQuery, member_detail, require_member, search_members
from app.runtime import tessera
from app.services.adjustments import adjust_points
from app.services.members import block_member, unblock_member
from app.services.program import current_program

SORT_COLUMNS = {"name": ("name", "name"), "balance": ("-balance", "balance"), "lifetime": ("-lifetime", "lifetime"),
                "joined": ("newest", "oldest"), "activity": ("activity", "activity")}


@bp.get("/members")
def members():
    query = MemberQuery.from_args(request.args)
    with shop_session(read_only=True) as (session, shop):
        page = search_members(session, shop, query, now=tessera().clock())
        _, program = current_program(session, shop)
        return render_page("admin/members.html", shop, page=page, query=query, tiers=program.tiers.levels,
                           tiers_enabled=program.tiers.enabled, sort_columns=SORT_COLUMNS,
                           list_url=lambda **changes: _list_url(query, **changes))


def _list_url(query: MemberQuery, **changes) -> str:
    params = {"query": query.text, "tier": query.tier_key, "segment": query.segment, "sort": query.sort,
              "page": query.page}
    params.update(changes)
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    if clean.get("page") == 1:
        del clean["page"]
    if clean.get("sort") == "newest":
        del clean["sort"]
    return page_url("admin.members", **clean)


@bp.get("/members/<int:customer_id>")
def member(customer_id: int):
    name_store_locations_for(current_shop_id(), customer_id)
    with shop_session(read_only=True) as (session, shop):
        detail = member_detail(session, shop, customer_id, now=tessera().clock())
        # One key per rendered form: a double-clicked "Save" adjusts once.
        return render_page("admin/member.html", shop, member=detail, adjustment_key=uuid.uuid4().hex)


@bp.post("/members/<int:customer_id>/adjustments")
def adjust(customer_id: int):
    t = tessera()
    with shop_session() as (session, shop):
        member = require_member(session, shop, customer_id)
        entry = adjust_points(session, shop, member, adjustment_points(request.form.get("points")),
                              request.form.get("reason"), staff_user_id=staff_user_id(), now=t.clock(),
                              idempotency_key=request.form.get("idempotency_key") or None)
        return jsonify({"message": f"{entry.points:+,} points recorded.", "points": entry.points})


@bp.post("/members/<int:customer_id>/block")
def block(customer_id: int):
    with shop_session() as (session, shop):
        member = require_member(session, shop, customer_id)
        reason = (request.form.get("reason") or "").strip()[:500] or "Blocked by staff"
        block_member(session, member, reason=f"{reason} (staff {staff_user_id()})", now=tessera().clock())
        return jsonify({"message": f"{member.display_name} is blocked from the program."})


@bp.post("/members/<int:customer_id>/unblock")
def unblock(customer_id: int):
    with shop_session() as (session, shop):
        member = require_member(session, shop, customer_id)
        unblock_member(session, member)
        return jsonify({"message": f"{member.display_name} can earn and redeem again."})
