"""What an import job's row says, shared by the job runner, both importers and the progress
reads: the kinds and states of a job, its runner's lease, the orders import's cursor, and how a
slice stops short of done (ImportStopped, warnings about withheld customer fields)."""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from app.models import ImportJob
from app.services.reconcile import withheld_advice

log = logging.getLogger(__name__)

API_KINDS = ("customers", "orders")
# Finished (or never started) jobs are history; any other job of a kind is resumed, not duplicated.
RESUMABLE = ("pending", "running", "failed")
# A running job commits at least this often; one not heard from for longer has lost its runner.
LEASE = timedelta(minutes=2)
WITHHELD = "withheld_customer_fields"  # the kind of warning about protected customer data


class ImportStopped(Exception):
    """The job cannot go on until the owner resumes it; the message says why."""


def is_stalled(job: ImportJob, now: datetime) -> bool:
    """Unfinished and not heard from for longer than a runner ever stays silent (its worker
    stopped, or its queued slice was lost with the process)."""
    return job.status in ("pending", "running") and job.updated_at is not None and job.updated_at < now - LEASE


def warn_withheld(job: ImportJob, fields: list[str]) -> None:
    """Say on the job (the import page shows it) which customer fields Shopify withheld and what
    the owner can do; committed with the page that lacked them."""
    earlier = next((w for w in job.warnings or [] if w.get("kind") == WITHHELD), {"fields": []})
    union = sorted(set(fields) | set(earlier["fields"]))
    if union == earlier["fields"]:
        return
    others = [w for w in job.warnings or [] if w.get("kind") != WITHHELD]
    job.warnings = [*others, {"kind": WITHHELD, "fields": union, "message": withheld_advice(union)}]
    log.warning("import %s %s for shop %s: %s", job.kind, job.id, job.shop_id, withheld_advice(union))


@dataclass
class OrdersProgress:
    """The cursor of an orders import: export (Shopify writes the file) -> download (its lines
    are kept) -> settle (the kept orders are imported) -> tiers."""

    phase: str = "export"
    operation_id: str | None = None
    objects: int = 0  # orders Shopify has written so far, while it runs
    lines: int = 0  # lines of the file kept and committed
    offset: int = 0  # bytes of the file kept and committed
    settled_through: int = 0  # the kept line of the last order imported
    without_customer_profile: bool = False  # Shopify withheld protected customer fields

    @classmethod
    def load(cls, cursor: str | None) -> "OrdersProgress":
        try:
            data = json.loads(cursor) if cursor else {}
        except ValueError:
            data = {}  # a page cursor of the paged import this replaced: start with an export
        if not isinstance(data, dict):
            data = {}
        if data.get("phase") == "import":  # read the file in one pass before lines were kept: keep them all
            data.update(phase="download", lines=0, offset=0)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def dump(self) -> str:
        return json.dumps(asdict(self))

    def restart_export(self) -> None:
        """A new export is a new file: read from its start (orders imported already are
        recognised and skipped)."""
        self.phase, self.operation_id, self.objects, self.lines, self.offset = "export", None, 0, 0, 0
        self.settled_through = 0
