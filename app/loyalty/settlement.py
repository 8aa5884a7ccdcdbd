"""Settling one order's ledger, as plain rules: when an order earns, how the earn entry, each
refund's take-back and the cancellation's reversal are worded, and how a take-back meets a
balance already spent.

services/orders.py (the webhook path) and services/bulk_import.py (the historical import)
write the same entries; these functions are the wording and the rules they share, so an
imported order reads exactly like one Tessera saw happen.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.loyalty.clawback import (ClawbackSplit, limit_to_balance, refund_clawback_points, refunded_against_base,
                                  refunded_parts)
from app.loyalty.money import format_money
from app.loyalty.orders import EarningBases, RefundFacts
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


@dataclass(frozen=True)
class EarnedOrder:
    """What an order earned, as its refunds are measured against it."""

    points: int  # the earn entry plus any order-edit differences
    base_minor: int  # the earning base those points are for
    base_kind: str  # the rule's base when the order earned (the rule may have changed since)
    order_bases: EarningBases  # the order's parts, to spread an amount-only refund over
    taxes_included: bool


@dataclass(frozen=True)
class RefundTakeBack:
    points: int
    refunded_minor: int  # the refunded money counted against the earning base (for the wording)


def refund_take_back(refund: RefundFacts, earned: EarnedOrder, *, already_taken: int) -> RefundTakeBack:
    """A refund's take-back follows the money it gave back against the earning base; together
    with the order's earlier take-backs it never exceeds what the order earned."""
    parts = refunded_parts(refund, taxes_included=earned.taxes_included, order_bases=earned.order_bases)
    against = refunded_against_base(parts, earned.base_kind)
    points = refund_clawback_points(earned.points, earned.base_minor, against, already_taken=already_taken)
    return RefundTakeBack(points, round(against))


def refund_reason(label: str, refunded_minor: int, refund_currency: str, base_minor: int, order_currency: str,
                  points: int) -> str:
    return (f"Refund on order {label}: {format_money(refunded_minor, refund_currency)} of "
            f"{format_money(base_minor, order_currency)} refunded = -{points} points")


def refunded_merchandise(refunds: Iterable[RefundFacts], *, order_bases: EarningBases, taxes_included: bool) -> int:
    """Merchandise money the refunds gave back, without tax (what tiers on amount spent subtract)."""
    return sum(round(refunded_parts(r, taxes_included=taxes_included, order_bases=order_bases)[0]) for r in refunds)


def edit_reason(label: str, old_base_minor: int, new_base_minor: int, currency: str, points: int) -> str:
    sign = "+" if points > 0 else "-"
    return (f"Order {label} edited: earning base {format_money(old_base_minor, currency)} -> "
            f"{format_money(new_base_minor, currency)} = {sign}{abs(points)} points")


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
