""""Sync to Shopify": a segment's members get a customer tag (tagsAdd) and members who left it
lose it (tagsRemove), so the store's other tools (email, discounts, Flow) can use the segment.

Resumable and batched: the sync walks members in id order, a batch at a time; after each batch
the progress (phase and member id) is committed on the segment, so a crash or a Shopify outage
resumes where it stopped. Shopify is called outside any open write transaction. Tessera only
removes the tag from customers it tagged itself (segment_tag_members), never from customers the
owner tagged by hand.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from app.loyalty.errors import ActionNotAllowed, InvalidInput
from app.models import Member, Segment, SegmentTagMember, Shop
from app.queries.segments import members_in_segment
from app.services.segments import find_custom_segment, find_segment
from app.services.set_sql import insert_rows
from app.shopify.admin_access import ShopNeedsReauth, call_admin
from app.shopify.documents import TAG_CUSTOMER, UNTAG_CUSTOMER
from app.shopify.graphql import ShopifyError, ShopifyUserErrors

if TYPE_CHECKING:
    from app.db import Database
    from app.jobs import Queue
    from app.shopify.admin_access import AdminAccess

log = logging.getLogger(__name__)
BATCH = 50
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _:.-]{0,39}$")


def default_tag(name: str) -> str:
    return ("tessera-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"))[:40].rstrip("-")


def start_segment_sync(session: Session, shop: Shop, segment_id: Any, tag: Any, *, queue: "Queue") -> Segment:
    """Begin (or resume) tagging the segment's members; the tag is fixed once members carry it."""
    segment = find_custom_segment(session, shop, segment_id)
    tag = (tag or segment.shopify_tag or default_tag(segment.name)).strip() if isinstance(tag, (str, type(None))) \
        else None
    if not tag or not _TAG.match(tag):
        raise InvalidInput("Choose a customer tag of 1 to 40 letters, digits, spaces, - _ : or .",
                           {"tag": "1 to 40 letters, digits, spaces, - _ : or ."})
    tagged = session.scalar(select(exists().where(SegmentTagMember.segment_id == segment.id)))
    if tagged and tag != segment.shopify_tag:
        raise ActionNotAllowed(f"Customers already carry the tag '{segment.shopify_tag}'; keep it, or delete the "
                               "segment and create it again to use another tag.")
    if segment.sync_status not in ("adding", "removing"):
        segment.sync_status, segment.sync_cursor = "adding", 0
    segment.shopify_tag, segment.sync_error = tag, None
    session.commit()
    queue.enqueue("sync_segment_tags", shop.id, segment.id)
    return segment


def sync_segment_tags(db: "Database", shopify: "AdminAccess", shop_id: int, segment_id: int, *,
                      now: datetime, max_batches: int | None = None) -> str | None:
    """Run the sync to its end (or `max_batches`); returns the status it left."""
    batches = 0
    while max_batches is None or batches < max_batches:
        with db.scope() as session:
            shop, segment = session.get(Shop, shop_id), session.get(Segment, segment_id)
            if segment is None or segment.shop_id != shop_id or segment.sync_status not in ("adding", "removing"):
                return segment.sync_status if segment else None
            if not _run_batch(session, shopify, shop, segment, now):
                return segment.sync_status
        batches += 1
    return "adding"


def _run_batch(session: Session, shopify: "AdminAccess", shop: Shop, segment: Segment, now: datetime) -> bool:
    """One batch of the current phase; False once the sync stopped (finished or failed)."""
    adding = segment.sync_status == "adding"
    batch = _to_tag(session, shop, segment, now) if adding else _to_untag(session, shop, segment, now)
    if not batch:
        _next_phase(session, segment, now, adding)
        return segment.sync_status in ("adding", "removing")
    segment_id, tag = segment.id, segment.shopify_tag
    session.commit()  # no transaction open while Shopify answers
    done, error = _call_shopify(shopify, session, shop, batch, tag, TAG_CUSTOMER if adding else UNTAG_CUSTOMER)
    segment = session.get(Segment, segment_id)
    _record(session, shop, segment, done, adding)
    segment.sync_cursor = batch[-1][0] if error is None else (done[-1][0] if done else segment.sync_cursor)
    if error:
        segment.sync_status, segment.sync_error = "failed", error
    session.commit()
    return error is None


def _to_tag(session: Session, shop: Shop, segment: Segment, now: datetime) -> list[tuple[int, int]]:
    view = find_segment(session, shop, segment.id)
    tagged = exists().where(SegmentTagMember.segment_id == segment.id, SegmentTagMember.member_id == Member.id)
    return [tuple(r) for r in session.execute(members_in_segment(view.query(shop, now), Member.id, Member.customer_id)
                                              .where(Member.id > (segment.sync_cursor or 0), ~tagged)
                                              .order_by(Member.id).limit(BATCH))]


def _to_untag(session: Session, shop: Shop, segment: Segment, now: datetime) -> list[tuple[int, int]]:
    view = find_segment(session, shop, segment.id)
    still_in = members_in_segment(view.query(shop, now), Member.id)
    return [tuple(r) for r in session.execute(
        select(Member.id, Member.customer_id).join(SegmentTagMember, SegmentTagMember.member_id == Member.id)
        .where(SegmentTagMember.segment_id == segment.id, Member.id > (segment.sync_cursor or 0),
               Member.id.not_in(still_in)).order_by(Member.id).limit(BATCH))]


def _call_shopify(shopify, session, shop, batch, tag, document) -> tuple[list[tuple[int, int]], str | None]:
    """The members Shopify tagged (or untagged), and the error that stopped the batch. A customer
    Shopify no longer has (userErrors) is skipped, not retried forever."""
    done = []
    for member_id, customer_id in batch:
        try:
            call_admin(shopify, session, shop, document, {"id": f"gid://shopify/Customer/{customer_id}", "tags": [tag]})
            done.append((member_id, customer_id))
        except ShopifyUserErrors as exc:
            log.info("segment tag skipped for customer %s: %s", customer_id, exc)
        except (ShopifyError, ShopNeedsReauth) as exc:
            return done, f"Shopify did not answer ({exc}); start the sync again to resume where it stopped."
    return done, None


def _record(session: Session, shop: Shop, segment: Segment, done: list[tuple[int, int]], adding: bool) -> None:
    ids = [member_id for member_id, _ in done]
    if adding:
        insert_rows(session, SegmentTagMember.__table__,
                    [{"segment_id": segment.id, "member_id": m, "shop_id": shop.id} for m in ids],
                    conflict=("segment_id", "member_id"))
    elif ids:
        session.execute(delete(SegmentTagMember).where(SegmentTagMember.segment_id == segment.id,
                                                       SegmentTagMember.member_id.in_(ids)))


def _next_phase(session: Session, segment: Segment, now: datetime, adding: bool) -> None:
    if adding:
        segment.sync_status, segment.sync_cursor = "removing", 0
    else:
        segment.sync_status, segment.sync_cursor, segment.synced_at = "done", None, now
    session.commit()


def tagged_count(session: Session, segment_id: int) -> int:
    from sqlalchemy import func
    return int(session.scalar(select(func.count()).select_from(SegmentTagMember)
                              .where(SegmentTagMember.segment_id == segment_id)) or 0)
