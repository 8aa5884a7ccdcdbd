"""Segments: `GET/POST /api/v1/segments`, `GET/PUT/DELETE /api/v1/segments/ID`,
`GET /api/v1/segments/ID/members` (customer ids, `?cursor=&limit=`). Built-in segments (one per
lifecycle stage, ids `lifecycle:STAGE`) are listed and readable, never changed."""
from __future__ import annotations

from flask import jsonify, request

from app.admin.access import shop_session
from app.api.blueprint import bp, json_body
from app.parsing import query_number
from app.queries.segments import segment_count, segment_customer_page
from app.runtime import tessera
from app.services.segments import (create_segment, delete_segment, find_segment, segment_json,
                                   segments_with_counts, update_segment)


@bp.get("/segments")
def list_segments():
    with shop_session(read_only=True) as (session, shop):
        listed = segments_with_counts(session, shop, now=tessera().clock())
        return jsonify({"segments": [segment_json(view, count) for view, count in listed]})


@bp.post("/segments")
def add_segment():
    """`{"name", "match": "all"|"any", "conditions": [{"field", "op", "value"}]}` -> 201 `{"id", "count"}`."""
    now, body = tessera().clock(), json_body()
    with shop_session() as (session, shop):
        view = find_segment(session, shop, create_segment(session, shop, body, now=now).id)
        return jsonify({**segment_json(view, segment_count(session, view.query(shop, now)))}), 201


@bp.get("/segments/<segment_id>")
def get_segment(segment_id: str):
    now = tessera().clock()
    with shop_session(read_only=True) as (session, shop):
        view = find_segment(session, shop, segment_id)
        return jsonify(segment_json(view, segment_count(session, view.query(shop, now))))


@bp.put("/segments/<segment_id>")
def put_segment(segment_id: str):
    now, body = tessera().clock(), json_body()
    with shop_session() as (session, shop):
        view = find_segment(session, shop, update_segment(session, shop, segment_id, body, now=now).id)
        return jsonify(segment_json(view, segment_count(session, view.query(shop, now))))


@bp.delete("/segments/<segment_id>")
def remove_segment(segment_id: str):
    with shop_session() as (session, shop):
        delete_segment(session, shop, segment_id)
        return "", 204


@bp.get("/segments/<segment_id>/members")
def segment_members(segment_id: str):
    """`{"customer_ids": [...], "next_cursor": "..." | null}`; pass next_cursor back for the next page."""
    limit = query_number(request.args, "limit", default=100, minimum=1, maximum=1000, clamp=True)
    now = tessera().clock()
    with shop_session(read_only=True) as (session, shop):
        view = find_segment(session, shop, segment_id)
        page = segment_customer_page(session, view.query(shop, now), cursor=request.args.get("cursor"), limit=limit)
        return jsonify({"segment_id": view.id, "customer_ids": page.customer_ids, "next_cursor": page.next_cursor})
