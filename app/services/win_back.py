"""Win-back: members entering at_risk get a one-time bonus when the owner enabled it, at most
once per cool-down period; every entry into at_risk is recorded with what was done, so the
analytics compare those reached with those not reached (automation off, cool-down, blocked).

Runs after the set-based recompute (services/member_metrics.py), which records when a member's
stage changed and from what (stage_entered_at, previous_stage); entries into at_risk of the last
days not recorded yet are taken (a per-event refresh can move a member too, and a run that
failed is caught up by the next). Within the caller's transaction; set-based writes (one INSERT
for the entries, one for the bonuses).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from app.loyalty.expiry import lot_expiry
from app.loyalty.ledger import EntryKind, win_back_key
from app.loyalty.lifecycle import win_back_outcome, win_back_reason
from app.loyalty.wording import reason_fields
from app.models import Member, MemberMetrics, Order, Shop, WinBackEntry
from app.services.ledger import insert_entries
from app.services.member_metrics import paid_order_filter
from app.services.program import current_program
from app.services.set_sql import insert_rows

RETURN_DAYS = 30
CATCH_UP_DAYS = 3


def _entrants(session: Session, shop: Shop, now: datetime, cool_down_days: int):
    earlier = aliased(WinBackEntry)
    granted_lately = exists().where(earlier.shop_id == shop.id, earlier.member_id == MemberMetrics.member_id,
                                    earlier.outcome == "granted",
                                    earlier.entered_at > now - timedelta(days=cool_down_days))
    recorded = exists().where(WinBackEntry.shop_id == shop.id, WinBackEntry.member_id == MemberMetrics.member_id,
                              WinBackEntry.entered_at == MemberMetrics.stage_entered_at)
    return session.execute(select(MemberMetrics.member_id, MemberMetrics.stage_entered_at, Member.blocked_at.is_not(None),
                                  granted_lately)
                           .join(Member, Member.id == MemberMetrics.member_id).where(
        MemberMetrics.shop_id == shop.id, MemberMetrics.lifecycle_stage == "at_risk",
        MemberMetrics.previous_stage.is_not(None), MemberMetrics.stage_entered_at > now - timedelta(days=CATCH_UP_DAYS),
        ~recorded)).all()


def grant_win_back(session: Session, shop: Shop, *, now: datetime) -> dict[str, int]:
    """Record this run's entries into at_risk and post the bonuses; outcome -> members."""
    version, program = current_program(session, shop)
    settings = program.win_back
    entries, bonuses = [], []
    for member_id, entered_at, blocked, granted_lately in _entrants(session, shop, now, settings.cool_down_days):
        outcome = win_back_outcome(settings, blocked=blocked, granted_within_cool_down=granted_lately)
        key = win_back_key(member_id, entered_at) if outcome == "granted" else None
        entries.append({"shop_id": shop.id, "member_id": member_id, "entered_at": entered_at, "outcome": outcome,
                        "entry_key": key, "redemption_id": None,
                        "return_window_ends_at": entered_at + timedelta(days=RETURN_DAYS)})
        if key:
            bonuses.append(_bonus_row(shop, member_id, key, settings.points, program, version.id, now))
    insert_rows(session, WinBackEntry.__table__, entries, conflict=("shop_id", "member_id", "entered_at"))
    insert_entries(session, bonuses)
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["outcome"]] = counts.get(entry["outcome"], 0) + 1
    return counts


def _bonus_row(shop: Shop, member_id: int, key: str, points: int, program, version_id: int,
               now: datetime) -> dict[str, Any]:
    return {"shop_id": shop.id, "member_id": member_id, "entry_key": key, "kind": str(EntryKind.EARN),
            "points": points, "cause_type": "win_back", "cause_id": "win_back",
            **reason_fields(win_back_reason(points, program.lifecycle.at_risk_days)), "program_version_id": version_id,
            "order_id": None, "reverses_entry_id": None, "staff_user_id": None, "shortfall_points": 0,
            "vests_at": None, "expires_at": lot_expiry(program.expiry, now), "details": None, "created_at": now}


def win_back_results(session: Session, shop: Shop, *, since: datetime, now: datetime) -> dict[str, dict[str, int]]:
    """Per outcome since `since`: members who entered at_risk, and how many came back (a paid
    order within 30 days of entering); entries younger than 30 days are still `open`."""
    came_back = exists().where(paid_order_filter(shop.id), Order.member_id == WinBackEntry.member_id,
                               and_(func.coalesce(Order.processed_at, Order.paid_at) > WinBackEntry.entered_at,
                                    func.coalesce(Order.processed_at, Order.paid_at)
                                    <= WinBackEntry.return_window_ends_at))
    still_open = WinBackEntry.return_window_ends_at > now
    rows = session.execute(select(WinBackEntry.outcome, still_open, came_back, func.count()).where(
        WinBackEntry.shop_id == shop.id, WinBackEntry.entered_at >= since).group_by(
        WinBackEntry.outcome, still_open, came_back))
    results: dict[str, dict[str, int]] = {}
    for outcome, still_open, returned, n in rows:
        figures = results.setdefault(outcome, {"entered": 0, "came_back": 0, "open": 0})
        figures["entered"] += n
        figures["came_back"] += n if returned else 0
        figures["open"] += n if still_open and not returned else 0
    return results
