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
Whatever the delivery order, the same facts give the same ledger.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.loyalty.earning import points_for_order
from app.loyalty.errors import InvalidInput
from app.loyalty.expiry import lot_expiry
from app.loyalty.ledger import EntryKind, order_earn_key, order_edit_key, order_reversal_key, refund_clawback_key
from app.loyalty.orders import EarningBases, OrderFacts, RefundFacts, parse_order, parse_refund
from app.loyalty.program import Program
from app.loyalty.settlement import (EarnedOrder, earn_reason, earning_trigger_met, edit_reason, is_void, order_label,
                                    refund_reason, refund_take_back, refunded_merchandise, reversal_reason,
                                    take_back_split, vests_at, with_shortfall)
from app.models import LedgerEntry, Member, Order, ProgramVersion, Refund, Shop
from app.services import actions, referrals, tiers
from app.services.inbox import UnprocessableEvent
from app.services.ledger import NewEntry, balance_of, entry_by_key, lock_member, order_net_points, post_entry
from app.services.members import award_profile_actions, get_or_create_member
from app.services.program import current_program, program_of
from app.upsert import insert_ignoring_conflicts

if TYPE_CHECKING:
    from app.services.inbox import HandlerContext

def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


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


def _member_for(session: Session, shop: Shop, facts: OrderFacts, now: datetime) -> Member | None:
    if facts.customer_id is None:
        return None  # guest checkout without a customer record: nobody to give points to
    member = get_or_create_member(session, shop, facts.customer_id, now=now)
    if member.redacted_at is None:
        member.email = member.email or facts.customer_email
        member.first_name = member.first_name or facts.customer_first_name
        member.last_name = member.last_name or facts.customer_last_name
        if facts.accepts_marketing and not member.accepts_marketing:
            member.accepts_marketing = True
    return member


def record_order(session: Session, shop: Shop, facts: OrderFacts, member: Member | None, now: datetime) -> Order:
    """Upsert what we know. State fields follow the newest payload (`updated_at`); facts that
    only ever become true (paid, fulfilled, cancelled) are kept from whichever payload showed them."""
    session.execute(_INSERT_ORDER, {**_EMPTY_ORDER, "shop_id": shop.id, "order_id": facts.order_id,
                                    "currency": facts.currency, "created_at": now, "updated_at": now})
    order = find_order(session, shop, facts.order_id)
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
    return order


def record_refund(session: Session, shop: Shop, refund: RefundFacts, now: datetime) -> None:
    """Refunds are immutable in Shopify: the first description of a refund id is kept."""
    session.execute(_insert(session)(Refund).values(
        shop_id=shop.id, refund_id=refund.refund_id, order_id=refund.order_id, base_minor=refund.bases.merchandise_minor,
        shipping_minor=refund.bases.shipping_minor, tax_minor=refund.bases.tax_minor,
        shipping_tax_minor=refund.shipping_tax_minor, discrepancy_minor=refund.discrepancy_minor,
        currency=refund.currency, refunded_at=refund.refunded_at, created_at=now,
    ).on_conflict_do_nothing(index_elements=["shop_id", "refund_id"]))


def apply_order(session: Session, shop: Shop, facts: OrderFacts, *, now: datetime) -> Order:
    member = _member_for(session, shop, facts, now)
    order = record_order(session, shop, facts, member, now)
    for refund in facts.refunds:
        record_refund(session, shop, refund, now)
    if member is not None:
        settle_order(session, shop, order, member, now=now)
    from app.services import redemptions
    redemptions.note_codes_on_order(session, shop, order, member, now=now)
    return order


def apply_refund(session: Session, shop: Shop, refund: RefundFacts, *, now: datetime) -> None:
    record_refund(session, shop, refund, now)
    order = find_order(session, shop, refund.order_id)
    if order is not None and order.member_id is not None:  # else settled when the order arrives
        settle_order(session, shop, order, session.get(Member, order.member_id), now=now)


def _trigger_met(order: Order, program: Program) -> bool:
    return earning_trigger_met(program, paid=order.paid_at is not None, fulfilled=order.fulfilled_at is not None)


def _bases(order: Order) -> EarningBases:
    merchandise, shipping, tax = (order.facts or {}).get("bases") or [order.earning_base_minor, 0, 0]
    return EarningBases(merchandise, shipping, tax)


def _facts_for_earning(order: Order) -> OrderFacts:
    product_bases = {int(k): v for k, v in ((order.facts or {}).get("product_bases") or {}).items()}
    return OrderFacts(order_id=order.order_id, name=order.name, currency=order.currency, customer_id=order.customer_id,
                      customer_email=None, customer_first_name=None, customer_last_name=None, is_test=order.is_test,
                      financial_status=order.financial_status, fulfillment_status=order.fulfillment_status,
                      paid=True, fulfilled=order.fulfilled_at is not None, cancelled_at=order.cancelled_at,
                      processed_at=order.processed_at, updated_at=order.shopify_updated_at, bases=_bases(order),
                      subtotal_minor=order.subtotal_minor, total_minor=order.total_minor, product_bases=product_bases,
                      taxes_included=bool((order.facts or {}).get("taxes_included")))


