"""The lines of a bulk export, kept per import job until their orders are imported.

Shopify does not promise where a child line (a line item, a shipping line) sits in the file:
ungrouped output (the default since 2026-01) may put it before its order or far after it. Holding
orders in memory until the end of a file of a million orders is not an option, so the import
first copies the file's lines here, a few thousand per commit together with the byte offset
reached (a stopped copy resumes with a Range request), then reads the orders back in the order
they were kept, a batch at a time with their children, and deletes the lines once every order
is imported. Helpers only: the caller commits.
"""
from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from app.models import BulkExportLine, ImportJob, Shop
from app.services.bulk_import import among, insert_rows
from app.shopify.bulk import BulkFileError, BulkOrder, assemble_order, parent_of_line


def keep_lines(session: Session, shop: Shop, job: ImportJob, lines: Iterable[bytes]) -> int:
    """Keep raw JSONL lines for `job`; the number kept."""
    rows = [(shop.id, job.id, parent_of_line(line), line.decode()) for line in lines]
    if session.get_bind().dialect.name == "postgresql":
        _copy_rows(session, rows)
    else:
        insert_rows(session, BulkExportLine.__table__, [dict(zip(_COLUMNS, row)) for row in rows], conflict=None)
    return len(rows)


_COLUMNS = ("shop_id", "job_id", "parent_gid", "body")


def _copy_rows(session: Session, rows: list[tuple]) -> None:
    # COPY: a million orders are ~4 million lines, and COPY takes them several times faster
    # than any INSERT; it runs in the session's transaction like any statement.
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY bulk_export_lines ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def lines_all_kept(session: Session) -> None:
    """The whole file is kept: on PostgreSQL, let the planner see the new rows (millions of them
    since the last autovacuum), or it reads them back with sequential scans."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE bulk_export_lines"))


def kept_orders(session: Session, shop: Shop, job: ImportJob, *, after_id: int,
                limit: int) -> list[tuple[int, BulkOrder]]:
    """(kept line id, order with its line items and shipping lines) of the next `limit` orders
    after `after_id`, in the order their lines were kept."""
    roots = session.execute(select(BulkExportLine.id, BulkExportLine.body).where(
        BulkExportLine.shop_id == shop.id, BulkExportLine.job_id == job.id, BulkExportLine.parent_gid.is_(None),
        BulkExportLine.id > after_id).order_by(BulkExportLine.id).limit(limit)).all()
    nodes = [(line_id, _parsed(body)) for line_id, body in roots]
    children: dict[str, list[dict]] = {node["id"]: [] for _, node in nodes}
    if children:
        for (body,) in session.execute(select(BulkExportLine.body).where(
                BulkExportLine.shop_id == shop.id, BulkExportLine.job_id == job.id,
                among(session, BulkExportLine.parent_gid, list(children))).order_by(BulkExportLine.id)):
            child = _parsed(body)
            children[child["__parentId"]].append(child)
    return [(line_id, assemble_order(node, children[node["id"]])) for line_id, node in nodes]


def _parsed(body: str) -> dict:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise BulkFileError(f"a line is not JSON ({exc})") from exc


def forget_lines(session: Session, shop: Shop, job: ImportJob) -> None:
    session.execute(delete(BulkExportLine).where(BulkExportLine.shop_id == shop.id, BulkExportLine.job_id == job.id))
