"""Segments: the list with live counts, and a segment's page: the builder (live count and sample
members while editing), its size over time, CSV export and "sync to Shopify" as a customer tag.
The page's script reads and writes through /api/v1/segments (app/api/segments.py)."""
from __future__ import annotations

from datetime import timedelta

from app.admin.access import render_page, shop_session
from app.admin.blueprint import bp
from app.admin.charts import Series, bar_chart
from app.loyalty.money import format_money
from app.loyalty.segments import CHOICES, FIELDS, MATCHES, OPS_BY_KIND
from app.queries.segments import sample_members, segment_count
from app.runtime import tessera
from app.services.segments import find_segment, segment_json, segment_sizes, segments_with_counts
from app.services.program import current_program
from app.services.win_back import win_back_results
from app.queries.segment_analytics import DEFINITIONS, stage_analytics


def builder_options() -> dict:
    """What the builder's menus offer: each field's kind, ops and choices (loyalty/segments.py)."""
    return {"fields": {f: {"kind": k, "ops": OPS_BY_KIND[k], "choices": CHOICES.get(f)} for f, k in FIELDS.items()},
            "matches": MATCHES}


@bp.get("/segments")
def segments():
    with shop_session(read_only=True) as (session, shop):
        now = tessera().clock()
        listed = [segment_json(view, count) for view, count in segments_with_counts(session, shop, now=now)]
        results = win_back_results(session, shop, since=now - timedelta(days=90), now=now)
        at_risk_days = current_program(session, shop)[1].lifecycle.at_risk_days
        return render_page("admin/segments.html", shop, segments=listed, win_back=results, definitions=DEFINITIONS,
                           stages=stage_analytics(session, shop, now=now, at_risk_days=at_risk_days),
                           money=lambda minor: format_money(minor, shop.currency))


@bp.get("/segments/new")
def new_segment():
    with shop_session(read_only=True) as (session, shop):
        return render_page("admin/segment.html", shop, segment=None, sample=[], sizes=None, options=builder_options())


@bp.get("/segments/<segment_id>")
def segment(segment_id: str):
    now = tessera().clock()
    with shop_session(read_only=True) as (session, shop):
        view = find_segment(session, shop, segment_id)
        query = view.query(shop, now)
        sizes = segment_sizes(session, shop, view)
        chart = bar_chart([s["day"][5:] for s in sizes], [Series("Members", [s["members"] for s in sizes])],
                          title=f"Members of {view.name} per day", integer=True) if sizes else None
        return render_page("admin/segment.html", shop, segment=segment_json(view, segment_count(session, query)),
                           sample=sample_members(session, query), sizes=sizes, chart=chart,
                           options=builder_options())
