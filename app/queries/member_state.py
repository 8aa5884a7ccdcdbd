"""A member's state as the widget, the admin and the CLI show it (read-only)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.ledger import Balance, action_key
from app.loyalty.tiers import progress_to_next, qualifying_tier
from app.loyalty.widget import WELCOME_STAGE, actions_in_order, next_reward
from app.loyalty.wording import DEFAULT_LOCALE, entry_reason
from app.models import LedgerEntry, Member, MemberMetrics, Redemption, Reward, Shop
from app.queries.order_places import with_store_places
from app.queries.pooled_state import is_paying_member
from app.services.ledger import balance_of, entries_of, explained_ledger
from app.services.members import find_member
from app.services.program import current_program
from app.services.rewards import catalog, reward_json
from app.services.tiers import tier_metric

SOCIAL_ACTIONS = ("social_follow", "social_share")


def member_state(session: Session, shop: Shop, customer_id: int, *, now: datetime,
                 recent: int = 10, locale: str = DEFAULT_LOCALE) -> dict[str, Any]:
    """Balance, pending, lifetime, tier and progress, recent activity with the reasons (in the
    shopper's `locale`). A customer Tessera has not seen yet is a member with nothing yet."""
    _, program = current_program(session, shop)
    member = find_member(session, shop, customer_id)
    if member is None:
        return _empty_state(program, customer_id)
    balance = balance_of(session, member, now)
    metric = tier_metric(session, shop, member, program, now) if program.tiers.enabled else None
    tier = _shown_tier(program, member, metric)
    rewards = _rewards_for(session, shop, member, balance.balance, now)
    stage, has_ordered = _stage_of(session, shop, member)
    return {
        "customer_id": customer_id,
        "first_name": member.first_name or None,
        "lifecycle_stage": stage,
        "welcome_path": stage == WELCOME_STAGE,
        "next_reward": next_reward(rewards),
        "actions": actions_in_order(_enabled_actions(program), _done_actions(session, shop, member, has_ordered),
                                    stage=stage),
        **_balance_fields(balance),
        "tier": tier.name if tier else None,
        "tier_key": tier.key if tier else None,
        "tier_progress": progress_to_next(program.tiers, tier.key if tier else None, metric)
        if metric is not None else None,
        "referral_code": member.referral_code,
        "blocked": member.blocked_at is not None,
        "birthday_set": member.birthday is not None,
        "referral_path": f"/?ref={member.referral_code}",
        "rewards": rewards,
        "codes": _active_codes(session, shop, member),
        "claimed_social": _claimed_social(session, shop, member),
        "recent_activity": _recent_activity(session, member, recent, locale),
    }


def _stage_of(session: Session, shop: Shop, member: Member) -> tuple[str, bool]:
    """The lifecycle stage and whether a paid order counted. Metrics are recomputed on every
    order, so a member without a row yet has no paid order: enrolled, hence `engagement`."""
    metrics = session.scalars(select(MemberMetrics).where(
        MemberMetrics.shop_id == shop.id, MemberMetrics.member_id == member.id)).first()
    if metrics is None:
        return WELCOME_STAGE, False
    return metrics.lifecycle_stage, metrics.orders_count > 0


def _enabled_actions(program) -> dict[str, int]:
    return {key: rule.points for key, rule in program.actions if getattr(rule, "enabled", False)
            and getattr(rule, "points", None) is not None}


def _done_actions(session: Session, shop: Shop, member: Member, has_ordered: bool) -> set[str]:
    """Actions already paid (ledger entries caused by them), the birthday once given, the first order once placed."""
    done = set(session.scalars(select(LedgerEntry.cause_id).distinct().where(
        LedgerEntry.shop_id == shop.id, LedgerEntry.member_id == member.id, LedgerEntry.cause_type == "action")))
    if member.birthday is not None:
        done.add("birthday")
    if has_ordered:
        done.add("first_order")
    return done


def _shown_tier(program, member: Member, metric):
    """The member's tier; until the first recompute after tiers are switched on, the tier the
    activity already qualifies for (so nobody sees "0 points to reach Bronze")."""
    if metric is None:
        return None
    return program.tier(member.tier_key) or qualifying_tier(program.tiers, metric)


def _rewards_for(session: Session, shop: Shop, member: Member, balance: int, now: datetime) -> list[dict[str, Any]]:
    """The catalog as this member sees it: tier-only rewards only for that tier, members-only
    rewards only for paying members, rewards aimed at an audience only for its members."""
    from app.queries.segments import rewards_for_member  # segments reads member state: no cycle at import
    visible = [r for r in catalog(session, shop) if not r.tier_keys or member.tier_key in r.tier_keys]
    if any(r.members_only for r in visible) and not is_paying_member(session, shop, member.id, at=now):
        visible = [r for r in visible if not r.members_only]
    visible = rewards_for_member(session, shop, member, visible, now=now)
    return [{**reward_json(r, shop.currency), "affordable": balance >= (r.min_points or r.points_cost or 0),
             "points_needed": max(0, (r.min_points or r.points_cost or 0) - balance)} for r in visible]


def _active_codes(session: Session, shop: Shop, member: Member) -> list[dict[str, Any]]:
    rows = session.execute(select(Redemption, Reward.name).outerjoin(Reward, Reward.id == Redemption.reward_id).where(
        Redemption.shop_id == shop.id, Redemption.member_id == member.id, Redemption.status == "issued")
        .order_by(Redemption.created_at.desc())).all()
    return [{"code": r.code, "reward": name or r.purpose.replace("_", " "), "kind": r.kind,
             "value": None if r.value is None else str(r.value),
             "expires_at": r.expires_at.isoformat() if r.expires_at else None,
             "variant_id": (r.terms or {}).get("variant_id"),  # a free product's code adds it to the cart
             "apply_url": f"/discount/{r.code}" if r.code else None} for r, name in rows]


def _claimed_social(session: Session, shop: Shop, member: Member) -> list[dict[str, str]]:
    """Social follows/shares already paid (once per network), so the widget shows them as done."""
    keys = session.scalars(select(LedgerEntry.entry_key).where(
        LedgerEntry.shop_id == shop.id, LedgerEntry.member_id == member.id, LedgerEntry.cause_type == "action",
        LedgerEntry.cause_id.in_(SOCIAL_ACTIONS)))
    prefixes = {action: action_key(member.id, action) + ":" for action in SOCIAL_ACTIONS}
    claimed = [{"action": action, "network": key[len(prefix):]}
               for key in keys for action, prefix in prefixes.items() if key.startswith(prefix)]
    return sorted(claimed, key=lambda c: (c["action"], c["network"]))


def _balance_fields(balance: Balance) -> dict[str, int]:
    return {"balance": balance.balance, "pending": balance.pending, "lifetime_earned": balance.lifetime_earned}


def _empty_state(program, customer_id: int) -> dict[str, Any]:
    lowest = program.tiers.levels[0] if program.tiers.enabled and program.tiers.levels else None
    return {"customer_id": customer_id, **_balance_fields(Balance(0, 0, 0)), "tier": None, "tier_key": None,
            "tier_progress": progress_to_next(program.tiers, None, 0) if lowest else None, "referral_code": None,
            # A customer id means a store account: by the lifecycle rule, `engagement`.
            "first_name": None, "lifecycle_stage": WELCOME_STAGE, "welcome_path": True, "next_reward": None,
            "actions": actions_in_order(_enabled_actions(program), set(), stage=WELCOME_STAGE),
            "referral_path": None, "blocked": False, "birthday_set": False, "rewards": [], "codes": [],
            "claimed_social": [], "recent_activity": []}


def _activity(entry, locale: str) -> dict[str, Any]:
    reason = entry_reason(entry.reason_code, entry.reason_params, entry.reason, locale, points=entry.points)
    return {"at": entry.created_at.isoformat(), "kind": entry.kind, "points": entry.points, "reason": reason,
            "pending_until": entry.vests_at.isoformat() if entry.vests_at else None}


def explained(session: Session, member: Member, now: datetime) -> list[dict[str, Any]]:
    return [{"at": e.created_at.isoformat(), "kind": e.kind, "points": e.points, "reason": e.reason,
             "balance_after": e.running_balance,
             "pending_until": e.pending_until.isoformat() if e.pending_until else None,
             "expires_at": e.expires_at.isoformat() if e.expires_at else None}
            for e in explained_ledger(session, member, now)]


def _recent_activity(session: Session, member: Member, recent: int, locale: str) -> list[dict[str, Any]]:
    entries = entries_of(session, member, limit=recent, newest_first=True)
    return with_store_places(session, member.shop_id, [_activity(e, locale) for e in entries],
                             [e.order_id for e in entries], locale=locale)
