"""Orders and refunds -> points. Used by webhooks and by reconciliation alike.

Deliveries arrive in any order and more than once, so each event only adds *facts* (the order
is paid, was cancelled, this refund exists) and then the order's ledger is settled from all
facts known so far. Facts only ever accumulate and every entry's key comes from its cause:
  order:{id}:earn         points for the order, computed once when the trigger is met
  refund:{id}:clawback    the refund's share of the earning base (refunds embedded in order
                          payloads count too, so a cancel that arrives first brings them)
  order:{id}:reversal     what is left when the order is cancelled or fully refunded
  order:{id}:edit:{updated_at}  the difference an order edit made to the points, once the
                          newest payload's base differs from the one the order earned on
Whatever the delivery order, the same facts give the same ledger. Which entries an order
calls for is decided by loyalty.settlement.plan_order alone (the import uses it too); this
module loads facts and state for a batch of deliveries, set-based, and writes what it plans
(apply_orders; apply_order and apply_refund are batches of one). Within a batch a member's tier
multiplier is the tier at the start of the batch: tiers move after the batch's entries.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.loyalty.actions import claim_key
from app.loyalty.errors import ActionNotAllowed, InvalidInput
from app.loyalty.ledger import EntryKind, order_earn_key
from app.loyalty.orders import EarningBases, OrderFacts, RefundFacts, parse_order, parse_refund
from app.loyalty.program import Program
from app.loyalty.settlement import MemberState, OrderEntry, OrderPlan, ProgramInForce, plan_order
from app.models import LedgerEntry, Member, Order, ProgramVersion, Redemption, Refund, Shop
from app.services import referrals, tiers
from app.services.inbox import UnprocessableEvent
from app.services.ledger import entry_row, spendable_points, write_entries
from app.services.members import award_profile_actions, get_or_create_member
from app.services.program import current_program, program_of
from app.services.set_sql import among, insert_rows
from app.upsert import insert_ignoring_conflicts

if TYPE_CHECKING:
    from app.services.inbox import HandlerContext

_INSERT_ORDER = insert_ignoring_conflicts(Order.__table__, ("shop_id", "order_id"))
_EMPTY_ORDER = {c.name: None for c in Order.__table__.columns if not c.primary_key} | {
    "total_minor": 0, "subtotal_minor": 0, "earning_base_minor": 0, "refunded_base_minor": 0, "discount_codes": [],
    "is_test": False}


def handle_order_webhook(ctx: "HandlerContext") -> None:
    try:
        facts = parse_order(ctx.payload, topic=ctx.topic)
    except InvalidInput as exc:
        raise UnprocessableEvent(str(exc)) from exc
    apply_order(ctx.session, ctx.shop, facts, now=ctx.now)


def handle_refund_webhook(ctx: "HandlerContext") -> None:
    try:
        refund = parse_refund(ctx.payload)
    except InvalidInput as exc:
        raise UnprocessableEvent(str(exc)) from exc
    apply_refund(ctx.session, ctx.shop, refund, now=ctx.now)


def find_order(session: Session, shop: Shop, order_id: int) -> Order | None:
    return session.scalar(select(Order).where(Order.shop_id == shop.id, Order.order_id == order_id))


def _members_for(session: Session, shop: Shop, orders: list[OrderFacts], now: datetime) -> dict[int, Member]:
    """customer id -> member, read in one statement and created where missing. Guest checkouts
    without a customer record have nobody to give points to."""
    customer_ids = list(dict.fromkeys(f.customer_id for f in orders if f.customer_id is not None))
    members = {m.customer_id: m for m in session.scalars(select(Member).where(
        Member.shop_id == shop.id, among(session, Member.customer_id, customer_ids)))} if customer_ids else {}
    for customer_id in customer_ids:
        if customer_id not in members:
            members[customer_id] = get_or_create_member(session, shop, customer_id, now=now)
    for facts in orders:
        if facts.customer_id is not None:
            _fill_profile(members[facts.customer_id], facts)
    return members


def _fill_profile(member: Member, facts: OrderFacts) -> None:
    """A member gets only what it lacks (a redacted member gets nothing back)."""
    if member.redacted_at is None:
        member.email = member.email or facts.customer_email
        member.first_name = member.first_name or facts.customer_first_name
        member.last_name = member.last_name or facts.customer_last_name
        if facts.accepts_marketing and not member.accepts_marketing:
            member.accepts_marketing = True


def _record_orders(session: Session, shop: Shop, facts: list[OrderFacts], members: dict[int, Member],
                   now: datetime) -> dict[int, Order]:
    """order id -> its row with the batch's facts merged in delivery order (one INSERT of the
    orders not known yet, one SELECT)."""
    first = {f.order_id: f for f in reversed(facts)}
    insert_rows(session, Order.__table__, [_empty_order(shop, f, now) for f in first.values()],
                conflict=("shop_id", "order_id"))
    orders = _known_orders(session, shop, list(first))
    for f in facts:
        merge_order_facts(orders[f.order_id], f, members.get(f.customer_id), now)
    return orders


def _known_orders(session: Session, shop: Shop, order_ids: list[int]) -> dict[int, Order]:
    if not order_ids:
        return {}
    return {o.order_id: o for o in session.scalars(select(Order).where(
        Order.shop_id == shop.id, among(session, Order.order_id, order_ids)))}


def record_order(session: Session, shop: Shop, facts: OrderFacts, member: Member | None, now: datetime) -> Order:
    session.execute(_INSERT_ORDER, _empty_order(shop, facts, now))
    order = find_order(session, shop, facts.order_id)
    merge_order_facts(order, facts, member, now)
    return order


def _empty_order(shop: Shop, facts: OrderFacts, now: datetime) -> dict:
    return {**_EMPTY_ORDER, "shop_id": shop.id, "order_id": facts.order_id, "currency": facts.currency,
            "created_at": now, "updated_at": now}


def merge_order_facts(order: Order, facts: OrderFacts, member: Member | None, now: datetime) -> None:
    """State fields follow the newest payload (`updated_at`); facts that only ever become true
    (paid, fulfilled, cancelled) are kept from whichever payload showed them."""
    newer = order.shopify_updated_at is None or (facts.updated_at is not None
                                                 and facts.updated_at >= order.shopify_updated_at)
    if newer:  # an order edit changes amounts: a stale payload must not bring the old ones back
        order.shopify_updated_at = facts.updated_at
        order.financial_status, order.fulfillment_status = facts.financial_status, facts.fulfillment_status
        order.discount_codes = list(facts.discount_codes)
        order.subtotal_minor, order.total_minor = facts.subtotal_minor, facts.total_minor
        order.earning_base_minor = facts.bases.merchandise_minor
        order.facts = facts.to_json()
    order.name = order.name or facts.name
    order.currency = facts.currency
    order.customer_id = order.customer_id or facts.customer_id
    order.member_id = order.member_id or (member.id if member else None)
    order.is_test = facts.is_test
    order.processed_at = order.processed_at or facts.processed_at
    order.referral_code = order.referral_code or facts.referral_code
    if facts.paid and order.paid_at is None:
        order.paid_at = now
    if facts.fulfilled and order.fulfilled_at is None:
        order.fulfilled_at = now
    if facts.cancelled_at and order.cancelled_at is None:
        order.cancelled_at = facts.cancelled_at
    if facts.fully_refunded:
        order.financial_status = "refunded"  # terminal, whatever a stale payload says later


def refund_row(shop: Shop, refund: RefundFacts, now: datetime) -> dict:
    return dict(shop_id=shop.id, refund_id=refund.refund_id, order_id=refund.order_id,
                base_minor=refund.bases.merchandise_minor, shipping_minor=refund.bases.shipping_minor,
                tax_minor=refund.bases.tax_minor, shipping_tax_minor=refund.shipping_tax_minor,
                discrepancy_minor=refund.discrepancy_minor, currency=refund.currency, refunded_at=refund.refunded_at,
                created_at=now)


def record_refunds(session: Session, shop: Shop, refunds: list[RefundFacts], now: datetime) -> None:
    """Refunds are immutable in Shopify: the first description of a refund id is kept."""
    insert_rows(session, Refund.__table__, [refund_row(shop, r, now) for r in refunds],
                conflict=("shop_id", "refund_id"))


def apply_order(session: Session, shop: Shop, facts: OrderFacts, *, now: datetime) -> Order:
    return apply_orders(session, shop, [facts], now=now)[facts.order_id]


def apply_refund(session: Session, shop: Shop, refund: RefundFacts, *, now: datetime) -> None:
    apply_orders(session, shop, [refund], now=now)


def apply_orders(session: Session, shop: Shop, events: Sequence[OrderFacts | RefundFacts], *,
                 now: datetime) -> dict[int, Order]:
    """Settle a batch of deliveries (orders and refunds, in the order they arrived) within the
    caller's transaction: facts recorded for the whole batch, every touched order planned once
    from all it knows, the entries written set-based. Returns the orders the batch touched.
    A refund for an order not seen yet is only recorded: the order settles it when it arrives."""
    order_facts = [e for e in events if isinstance(e, OrderFacts)]
    members = _members_for(session, shop, order_facts, now)
    orders = _record_orders(session, shop, order_facts, members, now)
    refunds = [r for f in order_facts for r in f.refunds] + [e for e in events if isinstance(e, RefundFacts)]
    record_refunds(session, shop, refunds, now)
    orders.update(_known_orders(session, shop, [r.order_id for r in refunds if r.order_id not in orders]))
    settle_orders(session, shop, list(orders.values()), now=now)
    _note_reward_codes(session, shop, [orders[i] for i in dict.fromkeys(f.order_id for f in order_facts)], members,
                       now)
    return orders


def _note_reward_codes(session: Session, shop: Shop, orders: list[Order], members: dict[int, Member],
                       now: datetime) -> None:
    """Tessera reward codes seen in the orders are used; one SELECT finds which of the batch's
    discount codes are Tessera's (most are the shop's own)."""
    from app.services import redemptions
    codes = {c.upper() for o in orders for c in o.discount_codes or []}
    rewards = set(session.scalars(select(Redemption.code).where(
        Redemption.shop_id == shop.id, among(session, Redemption.code, codes)))) if codes else set()
    for order in orders:
        if rewards.intersection(c.upper() for c in order.discount_codes or []):
            redemptions.note_codes_on_order(session, shop, order, members.get(order.customer_id), now=now)


def _bases(order: Order) -> EarningBases:
    merchandise, shipping, tax = (order.facts or {}).get("bases") or [order.earning_base_minor, 0, 0]
    return EarningBases(merchandise, shipping, tax)


def settled_facts(order: Order, refunds: list[Refund]) -> OrderFacts:
    """Everything known about an order so far (its row and its refunds), as the planner reads it."""
    product_bases = {int(k): v for k, v in ((order.facts or {}).get("product_bases") or {}).items()}
    return OrderFacts(order_id=order.order_id, name=order.name, currency=order.currency, customer_id=order.customer_id,
                      customer_email=None, customer_first_name=None, customer_last_name=None, is_test=order.is_test,
                      financial_status=order.financial_status, fulfillment_status=order.fulfillment_status,
                      paid=order.paid_at is not None, fulfilled=order.fulfilled_at is not None,
                      cancelled_at=order.cancelled_at, processed_at=order.processed_at,
                      updated_at=order.shopify_updated_at, bases=_bases(order), subtotal_minor=order.subtotal_minor,
                      total_minor=order.total_minor, product_bases=product_bases,
                      taxes_included=bool((order.facts or {}).get("taxes_included")),
                      refunds=tuple(refund_facts(r) for r in refunds))


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
                      created_at=entry.created_at)


def settle_orders(session: Session, shop: Shop, orders: list[Order], *, now: datetime) -> None:
    """Plan every order of members from everything known about it and post the entries:
    the state of all their members read in a few statements, the entries in two INSERTs."""
    orders = [o for o in orders if o.member_id is not None and not o.is_test]  # test orders never earn
    if not orders:
        return
    members = _lock_members(session, shop, sorted({o.member_id for o in orders}))
    version, program = current_program(session, shop)
    rules = ProgramInForce(version.id, program)
    posted = _posted_entries(session, shop, orders)
    refunds = _refunds_of(session, shop, orders)
    states = _member_states(session, shop, members, orders, posted, rules, now)
    plans = []
    for order in orders:
        entries = posted.get((order.member_id, order.order_id), [])
        plan = plan_order(settled_facts(order, refunds.get(order.order_id, [])), states[order.member_id],
                          tuple(posted_entry(e) for e in entries), rules, now=now,
                          earned_under=_earned_under(session, entries, order, rules))
        states[order.member_id] = plan.member_after
        plans.append((order, plan))
    ids = {e.entry_key: e.id for entries in posted.values() for e in entries}
    write_order_plans(session, shop, members, plans, ids, rules, now=now)


def _lock_members(session: Session, shop: Shop, member_ids: list[int]) -> dict[int, Member]:
    """As lock_member, for the whole batch in id order (two batches never wait in a cycle)."""
    query = select(Member).where(Member.shop_id == shop.id, among(session, Member.id, member_ids)).order_by(Member.id)
    if session.get_bind().dialect.name != "sqlite":  # SQLite: the writer holds the database lock
        query = query.with_for_update(key_share=True)
    return {m.id: m for m in session.scalars(query)}


def _posted_entries(session: Session, shop: Shop, orders: list[Order]) -> dict[tuple[int, int], list[LedgerEntry]]:
    """(member id, order id) -> the member's entries carrying the order id, oldest first."""
    entries: dict[tuple[int, int], list[LedgerEntry]] = {}
    for entry in session.scalars(select(LedgerEntry).where(
            LedgerEntry.shop_id == shop.id, among(session, LedgerEntry.order_id, {o.order_id for o in orders}))
            .order_by(LedgerEntry.id)):
        entries.setdefault((entry.member_id, entry.order_id), []).append(entry)
    return entries


