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


@bp.post("/segments/preview")
def preview_segment():
    """The builder's live figures for a definition not saved yet: `{"count", "sample"}`."""
    from app.loyalty.segments import parse_segment
    from app.queries.segments import SegmentQuery, sample_members
    body = json_body()
    rule = parse_segment({**body, "name": body.get("name") or "Preview"})
    with shop_session(read_only=True) as (session, shop):
        query = SegmentQuery(shop, rule.match, rule.conditions, tessera().clock())
        return jsonify({"count": segment_count(session, query), "sample": sample_members(session, query)})


@bp.get("/segments/<segment_id>/export.csv")
def export_segment(segment_id: str):
    """Every member of the segment as CSV, streamed (the session lives as long as the download)."""
    from flask import Response, stream_with_context

    from app.admin.access import current_shop_id
    from app.models import Shop
    from app.queries.exports import _csv_lines, safe_text
    from app.queries.segments import EXPORT_COLUMNS, export_rows
    t, shop_id = tessera(), current_shop_id()
    with shop_session(read_only=True) as (session, shop):
        filename = f"segment-{find_segment(session, shop, segment_id).id}.csv".replace(":", "-")

    def generate():
        with t.db.scope(read_only=True) as session:
            shop = session.get(Shop, shop_id)
            view = find_segment(session, shop, segment_id)
            rows = export_rows(session, view.query(shop, t.clock()))
            yield from _csv_lines(EXPORT_COLUMNS, ((r[0], *map(safe_text, r[1:4]), *r[4:]) for r in rows))

    return Response(stream_with_context(generate()), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@bp.post("/segments/<segment_id>/sync")
def sync_segment(segment_id: str):
    """`{"tag": "vip-customers"}` (optional): tag the members in Shopify, untag who left; 202,
    the progress in `sync`."""
    from app.services.segment_sync import start_segment_sync
    t = tessera()
    body = request.get_json(silent=True) or {}
    with shop_session() as (session, shop):
        segment = start_segment_sync(session, shop, segment_id, body.get("tag") if isinstance(body, dict) else None,
                                     queue=t.queue)
        view = find_segment(session, shop, segment.id)
        return jsonify(segment_json(view, segment_count(session, view.query(shop, t.clock())))), 202


@bp.get("/win-back")
def win_back():
    """Win-back results since `?days=` (default 90): per outcome (granted, off, cool_down,
    blocked) the members who entered at_risk, how many came back (a paid order within 30 days
    of entering) and how many are still within their 30 days."""
    from datetime import timedelta

    from app.services.win_back import RETURN_DAYS, win_back_results
    days = query_number(request.args, "days", default=90, minimum=1, maximum=3650)
    now = tessera().clock()
    with shop_session(read_only=True) as (session, shop):
        results = win_back_results(session, shop, since=now - timedelta(days=days), now=now)
        return jsonify({"since": (now - timedelta(days=days)).isoformat(), "return_days": RETURN_DAYS,
                        "outcomes": results, "definition": (
                            "Members who entered at_risk in the period, by what the win-back automation did: "
                            "granted (bonus posted), off (automation disabled), cool_down (bonus given within the "
                            "cool-down), blocked. came_back: a paid order within 30 days of entering; open: "
                            "still inside those 30 days without an order.")})


@bp.get("/segments/analytics")
def segments_analytics():
    """Figures by lifecycle stage and by custom segment, the stage funnel, and the definitions."""
    from app.queries.segment_analytics import DEFINITIONS, segment_figures, stage_analytics, stage_funnel
    from app.services.program import current_program
    from app.services.segments import custom_segments
    now = tessera().clock()
    with shop_session(read_only=True) as (session, shop):
        at_risk_days = current_program(session, shop)[1].lifecycle.at_risk_days
        stages = stage_analytics(session, shop, now=now, at_risk_days=at_risk_days)
        segments = [{"id": s.id, "name": s.name, **segment_figures(session, find_segment(session, shop, s.id)
                                                                    .query(shop, now), at_risk_days=at_risk_days)}
                    for s in custom_segments(session, shop)]
        return jsonify({"currency": shop.currency, "stages": stages, "segments": segments,
                        "funnel": stage_funnel(session, shop, now=now, current=stages), "definitions": DEFINITIONS})
