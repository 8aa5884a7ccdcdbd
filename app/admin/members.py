"""Members: search and filter, one member in full. The page's actions (adjustments with a
required reason, audited with the staff user id; blocking from the program) post to the same
/api/v1/members routes any API client uses (app/api/members.py), so each has one implementation;
both read through app/queries/member_directory.py."""
from __future__ import annotations

import uuid

from flask import request

from app.admin.access import current_shop_id, page_url, render_page, shop_session
from app.admin.blueprint import bp
from app.location_lookup import name_store_locations_for
from app.queries.member_directory import MemberQuery, member_detail, search_members
from app.runtime import tessera
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
        # One key per rendered form: a double-clicked "Save" adjusts once (the API's idempotency_key).
        return render_page("admin/member.html", shop, member=detail, adjustment_key=uuid.uuid4().hex)
