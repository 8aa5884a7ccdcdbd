"""Segments as the owner manages them: create, change, delete (custom ones), the built-in one
per lifecycle stage, their live counts, and their sizes recorded once a day."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.loyalty.errors import ActionNotAllowed, NotFound
from app.loyalty.segments import BUILT_IN_PREFIX, Condition, built_in_rules, parse_segment, parse_stored_conditions
from app.models import Member, Reward, Segment, SegmentSnapshot, Shop
from app.parsing import is_stored_id
from app.queries.segments import SegmentQuery, members_in_segment, segment_count, stage_counts
from app.services.program import current_program


@dataclass(frozen=True)
class SegmentView:
    """A custom segment (with its row) or a built-in one, as the API and the admin show it."""

    id: int | str
    name: str
    match: str
    conditions: tuple[Condition, ...]
    row: Segment | None = None

    @property
    def built_in(self) -> bool:
        return self.row is None

    def query(self, shop: Shop, now: datetime) -> SegmentQuery:
        return SegmentQuery(shop, self.match, self.conditions, now)


def _view(segment: Segment) -> SegmentView:
    return SegmentView(segment.id, segment.name, segment.match, parse_stored_conditions(segment.conditions), segment)


def built_in_segments() -> list[SegmentView]:
    return [SegmentView(key, rule.name, rule.match, rule.conditions) for key, rule in built_in_rules().items()]


def custom_segments(session: Session, shop: Shop) -> list[Segment]:
    return session.scalars(select(Segment).where(Segment.shop_id == shop.id).order_by(Segment.name, Segment.id)).all()


def all_segments(session: Session, shop: Shop) -> list[SegmentView]:
    return built_in_segments() + [_view(s) for s in custom_segments(session, shop)]


def find_segment(session: Session, shop: Shop, segment_id: Any) -> SegmentView:
    text = str(segment_id)
    if text.startswith(BUILT_IN_PREFIX):
        rule = built_in_rules().get(text)
        if rule is not None:
            return SegmentView(text, rule.name, rule.match, rule.conditions)
    return _view(find_custom_segment(session, shop, text))


def segment_member_ids(session: Session, shop: Shop, segment_id: Any, now: datetime):
    """The ids of a segment's members as a subquery (for reports narrowed to a segment), or None
    when no segment is named; an unknown segment is NotFound (404)."""
    if segment_id in (None, ""):
        return None
    return members_in_segment(find_segment(session, shop, segment_id).query(shop, now), Member.id)


def find_custom_segment(session: Session, shop: Shop, segment_id: Any) -> Segment:
    segment = None
    if isinstance(segment_id, (int, str)) and is_stored_id(str(segment_id)):
        segment = session.scalar(select(Segment).where(Segment.shop_id == shop.id, Segment.id == int(segment_id)))
    if segment is None:
        raise NotFound(f"No segment {segment_id} in this shop; list them with GET /api/v1/segments.")
    return segment


def _refuse_built_in(segment_id: Any) -> None:
    if str(segment_id).startswith(BUILT_IN_PREFIX):
        raise ActionNotAllowed("Built-in lifecycle segments are read-only; create your own segment with the "
                               "conditions you want instead.")


def _refuse_taken_name(session: Session, shop: Shop, name: str, keep_id: int | None = None) -> None:
    taken = session.scalar(select(Segment.id).where(Segment.shop_id == shop.id, Segment.name == name))
    if taken is not None and taken != keep_id:
        raise ActionNotAllowed(f"A segment named '{name}' already exists; choose another name or change that one.")


def create_segment(session: Session, shop: Shop, body: Any, *, now: datetime) -> Segment:
    rule = parse_segment(body)
    _refuse_taken_name(session, shop, rule.name)
    segment = Segment(shop_id=shop.id, name=rule.name, match=rule.match, conditions=rule.conditions_json(),
                      created_at=now, updated_at=now)
    session.add(segment)
    session.commit()
    return segment


def update_segment(session: Session, shop: Shop, segment_id: Any, body: Any, *, now: datetime) -> Segment:
    """PUT: the whole definition is replaced (the Shopify tag and its sync state stay)."""
    _refuse_built_in(segment_id)
    segment = find_custom_segment(session, shop, segment_id)
    rule = parse_segment(body)
    _refuse_taken_name(session, shop, rule.name, keep_id=segment.id)
    segment.name, segment.match, segment.conditions = rule.name, rule.match, rule.conditions_json()
    segment.updated_at = now
    session.commit()
    return segment


def delete_segment(session: Session, shop: Shop, segment_id: Any) -> None:
    """Refused while a reward or campaign is aimed at it (they would silently reach nobody)."""
    _refuse_built_in(segment_id)
    segment = find_custom_segment(session, shop, segment_id)
    users = segment_users(session, shop, segment.id)
    if users:
        raise ActionNotAllowed(f"Segment '{segment.name}' is the audience of {', '.join(users)}; remove it from "
                               "their audience first.")
    session.delete(segment)
    session.commit()


def segment_users(session: Session, shop: Shop, segment_id: int) -> list[str]:
    """The rewards, campaigns and email kinds whose audience names the segment."""
    _, program = current_program(session, shop)
    rewards = session.scalars(select(Reward).where(Reward.shop_id == shop.id, Reward.deleted_at.is_(None))).all()
    return ([f"reward '{r.name}'" for r in rewards if segment_id in (r.segment_ids or [])]
            + [f"campaign '{c.name}'" for c in program.campaigns if segment_id in (c.segment_ids or [])]
            + [f"the '{kind}' email" for kind, m in program.mail.messages.items() if segment_id in (m.segment_ids or [])])


def segment_json(view: SegmentView, count: int | None) -> dict[str, Any]:
    row = view.row
    return {"id": view.id, "name": view.name, "match": view.match,
            "conditions": [c.as_json() for c in view.conditions], "built_in": view.built_in, "read_only": view.built_in,
            "count": count, "shopify_tag": row.shopify_tag if row else None,
            "sync": None if row is None or row.sync_status is None else {
                "status": row.sync_status, "error": row.sync_error,
                "synced_at": row.synced_at.isoformat() if row.synced_at else None},
            "created_at": row.created_at.isoformat() if row else None,
            "updated_at": row.updated_at.isoformat() if row else None}


def segments_with_counts(session: Session, shop: Shop, *, now: datetime) -> list[tuple[SegmentView, int]]:
    """Every segment with its live count: the stages in one GROUP BY, each custom one in one COUNT."""
    stages = stage_counts(session, shop)
    return [(view, stages.get(view.conditions[0].value, 0) if view.built_in else
             segment_count(session, view.query(shop, now))) for view in all_segments(session, shop)]


# ---- size over time ----------------------------------------------------------------------------

def snapshot_key(view: SegmentView) -> str:
    return str(view.id)


def record_segment_sizes(session: Session, shop: Shop, *, now: datetime) -> int:
    """Today's size of every segment (a later run the same day overwrites it); commits."""
    rows = [{"shop_id": shop.id, "segment_key": snapshot_key(view), "day": now.date(), "members": count}
            for view, count in segments_with_counts(session, shop, now=now)]
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(SegmentSnapshot)
    statement = insert.on_conflict_do_update(index_elements=["shop_id", "segment_key", "day"],
                                             set_={"members": insert.excluded.members})
    session.execute(statement, rows)
    session.commit()
    return len(rows)