def settle_order(session: Session, shop: Shop, order: Order, member: Member, *, now: datetime) -> None:
    if order.is_test:
        return  # test orders never earn
    lock_member(session, member)
    version, program = current_program(session, shop)
    earn = entry_by_key(session, shop.id, order_earn_key(order.order_id))
    if earn is None and _trigger_met(order, program):
        earn = _earn_for_order(session, shop, order, member, program, version.id, now)
    if earn is None:
        return
    void = is_void(cancelled=order.cancelled_at is not None, financial_status=order.financial_status)
    edited = not void and _settle_edit(session, order, member, earn, program, now)
    after_refund = _claw_back_refunds(session, shop, order, member, earn, program, now) or edited
    if void:
        after_refund = _reverse_remaining(session, shop, order, member, earn, program, now) or after_refund
        referrals.reverse_referral_for_void_order(session, shop, order, now=now)
    if after_refund:
        tiers.refresh_member_tier(session, shop, member, program, version_id=version.id, now=now, after_refund=True)


def _earn_for_order(session, shop, order, member, program, version_id, now) -> LedgerEntry | None:
    if member.blocked_at is not None:
        return None
    earning = points_for_order(program, _facts_for_earning(order), tier=program.tier(member.tier_key),
                               at=order.processed_at or now)
    pending_until = vests_at(program, now)
    earn = post_entry(session, member, NewEntry(
        key=order_earn_key(order.order_id), kind=EntryKind.EARN, points=earning.points, cause_type="order",
        cause_id=str(order.order_id), order_id=order.order_id, program_version_id=version_id,
        reason=earn_reason(order_label(order.name, order.order_id), earning.reason), details=earning.details,
        vests_at=pending_until, expires_at=lot_expiry(program.expiry, pending_until or now)), now=now)
    if earn is None:
        return None
    member.last_activity_at = now
    _order_bonuses(session, shop, order, member, program, version_id, now)
    referrals.reward_referrer_for_order(session, shop, member, order, program, version_id=version_id, now=now)
    award_profile_actions(session, shop, member, now=now)
    tiers.refresh_member_tier(session, shop, member, program, version_id=version_id, now=now)
    return earn


def _paid_order_times(session: Session, shop: Shop, member: Member) -> list[datetime]:
    return sorted(t for t in session.scalars(select(Order.processed_at).where(
        Order.shop_id == shop.id, Order.member_id == member.id, Order.paid_at.is_not(None),
        Order.cancelled_at.is_(None), Order.is_test.is_(False))) if t is not None)


def _order_bonuses(session, shop, order, member, program, version_id, now) -> None:
    """First-order and streak bonuses carry the order id, so cancelling the order reverses them."""
    rules = (version_id, program)
    actions.try_action_points(session, shop, member, "first_order", now=now, order_id=order.order_id,
                              detail=order.name, program=rules)
    streak = program.actions.order_streak
    if not streak.enabled or order.processed_at is None:
        return
    window = [t for t in _paid_order_times(session, shop, member)
              if order.processed_at - timedelta(days=streak.days) < t <= order.processed_at]
    last_bonus = session.scalar(select(func.max(LedgerEntry.created_at)).where(
        LedgerEntry.shop_id == shop.id, LedgerEntry.member_id == member.id, LedgerEntry.cause_type == "streak"))
    if len(window) >= streak.orders and (last_bonus is None or last_bonus <= now - timedelta(days=streak.days)):
        post_entry(session, member, NewEntry(
            key=f"order:{order.order_id}:streak", kind=EntryKind.EARN, points=streak.points, cause_type="streak",
            cause_id=str(order.order_id), order_id=order.order_id, program_version_id=version_id,
            reason=f"{streak.orders} orders within {streak.days} days = {streak.points} points"), now=now)


def _take_back(session, member, earn, *, key, kind, points, reason, cause_type, cause_id, order_id, program, now,
               details=None):
    """Post a take-back of `points`, limited by what the member still has unless negative
    balances are allowed. Points still pending come out of the pending balance."""
    pending = earn.vests_at is not None and earn.vests_at > now
    split = take_back_split(points, spendable=0 if pending else balance_of(session, member, now).balance,
                            pending=pending, allow_negative=program.clawback.allow_negative_balance)
    return post_entry(session, member, NewEntry(
        key=key, kind=kind, points=-split.taken, cause_type=cause_type, cause_id=cause_id, order_id=order_id,
        reason=with_shortfall(reason, split), reverses_entry_id=earn.id, shortfall_points=split.shortfall,
        vests_at=earn.vests_at if pending else None, details=details), now=now)


def _order_entries(session: Session, member: Member, order: Order, cause_type: str) -> list[LedgerEntry]:
    return list(session.scalars(select(LedgerEntry).where(
        LedgerEntry.shop_id == member.shop_id, LedgerEntry.member_id == member.id,
        LedgerEntry.order_id == order.order_id, LedgerEntry.cause_type == cause_type).order_by(LedgerEntry.id)))


