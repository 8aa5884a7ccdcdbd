"""The customers import: the shop's existing customers, a page of 100 at a time from the Admin API,
through the same service as a customers/update webhook. Its cursor is Shopify's page cursor."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models import ImportJob, Shop
from app.services.import_progress import warn_withheld
from app.services.members import apply_customer
from app.services.reconcile import withheld_customer_fields
from app.shopify.admin_access import AdminAccess, call_admin, call_admin_partial
from app.shopify.documents import CUSTOMERS_COUNT, CUSTOMERS_PAGE


def import_customers(admin: AdminAccess, session: Session, shop: Shop, job: ImportJob, *, deadline: float,
                     max_pages: int | None, clock: Callable[[], datetime]) -> None:
    """Pages until the job is done, `max_pages` pages, or the (time.monotonic) deadline."""
    if job.total is None and not job.processed and not job.cursor:
        counted = call_admin(admin, session, shop, CUSTOMERS_COUNT)["customersCount"] or {}
        # Beyond Shopify's counting limit the total is unknown; progress then shows what was done.
        job.total = counted.get("count") if counted.get("precision") == "EXACT" else None
        session.commit()  # the total stands on its own; Shopify is asked next with nothing pending
    pages = 0
    while job.status == "running":
        _import_customer_page(admin, session, shop, job, clock)
        pages += 1
        if (max_pages is not None and pages >= max_pages) or time.monotonic() >= deadline:
            return


def _import_customer_page(admin: AdminAccess, session: Session, shop: Shop, job: ImportJob,
                          clock: Callable[[], datetime]) -> None:
    result = call_admin_partial(admin, session, shop, CUSTOMERS_PAGE, {"after": job.cursor})
    warn_withheld(job, withheld_customer_fields(result))
    page = result.data["customers"]
    for node in page["nodes"]:
        # Exactly what a customers/update webhook does: the member, the profile, and the
        # automatic action points the program gives (e.g. sign-up points for enabled accounts).
        apply_customer(session, shop, customer_payload(node), now=clock())
    # The cursor moves only with the page's effects, in one commit: a crash in between
    # repeats the page, which the idempotency keys make harmless.
    job.processed += len(page["nodes"])
    job.updated_at = clock()
    if page["pageInfo"]["hasNextPage"]:
        job.cursor = page["pageInfo"]["endCursor"]
    else:
        job.status, job.finished_at = "done", clock()
    session.commit()


def customer_payload(node: dict) -> dict[str, Any]:
    """A GraphQL customer in the REST webhook shape the customer service reads."""
    # A customer without an email or phone has no default address of that kind (null).
    email = node.get("defaultEmailAddress") or {}
    consent = email.get("marketingState") or ""
    return {"id": int(node["legacyResourceId"]), "email": email.get("emailAddress"), "first_name": node.get("firstName"),
            "last_name": node.get("lastName"), "phone": (node.get("defaultPhoneNumber") or {}).get("phoneNumber"),
            "state": (node.get("state") or "").lower() or None, "created_at": node.get("createdAt"),
            "email_marketing_consent": {"state": consent.lower()}, "locale": node.get("locale"),
            "tags": node.get("tags")}