def _refunds_of(session: Session, shop: Shop, orders: list[Order]) -> dict[int, list[Refund]]:
    refunds: dict[int, list[Refund]] = {}
    for refund in session.scalars(select(Refund).where(
            Refund.shop_id == shop.id, among(session, Refund.order_id, {o.order_id for o in orders}))
            .order_by(Refund.refund_id)):
        refunds.setdefault(refund.order_id, []).append(refund)
    return refunds


def _member_states(session: Session, shop: Shop, members: dict[int, Member], orders: list[Order],
                   posted: dict[tuple[int, int], list[LedgerEntry]], rules: ProgramInForce,
                   now: datetime) -> dict[int, MemberState]:
    """The members as the planner sees them; what only a new earn needs is read only for the
    members with an order still to earn."""
    earning = sorted({o.member_id for o in orders if not any(
        e.entry_key == order_earn_key(o.order_id) for e in posted.get((o.member_id, o.order_id), []))})
    spendable = spendable_points(session, shop, list(members), now)
    keys = {m: first_order_key(rules.program, m, now) for m in earning}
    claimed = _existing_keys(session, shop, [k for k in keys.values() if k])
    streaks = rules.program.actions.order_streak.enabled and earning
    times = _paid_order_times(session, shop, earning) if streaks else {}
    last_streak = _last_streaks(session, shop, earning) if streaks else {}
    return {m.id: MemberState(m.id, m.blocked_at is not None, m.tier_key, spendable.get(m.id, 0),
                              frozenset({keys[m.id]} & claimed) if m.id in keys else frozenset(),
                              tuple(times.get(m.id, ())), last_streak.get(m.id)) for m in members.values()}