def _asked(entry: LedgerEntry) -> int:
    """The points an entry meant to move, counting what a take-back could not take."""
    return entry.points - entry.shortfall_points


def _earned(session: Session, member: Member, order: Order, earn: LedgerEntry) -> EarnedOrder:
    edits = _order_entries(session, member, order, "order_edit")
    base = (edits[-1].details if edits else earn.details) or {}
    return EarnedOrder(points=earn.points + sum(_asked(e) for e in edits), base_minor=base.get("base_minor") or 0,
                       base_kind=(earn.details or {}).get("base_kind", "subtotal"), order_bases=_bases(order),
                       taxes_included=bool((order.facts or {}).get("taxes_included")))


def _edit_difference(session, order, member, earn) -> tuple[int, int, EarnedOrder]:
    """(points the order now earns minus what it holds, its base now, what it earned so far),
    computed by the rules and tier the order earned under."""
    earned = _earned(session, member, order, earn)
    base = _bases(order).for_rule(earned.base_kind)
    if base == earned.base_minor or earn.program_version_id is None:
        return 0, base, earned
    rules = program_of(session.get(ProgramVersion, earn.program_version_id))
    tier = rules.tier((earn.details or {}).get("tier"))
    target = points_for_order(rules, _facts_for_earning(order), tier=tier, at=order.processed_at or earn.created_at)
    return target.points - earned.points, base, earned


def _settle_edit(session, order, member, earn, program, now) -> bool:
    """An order edit moved the earning base since the order earned: the points follow, with the
    difference posted once per edited state of the order."""
    if earn.kind != EntryKind.EARN or "base_minor" not in (earn.details or {}):
        return False  # settled without points (imported history): an edit earns nothing either
    delta, base, earned = _edit_difference(session, order, member, earn)
    if delta == 0 or (delta > 0 and member.blocked_at is not None):
        return False  # a blocked member earns nothing more, as on a new order
    updated_at = order.shopify_updated_at
    version = updated_at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ") if updated_at else f"base{base}"
    entry = dict(key=order_edit_key(order.order_id, version), cause_type="order_edit", cause_id=str(order.order_id),
                 order_id=order.order_id, details={"base_minor": base, "base_kind": earned.base_kind},
                 reason=edit_reason(order_label(order.name, order.order_id), earned.base_minor, base, order.currency,
                                    delta))
    if delta < 0:
        return bool(_take_back(session, member, earn, kind=EntryKind.CLAWBACK, points=-delta, program=program,
                               now=now, **entry))
    return bool(post_entry(session, member, NewEntry(kind=EntryKind.EARN, points=delta, vests_at=earn.vests_at,
                                                     program_version_id=earn.program_version_id,
                                                     expires_at=earn.expires_at, **entry), now=now))


def _claw_back_refunds(session, shop, order, member, earn, program, now) -> bool:
    earned = _earned(session, member, order, earn)
    refunds = session.scalars(select(Refund).where(Refund.shop_id == shop.id, Refund.order_id == order.order_id)
                              .order_by(Refund.refund_id)).all()
    order.refunded_base_minor = refunded_merchandise([_refund_facts(r) for r in refunds],
                                                     order_bases=earned.order_bases,
                                                     taxes_included=earned.taxes_included)
    taken = -sum(_asked(e) for e in _order_entries(session, member, order, "refund"))
    posted = False
    for refund in refunds:
        if entry_by_key(session, shop.id, refund_clawback_key(refund.refund_id)) is not None:
            continue
        take_back = refund_take_back(_refund_facts(refund), earned, already_taken=taken)
        reason = refund_reason(order_label(order.name, order.order_id), take_back.refunded_minor, refund.currency,
                               earned.base_minor, order.currency, take_back.points)
        entry = _take_back(session, member, earn, key=refund_clawback_key(refund.refund_id), kind=EntryKind.CLAWBACK,
                           points=take_back.points, reason=reason, cause_type="refund",
                           cause_id=str(refund.refund_id), order_id=order.order_id, program=program, now=now)
        taken += take_back.points if entry is not None else 0
        posted = bool(entry) or posted
    return posted


def _refund_facts(refund: Refund) -> RefundFacts:
    return RefundFacts(refund_id=refund.refund_id, order_id=refund.order_id, currency=refund.currency,
                       bases=EarningBases(refund.base_minor, refund.shipping_minor, refund.tax_minor),
                       refunded_at=refund.refunded_at, shipping_tax_minor=refund.shipping_tax_minor,
                       discrepancy_minor=refund.discrepancy_minor)


def _reverse_remaining(session, shop, order, member, earn, program, now) -> bool:
    remaining = order_net_points(session, member, order.order_id)
    if remaining <= 0:
        return False
    reason = reversal_reason(order_label(order.name, order.order_id), cancelled=order.cancelled_at is not None,
                             points=remaining)
    entry = _take_back(session, member, earn, key=order_reversal_key(order.order_id), kind=EntryKind.CLAWBACK,
                       points=remaining, reason=reason,
                       cause_type="order", cause_id=str(order.order_id), order_id=order.order_id, program=program,
                       now=now)
    return entry is not None
