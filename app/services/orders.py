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

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.errors import InvalidInput
from app.loyalty.orders import OrderFacts, RefundFacts, parse_order, parse_refund
from app.models import Member, Order, Redemption, Refund, Shop
from app.services.inbox import UnprocessableEvent
from app.services.member_metrics import refresh_member_metrics
from app.services.members import get_or_create_member
from app.services.order_settlement import OrderBatch
from app.services.pooled_orders import settle_pooled_perks
from app.services.set_sql import among, insert_rows

if TYPE_CHECKING:
    from app.services.inbox import HandlerContext

_EMPTY_ORDER = {c.name: None for c in Order.__table__.columns if not c.primary_key} | {
    "total_minor": 0, "subtotal_minor": 0, "earning_base_minor": 0, "refunded_base_minor": 0, "discount_codes": [],
    "is_test": False}


def handle_order_webhook(ctx: "HandlerContext") -> None:
    apply_order(ctx.session, ctx.shop, order_event(ctx.topic, ctx.payload), now=ctx.now)


def handle_refund_webhook(ctx: "HandlerContext") -> None:
    apply_refund(ctx.session, ctx.shop, order_event(ctx.topic, ctx.payload), now=ctx.now)


def order_event(topic: str, payload: dict) -> OrderFacts | RefundFacts:
    """An orders/* or refunds/create delivery as apply_orders takes it (a processor settling a
    batch of claimed deliveries parses each with this); a payload that cannot be read is
    UnprocessableEvent."""
    try:
        return parse_refund(payload) if topic == "refunds/create" else parse_order(payload, topic=topic)
    except InvalidInput as exc:
        raise UnprocessableEvent(str(exc)) from exc


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


def _add_orders(session: Session, shop: Shop, events: Sequence[OrderFacts | RefundFacts],
                now: datetime) -> tuple[dict[int, Order], set[int]]:
    """(order id -> row, for every order the batch is about; the ids known before the batch).
    Orders seen for the first time get an empty row (one INSERT), filled in as their deliveries
    are merged; a refund alone never creates its order."""
    first = {e.order_id: e for e in reversed(events) if isinstance(e, OrderFacts)}
    added = insert_rows(session, Order.__table__, [_empty_order(shop, f, now) for f in first.values()],
                        conflict=("shop_id", "order_id"), returning=("order_id",))
    orders = _known_orders(session, shop, list(dict.fromkeys(e.order_id for e in events)))
    return orders, set(orders) - {order_id for order_id, in added}


def _known_orders(session: Session, shop: Shop, order_ids: list[int]) -> dict[int, Order]:
    if not order_ids:
        return {}
    return {o.order_id: o for o in session.scalars(select(Order).where(
        Order.shop_id == shop.id, among(session, Order.order_id, order_ids)))}


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
    order.source_name = order.source_name or facts.source_name
    order.location_id = order.location_id or facts.location_id
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
                created_at=now, variant_units={str(k): v for k, v in refund.variant_units.items()} or None)


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
    caller's transaction, with the ledger settling them one by one would give: the batch's rows
    and state are read and written set-based, and each delivery's order is planned in turn
    from the facts known at that point. Returns the orders the batch touched. A refund for an
    order not seen yet is only recorded: the order settles it when it arrives."""
    order_facts = [e for e in events if isinstance(e, OrderFacts)]
    members = _members_for(session, shop, order_facts, now)
    orders, known = _add_orders(session, shop, events, now)
    batch = OrderBatch.load(session, shop, orders, members, now=now)
    record_refunds(session, shop, [r for f in order_facts for r in f.refunds] +
                   [e for e in events if isinstance(e, RefundFacts)], now)
    for event in events:
        if isinstance(event, OrderFacts):
            merge_order_facts(orders[event.order_id], event, members.get(event.customer_id), now)
            known.add(event.order_id)
        batch.note_refunds(event.refunds if isinstance(event, OrderFacts) else (event,))
        if event.order_id in known:
            batch.plan(orders[event.order_id])
    batch.write()
    settle_pooled_perks(session, shop, list(orders.values()), batch.rules.program, now=now)
    refresh_member_metrics(session, shop, [o.member_id for o in orders.values() if o.member_id], now=now)
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
