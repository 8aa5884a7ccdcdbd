"""Members as the owner looks them up: search, filter, sort, and one member in full (read-only)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from app.loyalty.errors import NotFound
from app.loyalty.ledger import EARNING_KINDS, explain
from app.models import LedgerEntry, Member, Redemption, Referral, Reward, Shop
from app.parsing import is_stored_id, query_number
from app.queries.member_state import member_state
from app.queries.order_places import with_store_places
from app.services.ledger import entries_of
from app.services.members import find_member

SORTS = ("newest", "oldest", "name", "email", "balance", "-balance", "lifetime", "-lifetime", "activity")
SEGMENTS = ("with_points", "no_points", "blocked")
NO_TIER = "none"


# Far beyond any shop's member count, small enough that the page's offset stays a BIGINT.
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class MemberQuery:
    text: str = ""
    tier_key: str | None = None  # a tier key, NO_TIER, or None for every member
    segment: str | None = None
    sort: str = "newest"
    page: int = 1
    per_page: int = 25

    @classmethod
    def from_args(cls, args) -> "MemberQuery":
        """From query-string arguments; anything unknown falls back to the default."""
        return cls(text=(args.get("query") or args.get("q") or "").strip()[:200],
                   tier_key=args.get("tier") or None,
                   segment=args.get("segment") if args.get("segment") in SEGMENTS else None,
                   sort=args.get("sort") if args.get("sort") in SORTS else "newest",
                   page=query_number(args, "page", default=1, minimum=1, maximum=MAX_PAGE),
                   per_page=query_number(args, "per_page", default=25, minimum=1, maximum=100, clamp=True))


@dataclass(frozen=True)
class MemberRow:
    member: Member
    balance: int
    pending: int
    lifetime_earned: int


@dataclass(frozen=True)
class MemberPage:
    rows: list[MemberRow]
    total: int
    query: MemberQuery

    @property
    def has_next(self) -> bool:
        return self.query.page * self.query.per_page < self.total


def balances_by_member(shop: Shop, now: datetime, member_ids: list[int] | None = None):
    """Per member: spendable, pending and lifetime-earned points, as a subquery (for the given
    members only, when their ids are known)."""
    vested = (LedgerEntry.vests_at.is_(None)) | (LedgerEntry.vests_at <= now)
    query = (select(LedgerEntry.member_id.label("member_id"),
                    func.sum(case((vested, LedgerEntry.points), else_=0)).label("balance"),
                    func.sum(case((vested, 0), else_=LedgerEntry.points)).label("pending"),
                    func.sum(case((LedgerEntry.kind.in_([str(k) for k in EARNING_KINDS]), LedgerEntry.points),
                                  else_=0)).label("lifetime"))
             .where(LedgerEntry.shop_id == shop.id).group_by(LedgerEntry.member_id))
    if member_ids is not None:
        query = query.where(LedgerEntry.member_id.in_(member_ids))
    return query.subquery()


def _text_filter(text: str):
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    full_name = func.coalesce(Member.first_name, "") + " " + func.coalesce(Member.last_name, "")
    conditions = [Member.email.ilike(pattern, escape="\\"), full_name.ilike(pattern, escape="\\"),
                  Member.last_name.ilike(pattern, escape="\\")]
    if is_stored_id(text):  # a customer id typed into the search box
        conditions.append(Member.customer_id == int(text))
    return or_(*conditions)


def _order_by(sort: str, balance, lifetime):
    name = func.lower(func.coalesce(Member.last_name, Member.first_name, Member.email, ""))
    return {"newest": (Member.created_at.desc(), Member.id.desc()), "oldest": (Member.created_at, Member.id),
            "name": (name, Member.id), "email": (func.lower(func.coalesce(Member.email, "")), Member.id),
            "balance": (balance.asc(), Member.id), "-balance": (balance.desc(), Member.id),
            "lifetime": (lifetime.asc(), Member.id), "-lifetime": (lifetime.desc(), Member.id),
            "activity": (Member.last_activity_at.is_(None), Member.last_activity_at.desc(), Member.id)}[sort]


def _filtered(statement, query: MemberQuery, balance):
    if query.text:
        statement = statement.where(_text_filter(query.text))
    if query.tier_key == NO_TIER:
        statement = statement.where(Member.tier_key.is_(None))
    elif query.tier_key:
        statement = statement.where(Member.tier_key == query.tier_key)
    if query.segment == "blocked":
        statement = statement.where(Member.blocked_at.is_not(None))
    elif query.segment in ("with_points", "no_points"):
        statement = statement.where(balance > 0 if query.segment == "with_points" else balance <= 0)
    return statement


def _needs_every_balance(query: MemberQuery) -> bool:
    return query.sort.lstrip("-") in ("balance", "lifetime") or query.segment in ("with_points", "no_points")


def search_members(session: Session, shop: Shop, query: MemberQuery, *, now: datetime) -> MemberPage:
    """One page of members. Balances are summed over the whole ledger only when the filter or
    the sort needs them; otherwise just for the members on the page."""
    balances = balances_by_member(shop, now)
    balance, lifetime = func.coalesce(balances.c.balance, 0), func.coalesce(balances.c.lifetime, 0)
    statement = select(Member).where(Member.shop_id == shop.id)
    if _needs_every_balance(query):
        statement = statement.outerjoin(balances, balances.c.member_id == Member.id)
    statement = _filtered(statement, query, balance)
    total = session.scalar(select(func.count()).select_from(statement.subquery()))
    members = session.scalars(statement.order_by(*_order_by(query.sort, balance, lifetime))
                              .limit(query.per_page).offset((query.page - 1) * query.per_page)).all()
    on_page = balances_by_member(shop, now, [m.id for m in members])
    points = {row.member_id: row for row in session.execute(select(on_page))}
    return MemberPage([MemberRow(m, *_points_of(points.get(m.id))) for m in members], int(total), query)


def _points_of(row) -> tuple[int, int, int]:
    return (0, 0, 0) if row is None else (int(row.balance), int(row.pending), int(row.lifetime))


def member_row_json(row: MemberRow) -> dict[str, Any]:
    member = row.member
    return {"customer_id": member.customer_id, "name": member.display_name, "email": member.email,
            "first_name": member.first_name, "last_name": member.last_name, "tier_key": member.tier_key,
            "balance": row.balance, "pending": row.pending, "lifetime_earned": row.lifetime_earned,
            "blocked": member.blocked_at is not None, "account_state": member.account_state,
            "member_since": member.created_at.isoformat(),
            "last_activity_at": member.last_activity_at.isoformat() if member.last_activity_at else None}


def require_member(session: Session, shop: Shop, customer_id: int) -> Member:
    member = find_member(session, shop, customer_id)
    if member is None:
        raise NotFound(f"No member with customer id {customer_id} in this shop. Search the members list by name "
                       "or email.")
    return member


def full_ledger(session: Session, member: Member, now: datetime) -> list[dict[str, Any]]:
    """Every entry, oldest first, with its reason, the balance after it, and who made it
    (staff adjustments carry the staff user id)."""
    entries = entries_of(session, member)
    rows = [{"id": entry.id, "at": line.created_at.isoformat(), "kind": line.kind, "points": line.points,
             "reason": line.reason, "balance_after": line.running_balance, "staff_user_id": entry.staff_user_id,
             "order_id": entry.order_id,
             "pending_until": line.pending_until.isoformat() if line.pending_until else None,
             "expires_at": line.expires_at.isoformat() if line.expires_at else None}
            for entry, line in zip(entries, explain(entries, at=now))]
    return with_store_places(session, member.shop_id, rows, [entry.order_id for entry in entries])


def referral_stats(session: Session, shop: Shop, member: Member) -> dict[str, Any]:
    counts = dict(session.execute(select(Referral.status, func.count()).where(
        Referral.shop_id == shop.id, Referral.referrer_member_id == member.id).group_by(Referral.status)).all())
    points = session.scalar(select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
        LedgerEntry.shop_id == shop.id, LedgerEntry.member_id == member.id, LedgerEntry.cause_type == "referral"))
    referrer = session.get(Member, member.referred_by_member_id) if member.referred_by_member_id else None
    return {"code": member.referral_code, "visited": sum(counts.values()),
            "signed_up": counts.get("signed_up", 0) + counts.get("completed", 0),
            "completed": counts.get("completed", 0), "blocked": counts.get("blocked", 0), "points_earned": int(points),
            "referred_by": {"customer_id": referrer.customer_id, "name": referrer.display_name} if referrer
            and referrer.shop_id == shop.id else None}


def redemptions_of(session: Session, shop: Shop, member: Member, limit: int = 20) -> list[dict[str, Any]]:
    """The member's latest reward codes in every state (issued, used, expired, ...)."""
    rows = session.execute(select(Redemption, Reward.name).outerjoin(Reward, Reward.id == Redemption.reward_id).where(
        Redemption.shop_id == shop.id, Redemption.member_id == member.id)
        .order_by(Redemption.created_at.desc(), Redemption.id.desc()).limit(limit)).all()
    return [{"code": r.code, "reward": name or r.purpose.replace("_", " "), "status": r.status,
             "points_spent": r.points_spent, "created_at": r.created_at.isoformat(),
             "expires_at": r.expires_at.isoformat() if r.expires_at else None,
             "used_order_id": r.used_order_id, "failure_reason": r.failure_reason} for r, name in rows]


