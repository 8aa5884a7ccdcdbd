"""Settling one order's ledger, as plain rules: when an order earns, how the earn entry, each
refund's take-back and the cancellation's reversal are worded, and how a take-back meets a
balance already spent.

plan_order is the one place that decides an order's points. services/orders.py (the webhook
path, a batch of deliveries) and services/bulk_import.py (the historical import) load the facts
and the member's state their own way, call it, and write what it plans (row by row or
set-based), so an imported order reads exactly like one Tessera saw happen.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app.loyalty.actions import action_reason, action_rule, claim_key
from app.loyalty.cashback import replaces_points
from app.loyalty.clawback import (ClawbackSplit, limit_to_balance, refund_clawback_points, refunded_against_base,
                                  refunded_parts)
from app.loyalty.earning import points_for_order
from app.loyalty.errors import ActionNotAllowed
from app.loyalty.expiry import lot_expiry
from app.loyalty.ledger import (EntryKind, order_earn_key, order_edit_key, order_reversal_key, order_streak_key,
                                refund_clawback_key)
from app.loyalty.money import format_money
from app.loyalty.orders import EarningBases, OrderFacts, RefundFacts
from app.loyalty.program import Program
from app.loyalty.wording import Reason, reason, reason_fields
from app.loyalty.segments import MemberAudience


def earning_trigger_met(program: Program, *, paid: bool, fulfilled: bool) -> bool:
    """Paid (the default), or paid and fulfilled when the owner earns on fulfilment."""
    if program.earning.trigger == "fulfilled":
        return paid and fulfilled
    return paid


def order_label(name: str | None, order_id: int) -> str:
    return name or str(order_id)


def earn_reason(label: str, earning_reason: Reason) -> Reason:
    return reason("order.earned", order=label, earning=earning_reason)


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
                  points: int) -> Reason:
    return reason("order.refund", order=label, refunded=format_money(refunded_minor, refund_currency),
                  base=format_money(base_minor, order_currency), points=points)


def refunded_merchandise(refunds: Iterable[RefundFacts], *, order_bases: EarningBases, taxes_included: bool) -> int:
    """Merchandise money the refunds gave back, without tax (what tiers on amount spent subtract)."""
    return sum(round(refunded_parts(r, taxes_included=taxes_included, order_bases=order_bases)[0]) for r in refunds)


def edit_reason(label: str, old_base_minor: int, new_base_minor: int, currency: str, points: int) -> Reason:
    return reason("order.edit_more" if points > 0 else "order.edit_less", order=label,
                  old_base=format_money(old_base_minor, currency), new_base=format_money(new_base_minor, currency),
                  points=abs(points))


def reversal_reason(label: str, *, cancelled: bool, points: int) -> Reason:
    return reason("order.cancelled" if cancelled else "order.refunded_in_full", order=label, points=points)


def is_void(*, cancelled: bool, financial_status: str | None) -> bool:
    """Cancelled or refunded in full: whatever the order still holds is taken back."""
    return cancelled or financial_status == "refunded"


def take_back_split(points: int, *, spendable: int, pending: bool, allow_negative: bool) -> ClawbackSplit:
    """Points still pending come out of the pending balance in full; vested ones are limited to
    what the member still has unless the owner allows a negative balance."""
    if pending:
        return limit_to_balance(points, points, allow_negative=True)
    return limit_to_balance(points, spendable, allow_negative=allow_negative)


def with_shortfall(taken: Reason, split: ClawbackSplit) -> Reason:
    return reason("shortfall.not_taken", taken=taken, shortfall=split.shortfall) if split.shortfall else taken


def history_reason(label: str, processed_at: datetime | None) -> Reason:
    """The zero-point entry of an order imported from the shop's history without points: it
    settles the order, so a later delivery about it (a refund, a cancellation) changes nothing."""
    if processed_at:
        return reason("order.history_dated", order=label, placed_on=f"{processed_at:%Y-%m-%d}")
    return reason("order.history", order=label)


# ---- the planner: every decision about an order's points, in one place ------------------------

@dataclass(frozen=True)
class OrderEntry:
    """A ledger entry of an order, already posted or planned (same shape either way)."""

    key: str
    kind: EntryKind
    points: int
    cause_type: str  # order, action, streak, order_edit, refund
    cause_id: str
    order_id: int
    reason: str  # the English sentence, kept as the fallback of reason_code + reason_params
    program_version_id: int | None = None
    details: dict | None = None
    vests_at: datetime | None = None
    expires_at: datetime | None = None
    shortfall_points: int = 0
    reverses_key: str | None = None  # the earn entry a take-back corrects
    created_at: datetime | None = None
    reason_code: str | None = None
    reason_params: dict | None = None

    @property
    def asked_points(self) -> int:
        """The points the entry meant to move, counting what a take-back could not take."""
        return self.points - self.shortfall_points

    def vested(self, at: datetime) -> bool:
        return self.vests_at is None or self.vests_at <= at


@dataclass(frozen=True)
class MemberState:
    """What the planner needs to know about the member an order belongs to."""

    member_id: int
    blocked: bool
    tier_key: str | None
    spendable_points: int  # limits take-backs unless negative balances are allowed
    claimed_keys: frozenset[str] = frozenset()  # first-order bonus keys already in the ledger
    # processed_at of the member's paid live orders (this one included), and the last streak
    # bonus; None for history, which is not a campaign and earns no streaks
    order_times: tuple[datetime, ...] | None = None
    last_streak_at: datetime | None = None
    paid_member: bool = False  # a paid membership runs (its points multiplier applies)
    # Stage and segments before this batch, for campaigns aimed at an audience; None: unknown,
    # so only campaigns for everyone apply.
    audience: MemberAudience | None = None


@dataclass(frozen=True)
class ProgramInForce:
    version_id: int
    program: Program


@dataclass(frozen=True)
class OrderPlan:
    entries: tuple[OrderEntry, ...] = ()
    refunded_merchandise_minor: int | None = None  # set once the order has an earn entry
    earned: bool = False  # the earn entry is planned now (the member's first points for it)
    took_back: bool = False  # an edit, refund or reversal changed the order's points
    void: bool = False
    member_after: MemberState | None = None  # the member once these entries are posted
    order_id: int | None = None

    @property
    def earn_phase(self) -> tuple[OrderEntry, ...]:
        return tuple(e for e in self.entries if e.reverses_key is None)

    @property
    def take_backs(self) -> tuple[OrderEntry, ...]:
        return tuple(e for e in self.entries if e.reverses_key is not None)


def plan_order(facts: OrderFacts, member: MemberState, posted: tuple[OrderEntry, ...], rules: ProgramInForce, *,
               now: datetime, earned_under: Program | None = None) -> OrderPlan:
    """The entries an order's known facts call for, given what the ledger already holds for it
    (`posted`: the member's entries carrying this order id, oldest first): the earn entry when
    the trigger is met, the first-order and streak bonuses, an order edit's difference, each
    refund's take-back and the reversal of a cancelled or fully refunded order. Planning again
    after posting the result plans nothing. `earned_under` is the program the earn entry was
    computed by, when that was an earlier version (an edit is priced by the same rules)."""
    if facts.is_test:
        return OrderPlan(member_after=member, order_id=facts.order_id)  # test orders never earn
    return _OrderPlanner(facts, member, posted, rules, now).plan(earned_under)


class _OrderPlanner:
    def __init__(self, facts: OrderFacts, member: MemberState, posted: tuple[OrderEntry, ...],
                 rules: ProgramInForce, now: datetime) -> None:
        self.facts, self.member, self.posted, self.rules, self.now = facts, member, posted, rules, now
        self.program = rules.program
        self.label = order_label(facts.name, facts.order_id)
        self.keys = {e.key for e in posted}
        self.planned: list[OrderEntry] = []
        self.spendable = member.spendable_points

    def plan(self, earned_under: Program | None) -> OrderPlan:
        earn = next((e for e in self.posted if e.key == order_earn_key(self.facts.order_id)), None)
        earned_now = False
        if earn is None and not self.member.blocked and self._trigger_met():
            earn = self._earn()
            earned_now = earn is not None
        if earn is None:
            return OrderPlan(member_after=self.member, order_id=self.facts.order_id)
        if earned_now:
            self._first_order_bonus()
            self._streak_bonus()
        void = is_void(cancelled=self.facts.cancelled_at is not None, financial_status=self.facts.financial_status)
        if not void:
            self._edit_difference(earn, earned_under or self.program)
        self._refund_take_backs(earn)
        if void:
            self._reversal(earn)
        took_back = any(e.reverses_key is not None or e.cause_type == "order_edit" for e in self.planned)
        refunded = refunded_merchandise(self.facts.refunds, order_bases=self.facts.bases,
                                        taxes_included=self.facts.taxes_included)
        return OrderPlan(tuple(self.planned), refunded, earned_now, took_back, void, self._member_after(),
                         self.facts.order_id)

    def _trigger_met(self) -> bool:
        return earning_trigger_met(self.program, paid=self.facts.paid, fulfilled=self.facts.fulfilled)

    def _add(self, entry: OrderEntry) -> OrderEntry | None:
        """As the ledger does: a key already there, or an entry moving nothing, is not posted."""
        if entry.key in self.keys or (entry.points == 0 and not entry.shortfall_points):
            return None
        self.keys.add(entry.key)
        self.planned.append(entry)
        if entry.vested(self.now):
            self.spendable += entry.points
        return entry

    def _entry(self, key: str, kind: EntryKind, points: int, cause_type: str, why: Reason, **extra) -> OrderEntry:
        cause_id = extra.pop("cause_id", str(self.facts.order_id))
        return OrderEntry(key=key, kind=kind, points=points, cause_type=cause_type, cause_id=cause_id,
                          order_id=self.facts.order_id, created_at=self.now, **reason_fields(why), **extra)

    def _earn(self) -> OrderEntry | None:
        program, now = self.program, self.now
        if replaces_points(program.cashback):
            return None  # the owner pays this order in store credit instead (services/cashback.py)
        earning = points_for_order(program, self.facts, tier=program.tier(self.member.tier_key),
                                   at=self.facts.processed_at or now, paid_member=self.member.paid_member,
                                   audience=self.member.audience)
        pending_until = vests_at(program, now)
        return self._add(self._entry(
            order_earn_key(self.facts.order_id), EntryKind.EARN, earning.points, "order",
            earn_reason(self.label, earning.reason), program_version_id=self.rules.version_id,
            details=earning.details, vests_at=pending_until, expires_at=lot_expiry(program.expiry, pending_until or now)))

    def _first_order_bonus(self) -> None:
        """Carries the order id, so cancelling the order reverses it with the order's points."""
        rule = action_rule(self.program, "first_order")
        try:
            key = claim_key(self.program, self.member.member_id, "first_order", at=self.now)
        except ActionNotAllowed:
            return  # off, or a limit the order cannot satisfy
        if key in self.member.claimed_keys:
            return
        self._add(self._entry(key, EntryKind.EARN, rule.points, "action", action_reason("first_order", rule.points,
                                                                                        self.facts.name),
                              cause_id="first_order", program_version_id=self.rules.version_id,
                              expires_at=lot_expiry(self.program.expiry, self.now)))

    def _streak_bonus(self) -> None:
        streak, placed = self.program.actions.order_streak, self.facts.processed_at
        if not streak.enabled or placed is None or self.member.order_times is None:
            return
        window = [t for t in self.member.order_times if placed - timedelta(days=streak.days) < t <= placed]
        last = self.member.last_streak_at
        if len(window) >= streak.orders and (last is None or last <= self.now - timedelta(days=streak.days)):
            self._add(self._entry(order_streak_key(self.facts.order_id), EntryKind.EARN, streak.points, "streak",
                                  reason("order.streak", orders=streak.orders, days=streak.days,
                                         points=streak.points),
                                  program_version_id=self.rules.version_id))

    def _entries_of(self, cause_type: str) -> list[OrderEntry]:
        return [e for e in (*self.posted, *self.planned) if e.cause_type == cause_type]

    def _earned(self, earn: OrderEntry) -> EarnedOrder:
        edits = self._entries_of("order_edit")
        base = (edits[-1].details if edits else earn.details) or {}
        return EarnedOrder(points=earn.points + sum(e.asked_points for e in edits),
                           base_minor=base.get("base_minor") or 0,
                           base_kind=(earn.details or {}).get("base_kind", "subtotal"), order_bases=self.facts.bases,
                           taxes_included=self.facts.taxes_included)

    def _edit_difference(self, earn: OrderEntry, earned_under: Program) -> None:
        """An order edit moved the earning base since the order earned: the points follow, priced
        by the rules and tier the order earned under, once per edited state of the order."""
        if earn.kind != EntryKind.EARN or "base_minor" not in (earn.details or {}) or earn.program_version_id is None:
            return  # settled without points (imported history): an edit earns nothing either
        earned = self._earned(earn)
        base = self.facts.bases.for_rule(earned.base_kind)
        if base == earned.base_minor:
            return
        target = points_for_order(earned_under, self.facts, tier=earned_under.tier((earn.details or {}).get("tier")),
                                  at=self.facts.processed_at or earn.created_at or self.now)
        delta = target.points - earned.points
        if delta == 0 or (delta > 0 and self.member.blocked):
            return  # a blocked member earns nothing more, as on a new order
        key = order_edit_key(self.facts.order_id, self.facts.updated_at, base)
        why = edit_reason(self.label, earned.base_minor, base, self.facts.currency, delta)
        details = {"base_minor": base, "base_kind": earned.base_kind}
        if delta < 0:
            self._take_back(earn, key, -delta, why, "order_edit", details=details)
        else:
            self._add(self._entry(key, EntryKind.EARN, delta, "order_edit", why, details=details,
                                  vests_at=earn.vests_at, expires_at=earn.expires_at,
                                  program_version_id=earn.program_version_id))

    def _refund_take_backs(self, earn: OrderEntry) -> None:
        earned = self._earned(earn)
        taken = -sum(e.asked_points for e in self._entries_of("refund"))
        for refund in sorted(self.facts.refunds, key=lambda r: r.refund_id):
            key = refund_clawback_key(refund.refund_id)
            if key in self.keys:
                continue
            take_back = refund_take_back(refund, earned, already_taken=taken)
            why = refund_reason(self.label, take_back.refunded_minor, refund.currency, earned.base_minor,
                                self.facts.currency, take_back.points)
            if self._take_back(earn, key, take_back.points, why, "refund", cause_id=str(refund.refund_id)):
                taken += take_back.points

    def _reversal(self, earn: OrderEntry) -> None:
        remaining = sum(e.points for e in (*self.posted, *self.planned))
        if remaining > 0:
            why = reversal_reason(self.label, cancelled=self.facts.cancelled_at is not None, points=remaining)
            self._take_back(earn, order_reversal_key(self.facts.order_id), remaining, why, "order")

    def _take_back(self, earn: OrderEntry, key: str, points: int, why: Reason, cause_type: str,
                   **extra) -> OrderEntry | None:
        """Points still pending come out of the pending balance; vested ones are limited by what
        the member still has unless the owner allows a negative balance."""
        pending = not earn.vested(self.now)
        split = take_back_split(points, spendable=0 if pending else self.spendable, pending=pending,
                                allow_negative=self.program.clawback.allow_negative_balance)
        return self._add(self._entry(key, EntryKind.CLAWBACK, -split.taken, cause_type, with_shortfall(why, split),
                                     shortfall_points=split.shortfall, vests_at=earn.vests_at if pending else None,
                                     reverses_key=earn.key, **extra))

    def _member_after(self) -> MemberState:
        """The member as the next order of the same batch sees it."""
        claimed = self.member.claimed_keys | {e.key for e in self.planned if e.cause_type == "action"}
        streaks = [e.created_at for e in self.planned if e.cause_type == "streak"]
        return replace(self.member, spendable_points=self.spendable, claimed_keys=frozenset(claimed),
                       last_streak_at=streaks[-1] if streaks else self.member.last_streak_at)


def plan_history_order(facts: OrderFacts, member_id: int, rules: ProgramInForce) -> OrderPlan:
    """An order imported without points: a zero-point entry under its earn key settles it (see
    history_reason), so a later refund or cancellation takes nothing back."""
    entry = OrderEntry(key=order_earn_key(facts.order_id), kind=EntryKind.IMPORT, points=0, cause_type="order",
                       cause_id=str(facts.order_id), order_id=facts.order_id,
                       program_version_id=rules.version_id,
                       **reason_fields(history_reason(order_label(facts.name, facts.order_id), facts.processed_at)))
    refunded = refunded_merchandise(facts.refunds, order_bases=facts.bases, taxes_included=facts.taxes_included)
    return OrderPlan((entry,), refunded, order_id=facts.order_id)
