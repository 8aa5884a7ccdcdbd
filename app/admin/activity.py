"""Activity: the webhook inbox, failed deliveries with their errors, and "retry"."""
from __future__ import annotations

from flask import jsonify, request

from app.admin.access import render_page, shop_session
from app.admin.blueprint import bp
from app.queries.inbox_activity import STATUSES, event_filter, event_json, recent_events, status_counts
from app.runtime import tessera
from app.services.webhook_activity import retry_event


@bp.get("/activity")
def activity():
    wanted = event_filter(request.args.get("status"), request.args.get("before"))
    with shop_session(read_only=True) as (session, shop):
        events = recent_events(session, shop, **wanted)
        return render_page("admin/activity.html", shop, events=[event_json(e) for e in events], status=wanted["status"],
                           counts=status_counts(session, shop), statuses=STATUSES)


@bp.post("/activity/<int:event_id>/retry")
def retry(event_id: int):
    t = tessera()
    with shop_session() as (session, shop):
        event = retry_event(session, shop, event_id, now=t.clock(), queue=t.queue)
        return jsonify({"message": f"{event.topic} delivery queued again.", "event": event_json(event)})
