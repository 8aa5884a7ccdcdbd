"""Analytics, imports, exports and the webhook inbox."""
from __future__ import annotations

from flask import Response, jsonify, request, stream_with_context

from app.admin.access import current_shop_id, shop_session, staff_user_id
from app.api.blueprint import bp, json_body
from app.models import Shop
from app.parsing import query_number
from app.queries.analytics import shop_analytics
from app.queries.exports import ledger_csv, members_csv
from app.queries.inbox_activity import event_filter, event_json, recent_events, status_counts
from app.runtime import tessera
from app.services.balance_import import import_starting_balances
from app.queries.imports import find_import, import_jobs, import_json
from app.services.import_jobs import run_import_step, runs_in_background, start_import
from app.services.webhook_activity import retry_event


@bp.get("/analytics")
def analytics():
    """`?months=` (1-36, default 12): figures with definitions, monthly series, funnel, tiers."""
    months = query_number(request.args, "months", default=12, minimum=1, maximum=36, clamp=True)
    with shop_session(read_only=True) as (session, shop):
        return jsonify(shop_analytics(session, shop, now=tessera().clock(), months=months).to_json())


@bp.get("/imports")
def imports():
    now = tessera().clock()
    with shop_session(read_only=True) as (session, shop):
        return jsonify({"imports": [import_json(job, now=now) for job in import_jobs(session, shop)]})


@bp.post("/imports")
def start():
    """`{"kind": "customers" | "orders"}`, for orders optionally `"since": "YYYY-MM-DD"` (default
    12 months ago) and `"earn_points": true` (default false): starts an import, or returns the
    unfinished one of that kind. A background worker runs it when there is one; poll
    GET /imports/ID for progress (or, without a worker, call POST /imports/ID/run until done)."""
    body = json_body()
    t = tessera()
    enqueue = t.queue.enqueue if runs_in_background(t.config) else None
    with shop_session() as (session, shop):
        job = start_import(session, shop, body.get("kind"), now=t.clock(), options=body, enqueue=enqueue)
        return jsonify(import_json(job, now=t.clock())), 201


@bp.get("/imports/<int:job_id>")
def get_import(job_id: int):
    now = tessera().clock()
    with shop_session(read_only=True) as (session, shop):
        return jsonify(import_json(find_import(session, shop, job_id), now=now))


@bp.post("/imports/<int:job_id>/run")
def run(job_id: int):
    """Import for a few seconds from the saved cursor (nothing if the worker is running it);
    call again until `status` is done."""
    t = tessera()
    with shop_session() as (session, shop):
        job = run_import_step(t.shopify, session, shop, find_import(session, shop, job_id), clock=t.clock)
        return jsonify(import_json(job, now=t.clock()))


@bp.post("/imports/balances")
def import_balances():
    """The CSV file as the body (Content-Type: text/csv)."""
    t = tessera()
    text = request.get_data(as_text=True)
    with shop_session() as (session, shop):
        result = import_starting_balances(session, shop, text, staff_user_id=staff_user_id(), now=t.clock())
        return jsonify(result.to_json()), 201


def _csv_download(filename: str, produce) -> Response:
    """Streamed: the session lives as long as the download, so big shops never load it all."""
    t = tessera()
    shop_id = current_shop_id()

    def generate():
        with t.db.scope(read_only=True) as session:
            yield from produce(session, session.get(Shop, shop_id))

    return Response(stream_with_context(generate()), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@bp.get("/exports/members.csv")
def export_members():
    now = tessera().clock()
    return _csv_download("members.csv", lambda session, shop: members_csv(session, shop, now=now))


@bp.get("/exports/ledger.csv")
def export_ledger():
    return _csv_download("ledger.csv", ledger_csv)


@bp.get("/webhook-events")
def webhook_events():
    """`?status=failed` (pending, processing, done, failed), `before=<id>` for older ones."""
    wanted = event_filter(request.args.get("status"), request.args.get("before"))
    with shop_session(read_only=True) as (session, shop):
        events = recent_events(session, shop, **wanted)
        return jsonify({"events": [event_json(e) for e in events], "counts": status_counts(session, shop)})


@bp.post("/webhook-events/<int:event_id>/retry")
def retry_webhook_event(event_id: int):
    t = tessera()
    with shop_session() as (session, shop):
        return jsonify(event_json(retry_event(session, shop, event_id, now=t.clock(), queue=t.queue)))
