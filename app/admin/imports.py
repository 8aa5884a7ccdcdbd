"""Import and export: customers and historical orders from Shopify (with progress, resumable),
starting balances from CSV, CSV exports of members and the ledger."""
from __future__ import annotations

from flask import jsonify, request

from app.admin.blueprint import bp
from app.admin.access import render_page, shop_session, staff_user_id
from app.errors import ApiError
from app.request_limits import allows_body_up_to
from app.runtime import tessera
from app.services.balance_import import import_starting_balances
from app.queries.imports import find_import, import_jobs, import_json
from app.services.import_jobs import run_import_step, runs_in_background, start_import
from app.services.import_progress import API_KINDS
from app.services.orders_import import default_history_since

MAX_CSV_BYTES = 20 * 1024 * 1024
# The multipart envelope around the file (boundaries, part headers, other fields).
MAX_CSV_FORM_OVERHEAD_BYTES = 64 * 1024


@bp.get("/import")
def imports():
    now = tessera().clock()
    with shop_session(read_only=True) as (session, shop):
        jobs = [import_json(job, now=now) for job in import_jobs(session, shop)]
        open_jobs = {kind: next((j for j in jobs if j["kind"] == kind and j["resumable"]), None) for kind in API_KINDS}
        return render_page("admin/import.html", shop, jobs=jobs, open_jobs=open_jobs,
                           background=runs_in_background(tessera().config),
                           all_orders="read_all_orders" in (shop.scopes or "").split(","),
                           history_since=default_history_since(now).isoformat(), today=now.date().isoformat())


@bp.post("/import/jobs")
def start():
    """Starts an import (or resumes the unfinished one of that kind) in the background worker."""
    t = tessera()
    background = runs_in_background(t.config)
    with shop_session() as (session, shop):
        job = start_import(session, shop, request.form.get("kind"), now=t.clock(), options=request.form.to_dict(),
                           enqueue=t.queue.enqueue if background else None)
        return jsonify({"message": "Import started.", "job": import_json(job, now=t.clock()),
                        "background": background})


@bp.post("/import/jobs/<int:job_id>/run")
def run(job_id: int):
    """One slice of the import (a few seconds); the page calls this until done when no worker runs."""
    t = tessera()
    with shop_session() as (session, shop):
        job = run_import_step(t.shopify, session, shop, find_import(session, shop, job_id), clock=t.clock)
        return jsonify({"job": import_json(job, now=t.clock())})


def uploaded_csv() -> str:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(422, "invalid", "Choose a CSV file to upload.", {"file": "choose a .csv file"})
    data = upload.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise ApiError(413, "file_too_large", "The file is larger than 20 MB; split it and upload the parts.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(422, "invalid", "The file is not UTF-8 text.",
                       {"file": "save it as CSV UTF-8 from your spreadsheet"}) from None


@bp.post("/import/balances")
@allows_body_up_to(MAX_CSV_BYTES + MAX_CSV_FORM_OVERHEAD_BYTES)
def import_balances():
    t = tessera()
    text = uploaded_csv()
    with shop_session() as (session, shop):
        result = import_starting_balances(session, shop, text, staff_user_id=staff_user_id(), now=t.clock())
        already = f", {result.already_imported:,} already imported before" if result.already_imported else ""
        return jsonify({"message": f"{result.imported:,} starting balances imported ({result.points:,} points)"
                                   f"{already}.", "result": result.to_json()})
