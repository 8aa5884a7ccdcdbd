"""Settling a batch of orders with the planner (loyalty.settlement.plan_order), within the
caller's transaction: the members locked and their state read in a few statements, each
delivery's order planned in turn from what is known at that point (earlier plans of the batch
count as posted), and every planned entry written with two INSERT ... ON CONFLICT DO NOTHING.

Reading and writing are set-based; deciding is the planner's alone. What follows an entry and
is not the order's own points (the referrer's reward, the automatic action points, the tier)
runs after the batch's entries, once per order or member: within a batch a member's tier
multiplier is the tier the batch started with.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.loyalty.actions import claim_key
from app.loyalty.errors import ActionNotAllowed
from app.loyalty.ledger import EntryKind, order_earn_key
from app.loyalty.orders import EarningBases, OrderFacts, RefundFacts
from app.loyalty.program import Program
from app.loyalty.settlement import MemberState, OrderEntry, OrderPlan, ProgramInForce, plan_order
from app.models import LedgerEntry, Member, Order, ProgramVersion, Refund, Shop
from app.services import games, referrals, tiers
from app.services.ledger import entry_row, spendable_points, write_entries
from app.services.members import award_profile_actions
from app.services.memberships import paying_members
from app.services.program import current_program, program_of
from app.services.set_sql import among
from app.services.segments import campaign_audiences


class OrderBatch:
    """The state of a batch's orders and members, planned against as deliveries are taken in."""

    def __init__(self, session: Session, shop: Shop, members: dict[int, Member], rules: ProgramInForce,
                 now: datetime) -> None:
        self.session, self.shop, self.members, self.rules, self.now = session, shop, members, rules, now
        self.posted: dict[tuple[int, int], list[OrderEntry]] = {}  # (member id, order id) -> entries
        self.entry_ids: dict[str, int] = {}
        self.refunds: dict[int, dict[int, RefundFacts]] = {}  # order id -> refund id -> refund
        self.states: dict[int, MemberState] = {}
        self.order_times: dict[int, dict[int, datetime]] = {}  # member id -> paid order id -> placed
        self.plans: list[tuple[Order, OrderPlan]] = []

    @classmethod
    def load(cls, session: Session, shop: Shop, orders: dict[int, Order], customers: dict[int, Member], *,
             now: datetime) -> OrderBatch:
        """Lock the members (in id order: two batches never wait for each other in a cycle) and
        read what the planner needs for all of them at once."""
        member_ids = {o.member_id for o in orders.values() if o.member_id} | {m.id for m in customers.values()}
        version, program = current_program(session, shop)
        batch = cls(session, shop, _lock_members(session, shop, sorted(member_ids)),
                    ProgramInForce(version.id, program), now)
        if batch.members:
            batch._read_ledger(list(orders))
            batch._read_refunds(list(orders))
            batch._read_member_states()
        return batch

    def _read_ledger(self, order_ids: list[int]) -> None:
        for entry in self.session.scalars(select(LedgerEntry).where(
                LedgerEntry.shop_id == self.shop.id, among(self.session, LedgerEntry.order_id, order_ids))
                .order_by(LedgerEntry.id)):
            self.posted.setdefault((entry.member_id, entry.order_id), []).append(posted_entry(entry))
            self.entry_ids[entry.entry_key] = entry.id

    def _read_refunds(self, order_ids: list[int]) -> None:
        for refund in self.session.scalars(select(Refund).where(
                Refund.shop_id == self.shop.id, among(self.session, Refund.order_id, order_ids))):
            self.refunds.setdefault(refund.order_id, {})[refund.refund_id] = refund_facts(refund)

    def _read_member_states(self) -> None:
        ids, program, now = sorted(self.members), self.rules.program, self.now
        spendable = spendable_points(self.session, self.shop, ids, now)
        keys = {m: first_order_key(program, m, now) for m in ids}
        claimed = _existing_keys(self.session, self.shop, [k for k in keys.values() if k])
        last_streak = {}
        if program.actions.order_streak.enabled:
            self.order_times = _paid_order_times(self.session, self.shop, ids)
            last_streak = _last_streaks(self.session, self.shop, ids)
        paying = paying_members(self.session, self.shop, ids, now) if program.membership.enabled else set()
        audiences = campaign_audiences(self.session, self.shop, program, ids, now)
        self.states = {m.id: MemberState(m.id, m.blocked_at is not None, m.tier_key, spendable.get(m.id, 0),
                                         frozenset({keys[m.id]} & claimed), (), last_streak.get(m.id),
                                         paid_member=m.id in paying, audience=audiences.get(m.id))
                       for m in self.members.values()}

    def note_refunds(self, refunds: Iterable[RefundFacts]) -> None:
        """Refunds are immutable in Shopify: the first description of a refund id is kept."""
        for refund in refunds:
            self.refunds.setdefault(refund.order_id, {}).setdefault(refund.refund_id, refund)

    def plan(self, order: Order) -> None:
        """Plan the order from what the batch knows now; the plan counts as posted from here on."""
        if order.member_id is None or order.is_test:
            return  # a guest checkout has nobody to give points to; test orders never earn
        posted = self.posted.setdefault((order.member_id, order.order_id), [])
        state = self.states[order.member_id]
        if self.rules.program.actions.order_streak.enabled:
            state = replace(state, order_times=self._paid_times(order))
        plan = plan_order(settled_facts(order, self.refunds.get(order.order_id, {}).values()), state, tuple(posted),
                          self.rules, now=self.now, earned_under=self._earned_under(order, posted))
        self.states[order.member_id] = plan.member_after
        posted.extend(plan.entries)
        self.plans.append((order, plan))

    def _paid_times(self, order: Order) -> tuple[datetime, ...]:
        """When the member's paid live orders were placed, as the batch has them now."""
        times = self.order_times.setdefault(order.member_id, {})
        times.pop(order.order_id, None)
        if order.paid_at is not None and order.cancelled_at is None and order.processed_at is not None:
            times[order.order_id] = order.processed_at
        return tuple(sorted(times.values()))

    def _earned_under(self, order: Order, posted: list[OrderEntry]) -> Program | None:
        earn = next((e for e in posted if e.key == order_earn_key(order.order_id)), None)
        if earn is None or earn.program_version_id in (None, self.rules.version_id):
            return None
        return program_of(self.session.get(ProgramVersion, earn.program_version_id))

    def write(self) -> None:
        """Two INSERTs for the batch's entries, then what follows a new earn (the referrer's
        reward, the automatic action points, the tier) and a take-back (a void order's
        referral, the tier)."""
        shop_id, now = self.shop.id, self.now
        first = [entry_row(shop_id, o.member_id, e, now) for o, plan in self.plans for e in plan.earn_phase]
        take_backs = [entry_row(shop_id, o.member_id, e, now) for o, plan in self.plans for e in plan.take_backs]
        write_entries(self.session, first, take_backs, self.entry_ids)
        for order, plan in self.plans:
            if plan.refunded_merchandise_minor is not None:
                order.refunded_base_minor = plan.refunded_merchandise_minor
            if plan.earned:
                self.members[order.member_id].last_activity_at = now
                referrals.reward_referrer_for_order(self.session, self.shop, self.members[order.member_id], order,
                                                    self.rules.program, version_id=self.rules.version_id, now=now)
        for order in dict.fromkeys(o for o, plan in self.plans if plan.void):
            referrals.reverse_referral_for_void_order(self.session, self.shop, order, now=now)
        for member_id in dict.fromkeys(o.member_id for o, plan in self.plans if plan.earned):
            award_profile_actions(self.session, self.shop, self.members[member_id], now=now)
            self._refresh_tier(member_id)
        for member_id in dict.fromkeys(o.member_id for o, plan in self.plans if plan.took_back):
            self._refresh_tier(member_id, after_refund=True)
        games.follow_order_batch(self.session, self.shop, dict.fromkeys(o for o, plan in self.plans if plan.entries),
                                 self.members, self.rules.program, version_id=self.rules.version_id, now=now)

    def _refresh_tier(self, member_id: int, *, after_refund: bool = False) -> None:
        tiers.refresh_member_tier(self.session, self.shop, self.members[member_id], self.rules.program,
                                  version_id=self.rules.version_id, now=self.now, after_refund=after_refund)