def segment_sizes(session: Session, shop: Shop, view: SegmentView, *, days: int = 90) -> list[dict[str, Any]]:
    rows = session.scalars(select(SegmentSnapshot).where(
        SegmentSnapshot.shop_id == shop.id, SegmentSnapshot.segment_key == snapshot_key(view))
        .order_by(SegmentSnapshot.day.desc()).limit(days)).all()
    return [{"day": r.day.isoformat(), "members": r.members} for r in reversed(rows)]


# ---- the periodic job ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SegmentsReport:
    shop: str
    members: int
    win_back: dict[str, int]
    segments: int


def maintain_segments(session: Session, shop: Shop, *, now: datetime) -> SegmentsReport:
    """Recompute every member's metrics and run win-back in one transaction (a member entering
    at_risk is never recorded without its outcome), then record today's segment sizes."""
    from app.services.member_metrics import recompute_shop_metrics
    from app.services.win_back import grant_win_back
    members = recompute_shop_metrics(session, shop, now=now)
    outcomes = grant_win_back(session, shop, now=now)
    session.commit()
    return SegmentsReport(shop.domain, members, outcomes, record_segment_sizes(session, shop, now=now))


def campaign_audiences(session: Session, shop: Shop, program, member_ids: list[int], now: datetime) -> dict:
    """member id -> MemberAudience, read only when a campaign of the program has an audience."""
    from app.queries.segments import audience_segment_ids, member_audiences
    aimed = [c for c in program.campaigns if c.segment_ids or c.lifecycle_stages]
    if not aimed:
        return {}
    return member_audiences(session, shop, member_ids, audience_segment_ids(*aimed), now=now)
