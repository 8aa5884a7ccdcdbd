"""Data requests: customers' requests for their data (with the export to send them) and erasures."""
from __future__ import annotations

import json

from flask import request

from app.admin.blueprint import bp
from app.admin.access import render_page, shop_session
from app.services.privacy_requests import KINDS, privacy_request_json, recent_privacy_requests, request_filter


@bp.get("/data-requests")
def data_requests():
    # Like the activity page: a stale or hand-edited filter shows everything rather than an error.
    kind, before = request.args.get("kind"), request.args.get("before")
    wanted = request_filter(kind if kind in KINDS else None, before if before and before.isdigit() else None)
    with shop_session(read_only=True) as (session, shop):
        rows = [privacy_request_json(r) for r in recent_privacy_requests(session, shop, **wanted)]
        for row in rows:
            row["export_text"] = json.dumps(row["export"], indent=2, ensure_ascii=False) if row["export"] else ""
        return render_page("admin/data_requests.html", shop, requests=rows, kind=wanted["kind"], kinds=KINDS)