def member_detail(session: Session, shop: Shop, customer_id: int, *, now: datetime) -> dict[str, Any]:
    """Balance, pending, tier, referral stats, active codes and the full explained ledger."""
    member = require_member(session, shop, customer_id)
    state = member_state(session, shop, customer_id, now=now)
    return {
        "customer_id": member.customer_id, "name": member.display_name, "email": member.email,
        "first_name": member.first_name, "last_name": member.last_name, "phone": member.phone,
        "account_state": member.account_state, "member_since": member.created_at.isoformat(),
        "last_activity_at": member.last_activity_at.isoformat() if member.last_activity_at else None,
        "balance": state["balance"], "pending": state["pending"], "lifetime_earned": state["lifetime_earned"],
        "tier": state["tier"], "tier_key": state["tier_key"], "tier_progress": state["tier_progress"],
        "blocked": member.blocked_at is not None, "block_reason": member.block_reason,
        "blocked_at": member.blocked_at.isoformat() if member.blocked_at else None,
        "referrals": referral_stats(session, shop, member), "codes": state["codes"],
        "redemptions": redemptions_of(session, shop, member),
        "ledger": full_ledger(session, member, now),
        **_segment_facts(session, shop, member, now),
        # What this member can redeem now (the POS modal lists them), as the widget sees them.
        "rewards": state["rewards"],
    }


def _segment_facts(session: Session, shop: Shop, member: Member, now: datetime) -> dict[str, Any]:
    """`lifecycle_stage` and `rfm` (queries/segments.py)."""
    from app.queries.member_metrics import member_segment_facts
    from app.services.program import current_program
    return member_segment_facts(session, member, now=now, settings=current_program(session, shop)[1].lifecycle)