def _bases(order: Order) -> EarningBases:
    merchandise, shipping, tax = (order.facts or {}).get("bases") or [order.earning_base_minor, 0, 0]
    return EarningBases(merchandise, shipping, tax)


def settled_facts(order: Order, refunds: Iterable[RefundFacts]) -> OrderFacts:
    """Everything known about an order so far (its row and its refunds), as the planner reads it."""
    product_bases = {int(k): v for k, v in ((order.facts or {}).get("product_bases") or {}).items()}
    return OrderFacts(order_id=order.order_id, name=order.name, currency=order.currency, customer_id=order.customer_id,
                      customer_email=None, customer_first_name=None, customer_last_name=None, is_test=order.is_test,
                      financial_status=order.financial_status, fulfillment_status=order.fulfillment_status,
                      paid=order.paid_at is not None, fulfilled=order.fulfilled_at is not None,
                      cancelled_at=order.cancelled_at, processed_at=order.processed_at,
                      updated_at=order.shopify_updated_at, bases=_bases(order), subtotal_minor=order.subtotal_minor,
                      total_minor=order.total_minor, product_bases=product_bases,
                      taxes_included=bool((order.facts or {}).get("taxes_included")), refunds=tuple(refunds))


def refund_facts(refund: Refund) -> RefundFacts:
    return RefundFacts(refund_id=refund.refund_id, order_id=refund.order_id, currency=refund.currency,
                       bases=EarningBases(refund.base_minor, refund.shipping_minor, refund.tax_minor),
                       refunded_at=refund.refunded_at, shipping_tax_minor=refund.shipping_tax_minor,
                       discrepancy_minor=refund.discrepancy_minor)


