"""Settling one order's ledger, as plain rules: when an order earns, how the earn entry, each
refund's take-back and the cancellation's reversal are worded, and how a take-back meets a
balance already spent.

services/orders.py (the webhook path) and services/bulk_import.py (the historical import)
write the same entries; these functions are the wording and the rules they share, so an
imported order reads exactly like one Tessera saw happen.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from app.loyalty.clawback import ClawbackSplit, limit_to_balance
from app.loyalty.money import format_money
from app.loyalty.orders import EarningBases
from app.loyalty.program import Program


def earning_trigger_met(program: Program, *, paid: bool, fulfilled: bool) -> bool:
    """Paid (the default), or paid and fulfilled when the owner earns on fulfilment."""
    if program.earning.trigger == "fulfilled":
        return paid and fulfilled
    return paid


def order_label(name: str | None, order_id: int) -> str:
    return name or str(order_id)


def earn_reason(label: str, earning_reason: str) -> str:
    return f"Order {label}: {earning_reason}"


def vests_at(program: Program, now: datetime) -> datetime | None:
    """Points of an order stay pending for the owner's pending period (e.g. the return window)."""
    days = program.earning.pending_days
    return now + timedelta(days=days) if days else None


def refund_base(bases: EarningBases, base_kind: str) -> int:
    """A refund measured on the base the order earned on (the rule may have changed since)."""
    return bases.for_rule(base_kind)


def refund_reason(label: str, refunded_minor: int, refund_currency: str, base_minor: int, order_currency: str,
                  points: int) -> str:
    return (f"Refund on order {label}: {format_money(refunded_minor, refund_currency)} of "
            f"{format_money(base_minor, order_currency)} refunded = -{points} points")


def reversal_reason(label: str, *, cancelled: bool, points: int) -> str:
    why = "cancelled" if cancelled else "refunded in full"
    return f"Order {label} {why} = -{points} points"


def is_void(*, cancelled: bool, financial_status: str | None) -> bool:
    """Cancelled or refunded in full: whatever the order still holds is taken back."""
    return cancelled or financial_status == "refunded"


def take_back_split(points: int, *, spendable: int, pending: bool, allow_negative: bool) -> ClawbackSplit:
    """Points still pending come out of the pending balance in full; vested ones are limited to
    what the member still has unless the owner allows a negative balance."""
    if pending:
        return limit_to_balance(points, points, allow_negative=True)
    return limit_to_balance(points, spendable, allow_negative=allow_negative)


def with_shortfall(reason: str, split: ClawbackSplit) -> str:
    return reason + (f"; {split.shortfall} already spent, not taken back" if split.shortfall else "")


def history_reason(label: str, processed_at: datetime | None) -> str:
    """The zero-point entry of an order imported from the shop's history without points: it
    settles the order, so a later delivery about it (a refund, a cancellation) changes nothing."""
    placed = f" of {processed_at:%Y-%m-%d}" if processed_at else ""
    return f"Order {label}{placed}: imported from the store's order history, without points"
