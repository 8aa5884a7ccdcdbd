"""Admin API imports as the import page and /api/v1/imports show them: the shop's jobs, one job,
its progress in words, and the jobs a runner abandoned. Reads only."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.errors import NotFound
from app.models import ImportJob, Shop
from app.services.import_progress import API_KINDS, LEASE, RESUMABLE, OrdersProgress, is_stalled


def import_jobs(session: Session, shop: Shop, limit: int = 20) -> list[ImportJob]:
    return list(session.scalars(select(ImportJob).where(ImportJob.shop_id == shop.id)
                                .order_by(ImportJob.created_at.desc(), ImportJob.id.desc()).limit(limit)))


def find_import(session: Session, shop: Shop, job_id: int) -> ImportJob:
    job = session.scalar(select(ImportJob).where(ImportJob.shop_id == shop.id, ImportJob.id == job_id))
    if job is None:
        raise NotFound("That import does not exist; reload the import page to see the current ones.")
    return job


def stalled_imports(session: Session, now: datetime) -> list[tuple[int, int]]:
    """(shop id, job id) of every shop's unfinished imports that no runner has touched for
    longer than a runner ever stays silent."""
    return [(shop_id, job_id) for shop_id, job_id in session.execute(
        select(ImportJob.shop_id, ImportJob.id).where(ImportJob.kind.in_(API_KINDS),
                                                      ImportJob.status.in_(("pending", "running")),
                                                      ImportJob.updated_at < now - LEASE).order_by(ImportJob.id))]


def import_json(job: ImportJob, *, now: datetime | None = None) -> dict[str, Any]:
    percent = None
    if job.status == "done":
        percent = 100
    elif job.total:
        percent = min(99, int(job.processed * 100 / job.total))
    progress = OrdersProgress.load(job.cursor) if job.kind == "orders" else None
    return {"id": job.id, "kind": job.kind, "status": job.status, "processed": job.processed, "total": job.total,
            "percent": percent, "last_error": job.last_error,
            "resumable": job.status in RESUMABLE and job.kind in API_KINDS,
            "stalled": bool(now and is_stalled(job, now)), "options": job.options,
            "phase": progress.phase if progress else None, "message": _progress_message(job, progress),
            "warnings": [w["message"] for w in job.warnings or []],
            "started_at": job.started_at.isoformat() if job.started_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}


def _progress_message(job: ImportJob, progress: "OrdersProgress | None") -> str:
    if job.status == "failed":
        return f"Stopped: {job.last_error}"
    if job.status == "done":
        return f"{job.processed:,} imported"
    if progress is not None and progress.phase == "export":
        if not progress.operation_id:
            return "Asking Shopify for the orders"
        return "Waiting for Shopify to gather the orders" + (f" ({progress.objects:,} so far)" if progress.objects
                                                              else "")
    if progress is not None and progress.phase == "download":
        return f"Reading Shopify's export ({progress.lines:,} lines so far)"
    if progress is not None and progress.phase == "tiers":
        return f"{job.processed:,} orders imported; updating VIP tiers"
    total = f" of {job.total:,}" if job.total else ""
    return f"{job.processed:,}{total} imported"
