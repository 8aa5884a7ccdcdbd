"""Time-driven member upkeep: birthday points, and tier changes at the end of a period."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import extract, or_, select
from sqlalchemy.orm import Session

from app.models import Member, Shop
from app.services.actions import try_action_points
from app.services.ledger import lock_member
from app.services.program import current_program
from app.services.tier_recompute import recompute_tiers


@dataclass(frozen=True)
class MaintenanceReport:
    shop: str
    birthdays: int
    tier_changes: int


def _birthday_filter(now: datetime):
    days = [now.day]
    if now.month == 2 and now.day == 28 and not calendar.isleap(now.year):
        days.append(29)  # leap-day birthdays are celebrated on the 28th
    return (extract("month", Member.birthday) == now.month) & or_(*[extract("day", Member.birthday) == d for d in days])


def award_birthdays(session: Session, shop: Shop, *, now: datetime) -> int:
    version, program = current_program(session, shop)
    if not program.actions.birthday.enabled:
        return 0
    members = session.scalars(select(Member).where(Member.shop_id == shop.id, Member.birthday.is_not(None),
                                                   Member.blocked_at.is_(None), _birthday_filter(now))).all()
    awarded = 0
    for member in members:
        lock_member(session, member)
        awarded += try_action_points(session, shop, member, "birthday", now=now, program=(version.id, program)) \
            is not None
    return awarded


def apply_due_tier_changes(session: Session, shop: Shop, *, now: datetime) -> int:
    """Members whose kept tier ran out are re-evaluated (down, or confirmed for a new period),
    all at once in SQL (services.tier_recompute)."""
    return recompute_tiers(session, shop, now=now, due_only=True).tier_changes


def maintain_members(session: Session, shop: Shop, *, now: datetime) -> MaintenanceReport:
    report = MaintenanceReport(shop.domain, award_birthdays(session, shop, now=now),
                               apply_due_tier_changes(session, shop, now=now))
    session.commit()
    return report