def _existing_keys(session: Session, shop: Shop, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    return set(session.scalars(select(LedgerEntry.entry_key).where(
        LedgerEntry.shop_id == shop.id, among(session, LedgerEntry.entry_key, keys))))


def first_order_key(program: Program, member_id: int, now: datetime) -> str | None:
    """The first-order bonus key the planner would claim now; None when the bonus is off."""
    try:
        return claim_key(program, member_id, "first_order", at=now)
    except ActionNotAllowed:
        return None


def _earned_under(session: Session, posted: list[LedgerEntry], order: Order, rules: ProgramInForce) -> Program | None:
    earn = next((e for e in posted if e.entry_key == order_earn_key(order.order_id)), None)
    if earn is None or earn.program_version_id in (None, rules.version_id):
        return None
    return program_of(session.get(ProgramVersion, earn.program_version_id))


def _paid_order_times(session: Session, shop: Shop, member_ids: list[int]) -> dict[int, list[datetime]]:
    """member id -> when its paid live orders were placed, oldest first (for order streaks)."""
    times: dict[int, list[datetime]] = {}
    for member_id, placed in session.execute(select(Order.member_id, Order.processed_at).where(
            Order.shop_id == shop.id, among(session, Order.member_id, member_ids), Order.paid_at.is_not(None),
            Order.cancelled_at.is_(None), Order.is_test.is_(False), Order.processed_at.is_not(None))
            .order_by(Order.processed_at)):
        times.setdefault(member_id, []).append(placed)
    return times


def _last_streaks(session: Session, shop: Shop, member_ids: list[int]) -> dict[int, datetime]:
    return dict(session.execute(select(LedgerEntry.member_id, func.max(LedgerEntry.created_at)).where(
        LedgerEntry.shop_id == shop.id, among(session, LedgerEntry.member_id, member_ids),
        LedgerEntry.cause_type == "streak").group_by(LedgerEntry.member_id)).all())


def write_order_plans(session: Session, shop: Shop, members: dict[int, Member], plans: list[tuple[Order, OrderPlan]],
                      entry_ids: dict[str, int], rules: ProgramInForce, *, now: datetime) -> None:
    """Two INSERTs for the batch's entries, then what follows a new earn (the referrer's reward,
    the automatic action points, the tier) and a take-back (a void order's referral, the tier)."""
    first = [entry_row(shop.id, o.member_id, e, now) for o, plan in plans for e in plan.earn_phase]
    take_backs = [entry_row(shop.id, o.member_id, e, now) for o, plan in plans for e in plan.take_backs]
    write_entries(session, first, take_backs, entry_ids)
    version_id, program = rules.version_id, rules.program
    for order, plan in plans:
        if plan.refunded_merchandise_minor is not None:
            order.refunded_base_minor = plan.refunded_merchandise_minor
        if plan.earned:
            members[order.member_id].last_activity_at = now
            referrals.reward_referrer_for_order(session, shop, members[order.member_id], order, program,
                                                version_id=version_id, now=now)
        if plan.void:
            referrals.reverse_referral_for_void_order(session, shop, order, now=now)
    for member_id in dict.fromkeys(o.member_id for o, plan in plans if plan.earned):
        award_profile_actions(session, shop, members[member_id], now=now)
        tiers.refresh_member_tier(session, shop, members[member_id], program, version_id=version_id, now=now)
    for member_id in dict.fromkeys(o.member_id for o, plan in plans if plan.took_back):
        tiers.refresh_member_tier(session, shop, members[member_id], program, version_id=version_id, now=now,
                                  after_refund=True)
