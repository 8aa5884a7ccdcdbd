"""Analytics of the pooled programs (read-only): cashback as a cost of the program, paying
members, households. Figures carry their definitions like the rest (queries/analytics.py)."""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from app.models import CashbackPayout, HouseholdMember, LedgerEntry, PaidMembership, Shop


class PooledFigure(NamedTuple):
    key: str
    label: str
    value: int
    definition: str
    money: bool  # value in minor units of the shop's currency; else a count


def pooled_figures(session: Session, shop: Shop, since: datetime, now: datetime) -> list[PooledFigure]:
    credited, debited, pending, shortfall = _cashback_sums(session, shop, since)
    members = session.scalar(select(func.count()).select_from(PaidMembership).where(
        PaidMembership.shop_id == shop.id, PaidMembership.ends_at > now))
    households, pooled = _household_counts(session, shop, since)
    return [
        PooledFigure("cashback_cost", "Cashback paid (cost)", credited - debited,
                     "Store credit paid as cashback in the period, less what refunds took back from it (the "
                     "program's cost in store credit).", True),
        PooledFigure("cashback_pending", "Cashback pending", pending,
                     "Cashback recorded for paid orders whose pending period has not ended yet (owed, not yet "
                     "paid).", True),
        PooledFigure("cashback_shortfall", "Cashback not recovered", shortfall,
                     "Cashback refunds should have taken back but the customer had already spent (store credit "
                     "never goes below zero).", True),
        PooledFigure("paid_members", "Paying members", int(members or 0), "Members whose paid membership runs today.",
                     False),
        PooledFigure("households", "Households", households, "Households with at least two members today.", False),
        PooledFigure("pooled_redemptions", "Redemptions paid from a household pool", pooled,
                     "Redemptions in the period that took points from more than one member of a household.", False),
    ]


def _cashback_sums(session: Session, shop: Shop, since: datetime) -> tuple[int, int, int, int]:
    paid = CashbackPayout.status == "paid"
    row = session.execute(select(
        func.coalesce(func.sum(case((paid & (CashbackPayout.kind == "credit"), CashbackPayout.paid_minor), else_=0)), 0),
        func.coalesce(func.sum(case((paid & (CashbackPayout.kind == "debit"), CashbackPayout.paid_minor), else_=0)), 0),
        func.coalesce(func.sum(case(((CashbackPayout.status == "pending") & (CashbackPayout.kind == "credit"),
                                     CashbackPayout.amount_minor), else_=0)), 0),
        func.coalesce(func.sum(CashbackPayout.shortfall_minor), 0),
    ).where(CashbackPayout.shop_id == shop.id, CashbackPayout.created_at >= since)).one()
    return tuple(int(v) for v in row)


def _household_counts(session: Session, shop: Shop, since: datetime) -> tuple[int, int]:
    sizes = select(HouseholdMember.household_id).where(HouseholdMember.shop_id == shop.id).group_by(
        HouseholdMember.household_id).having(func.count() >= 2).subquery()
    households = session.scalar(select(func.count()).select_from(sizes))
    pooled = session.scalar(select(func.count(distinct(LedgerEntry.cause_id))).where(
        LedgerEntry.shop_id == shop.id, LedgerEntry.kind == "redeem", LedgerEntry.created_at >= since,
        LedgerEntry.entry_key.like("redemption:%:debit:member:%")).group_by(LedgerEntry.shop_id))
    return int(households or 0), int(pooled or 0)
