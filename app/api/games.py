"""Reports of the games and giving modules: feedback (NPS, CSAT, comments) and donations owed."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import jsonify, request

from app.api.blueprint import bp
from app.api.reports import _csv_download
from app.admin.access import shop_session
from app.parsing import query_number
from app.queries.feedback_report import (donation_totals, donations_csv, feedback_comments, feedback_csv,
                                         feedback_report)
from app.runtime import tessera
from app.services.segments import segment_member_ids


def _since(months: int, now: datetime) -> datetime:
    return now - timedelta(days=31 * months)


@bp.get("/reports/feedback")
def report_feedback():
    """`?months=` (1-36, default 12): NPS and CSAT per month with answer counts, and the newest
    comments (all of them: GET /exports/feedback.csv). `?segment_id=` (a segment's id or a
    built-in `lifecycle:<stage>`) narrows both to that segment's members; unknown: 404."""
    months = query_number(request.args, "months", default=12, minimum=1, maximum=36, clamp=True)
    now = tessera().clock()
    since = _since(months, now)
    with shop_session(read_only=True) as (session, shop):
        members = segment_member_ids(session, shop, request.args.get("segment_id"), now)
        return jsonify({**feedback_report(session, shop, since=since, members=members),
                        "comments": feedback_comments(session, shop, since=since, members=members, limit=100),
                        "segment_id": request.args.get("segment_id") or None,
                        "definitions": {"nps": "% promoters (9-10) minus % detractors (0-6)",
                                        "csat": "% of answers 4 or 5"}})


@bp.get("/reports/donations")
def report_donations():
    """What the shop owes each cause per month (the points' value plus the shop's matching)."""
    months = query_number(request.args, "months", default=12, minimum=1, maximum=36, clamp=True)
    with shop_session(read_only=True) as (session, shop):
        return jsonify({"totals": donation_totals(session, shop, since=_since(months, tessera().clock()))})


@bp.get("/exports/feedback.csv")
def export_feedback():
    return _csv_download("feedback.csv", feedback_csv)


@bp.get("/exports/donations.csv")
def export_donations():
    return _csv_download("donations.csv", donations_csv)
