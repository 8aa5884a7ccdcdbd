"""Cashback: a share of an order's eligible spend paid back as Shopify store credit.

The eligible base is the one points are earned on (program.earning.base, the same parts of the
order), the credit waits for the same pending period as the order's points (it is due when the
points vest) and refunds take it back in the same proportion as points: a refund's share of
the base, rounded down, never more than what is left of the credit. Money is integer minor units
of the shop's currency throughout; rounding happens once, down, in the member's disfavour by at
most one minor unit, as with points.

Each payout (the order's credit, a refund's debit, a cancellation's reversal) has a key built
from its cause, so a delivery seen twice plans nothing new. The service pays them exactly once
(app/services/cashback.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.loyalty.clawback import refund_clawback_points, refunded_against_base, refunded_parts
from app.loyalty.money import format_money
from app.loyalty.orders import OrderFacts


class CashbackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = False
    percent: Decimal = Field(Decimal("2"), gt=0, le=50, description="percent of the eligible spend paid back")
    # with_points: cashback on top of the points; instead_of_points: the order earns no points.
    mode: Literal["with_points", "instead_of_points"] = "with_points"


def replaces_points(settings: CashbackSettings) -> bool:
    return settings.enabled and settings.mode == "instead_of_points"


def cashback_credit_key(order_id: int) -> str:
    return f"order:{order_id}:cashback"


def cashback_refund_key(refund_id: int) -> str:
    return f"refund:{refund_id}:cashback"


def cashback_reversal_key(order_id: int) -> str:
    return f"order:{order_id}:cashback-reversal"


def cashback_minor(base_minor: int, percent: Decimal) -> int:
    """The credit for an eligible base, rounded down to a whole minor unit."""
    if base_minor <= 0:
        return 0
    return int((Decimal(base_minor) * percent / 100).to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True)
class Payout:
    """One movement of store credit for an order, recorded or planned (same shape either way)."""

    key: str
    kind: Literal["credit", "debit"]
    amount_minor: int
    reason: str
    due_at: datetime | None = None
    refund_id: int | None = None
    base_minor: int | None = None  # the eligible base a credit was computed on


@dataclass(frozen=True)
class CashbackTerms:
    settings: CashbackSettings
    base_kind: str  # program.earning.base
    pending_days: int
    paid_trigger_met: bool  # the order meets the points' earning trigger
    member_blocked: bool


def plan_cashback(facts: OrderFacts, terms: CashbackTerms, recorded: tuple[Payout, ...], *,
                  now: datetime) -> list[Payout]:
    """The payouts an order's known facts call for beyond those `recorded`: its credit once it
    meets the earning trigger, a debit per refund and the reversal of what is left when it is
    cancelled or refunded in full. Planning again after recording the result plans nothing."""
    if facts.is_test:
        return []
    keys = {p.key for p in recorded}
    credit = next((p for p in recorded if p.key == cashback_credit_key(facts.order_id)), None)
    planned: list[Payout] = []
    if credit is None:
        credit = _credit(facts, terms, now)
        if credit is None:
            return []
        planned.append(credit)
    taken = sum(p.amount_minor for p in recorded if p.kind == "debit")
    label = facts.name or str(facts.order_id)
    for refund in sorted(facts.refunds, key=lambda r: r.refund_id):
        if cashback_refund_key(refund.refund_id) in keys:
            continue
        parts = refunded_parts(refund, taxes_included=facts.taxes_included, order_bases=facts.bases)
        against = refunded_against_base(parts, terms.base_kind)
        amount = refund_clawback_points(credit.amount_minor, credit.base_minor or 0, against, already_taken=taken)
        if amount > 0:
            taken += amount
            planned.append(Payout(cashback_refund_key(refund.refund_id), "debit", amount, _refund_reason(
                label, amount, facts.currency), refund_id=refund.refund_id))
    remaining = credit.amount_minor - taken
    void = facts.cancelled_at is not None or facts.financial_status == "refunded"
    if void and remaining > 0 and cashback_reversal_key(facts.order_id) not in keys:
        why = "cancelled" if facts.cancelled_at is not None else "refunded in full"
        planned.append(Payout(cashback_reversal_key(facts.order_id), "debit", remaining,
                              f"Order {label} {why}: cashback of {format_money(remaining, facts.currency)} taken back"))
    return planned


def _credit(facts: OrderFacts, terms: CashbackTerms, now: datetime) -> Payout | None:
    settings = terms.settings
    if not settings.enabled or terms.member_blocked or not terms.paid_trigger_met:
        return None
    if facts.cancelled_at is not None:
        return None  # cancelled before it ever earned: nothing to pay, nothing to take back
    base = facts.bases.for_rule(terms.base_kind)
    amount = cashback_minor(base, settings.percent)
    if amount <= 0:
        return None
    due = now + timedelta(days=terms.pending_days) if terms.pending_days else now
    label = facts.name or str(facts.order_id)
    reason = (f"Order {label}: {settings.percent.normalize()}% cashback on "
              f"{format_money(base, facts.currency)} = {format_money(amount, facts.currency)} store credit")
    return Payout(cashback_credit_key(facts.order_id), "credit", amount, reason, due_at=due, base_minor=base)


def _refund_reason(label: str, amount_minor: int, currency: str) -> str:
    return f"Refund on order {label}: cashback of {format_money(amount_minor, currency)} taken back"


@dataclass(frozen=True)
class DebitSplit:
    debit_minor: int  # what is taken from the store credit account
    shortfall_minor: int  # what the member had already spent


def limit_debit_to_balance(wanted_minor: int, balance_minor: int) -> DebitSplit:
    """Store credit never goes below zero: take at most the account's balance, record the rest."""
    debit = max(0, min(wanted_minor, balance_minor))
    return DebitSplit(debit, wanted_minor - debit)


def net_credit_minor(credit_minor: int, debits_before_payment: list[int]) -> int:
    """A credit not paid yet pays what its order's refunds have left of it."""
    return max(0, credit_minor - sum(debits_before_payment))