def posted_entry(entry: LedgerEntry) -> OrderEntry:
    return OrderEntry(key=entry.entry_key, kind=EntryKind(entry.kind), points=entry.points,
                      cause_type=entry.cause_type, cause_id=entry.cause_id or "", order_id=entry.order_id,
                      reason=entry.reason, program_version_id=entry.program_version_id, details=entry.details,
                      vests_at=entry.vests_at, expires_at=entry.expires_at, shortfall_points=entry.shortfall_points,
                      created_at=entry.created_at, reason_code=entry.reason_code,
                      reason_params=entry.reason_params)


def first_order_key(program: Program, member_id: int, now: datetime) -> str | None:
    """The first-order bonus key the planner would claim now; None when the bonus is off."""
    try:
        return claim_key(program, member_id, "first_order", at=now)
    except ActionNotAllowed:
        return None


def _lock_members(session: Session, shop: Shop, member_ids: list[int]) -> dict[int, Member]:
    """As services.ledger.lock_member, for the whole batch."""
    if not member_ids:
        return {}
    query = select(Member).where(Member.shop_id == shop.id, among(session, Member.id, member_ids)).order_by(Member.id)
    if session.get_bind().dialect.name != "sqlite":  # SQLite: the writer holds the database lock
        query = query.with_for_update(key_share=True)  # NO KEY: ledger inserts referencing it go on
    return {m.id: m for m in session.scalars(query)}


def _existing_keys(session: Session, shop: Shop, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    return set(session.scalars(select(LedgerEntry.entry_key).where(
        LedgerEntry.shop_id == shop.id, among(session, LedgerEntry.entry_key, keys))))


def _paid_order_times(session: Session, shop: Shop, member_ids: list[int]) -> dict[int, dict[int, datetime]]:
    """member id -> its paid live orders -> when they were placed (for order streaks)."""
    times: dict[int, dict[int, datetime]] = {}
    for member_id, order_id, placed in session.execute(select(Order.member_id, Order.order_id, Order.processed_at).where(
            Order.shop_id == shop.id, among(session, Order.member_id, member_ids), Order.paid_at.is_not(None),
            Order.cancelled_at.is_(None), Order.is_test.is_(False), Order.processed_at.is_not(None))):
        times.setdefault(member_id, {})[order_id] = placed
    return times


def _last_streaks(session: Session, shop: Shop, member_ids: list[int]) -> dict[int, datetime]:
    return dict(session.execute(select(LedgerEntry.member_id, func.max(LedgerEntry.created_at)).where(
        LedgerEntry.shop_id == shop.id, among(session, LedgerEntry.member_id, member_ids),
        LedgerEntry.cause_type == "streak").group_by(LedgerEntry.member_id)).all())
