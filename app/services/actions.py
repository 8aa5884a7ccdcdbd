"""Points for actions: signup, birthday, newsletter, social, reviews, profile, order bonuses."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.actions import action_reason, action_rule, claim_key
from app.loyalty.errors import ActionNotAllowed, MemberBlocked
from app.loyalty.expiry import lot_expiry
from app.loyalty.ledger import EntryKind, action_key
from app.loyalty.program import Program
from app.loyalty.wording import reason_fields
from app.models import LedgerEntry, Member, Shop
from app.services.ledger import NewEntry, lock_member, post_entry
from app.services.program import current_program
from app.services.tiers import refresh_member_tier


def _previous_claims(session: Session, member: Member, action: str) -> list[datetime]:
    prefix = action_key(member.id, action) + ":"
    return list(session.scalars(select(LedgerEntry.created_at).where(
        LedgerEntry.shop_id == member.shop_id, LedgerEntry.member_id == member.id,
        LedgerEntry.entry_key.startswith(prefix, autoescape=True))))


def post_action_points(session: Session, shop: Shop, member: Member, action: str, *, now: datetime,
                       ref: str | None = None, detail: str | None = None, order_id: int | None = None,
                       program: tuple[int, Program] | None = None) -> LedgerEntry:
    """Award an action within the caller's transaction; ActionNotAllowed says why not."""
    if member.blocked_at is not None:
        raise MemberBlocked("This account cannot earn points right now; please contact the store.")
    version, rules = program or _version_and_program(session, shop)
    rule = action_rule(rules, action)
    limited = rule.enabled and getattr(rule, "limit", None) == "per_period"
    key = claim_key(rules, member.id, action, at=now, ref=ref,
                    previous_claims=_previous_claims(session, member, action) if limited else None)
    points = action_rule(rules, action).points
    entry = post_entry(session, member, NewEntry(
        key=key, kind=EntryKind.EARN, points=points, cause_type="action", cause_id=action,
        **reason_fields(action_reason(action, points, detail)), program_version_id=version, order_id=order_id,
        expires_at=lot_expiry(rules.expiry, now)), now=now)
    if entry is None:
        raise ActionNotAllowed("Already claimed: these points were given before.")
    member.last_activity_at = now
    refresh_member_tier(session, shop, member, rules, version_id=version, now=now)  # points can lift the tier
    from app.services.games import follow_member  # badges and challenges count actions
    follow_member(session, shop, member, now=now, program=(version, rules))
    return entry


def _version_and_program(session: Session, shop: Shop) -> tuple[int, Program]:
    version, rules = current_program(session, shop)
    return version.id, rules


def try_action_points(session: Session, shop: Shop, member: Member, action: str, *, now: datetime,
                      **kwargs) -> LedgerEntry | None:
    """For automatic awards (webhooks): an action that is off or already given is not an error."""
    try:
        return post_action_points(session, shop, member, action, now=now, **kwargs)
    except (ActionNotAllowed, MemberBlocked):
        return None


def claim_action(session: Session, shop: Shop, member: Member, action: str, *, now: datetime,
                 ref: str | None = None, detail: str | None = None) -> LedgerEntry:
    """A claim made by the shopper or an integration (social follow, review...): one transaction."""
    lock_member(session, member)
    entry = post_action_points(session, shop, member, action, now=now, ref=ref, detail=detail)
    session.commit()
    return entry
