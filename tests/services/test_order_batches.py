"""A batch of order deliveries settled at once (apply_orders) gives exactly the ledger, orders,
refunds and members that settling the same deliveries one by one gives, on SQLite and
PostgreSQL: duplicates, refunds arriving before their order, several orders of one member."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from app.loyalty.orders import parse_order, parse_refund
from app.models import Shop
from app.services.orders import apply_order, apply_orders, apply_refund
from tests.services.test_bulk_import import DEFAULT, RICH, prepare, rest_order, rest_refund, snapshot
from tests.services.test_convergence import SEQUENCES, _ids, normalised, shuffled_with_duplicates, with_fresh_ids


def deliveries() -> list:
    """Facts in arrival order, as the webhook path parses them."""
    first = rest_order(1, 1, fulfillment_status="fulfilled")
    again = rest_order(12, 1, gift_card=False)  # the same member's second order
    partly = rest_order(2, 2, financial_status="partially_refunded")
    cancelled_paid = rest_order(9, 3, gift_card=False)
    cancelled = rest_order(9, 3, gift_card=False, cancelled_at="2025-02-15T10:00:00-05:00",
                           updated_at="2025-02-15T10:00:00-05:00")
    short = rest_order(11, 6)  # a member already below zero: the take-back falls short
    later = rest_order(17, 6, gift_card=False)  # ... then earns again: this take-back is whole
    return [parse_refund(rest_refund(partly, 2)),  # the refund arrives before its order
            parse_order(first), parse_order(again), parse_order(first),  # a duplicate delivery
            parse_order(partly, topic="orders/paid"), parse_order(cancelled_paid), parse_order(cancelled),
            parse_order(short), parse_refund(rest_refund(short, 11)), parse_refund(rest_refund(short, 11)),
            parse_refund(rest_refund(partly, 2)), parse_order(later), parse_refund(rest_refund(later, 17, hoodies=2))]


def one_by_one(t, shop, events) -> None:
    with t.db.scope() as session:
        shop_row = session.get(Shop, shop.id)
        for facts in events:
            if hasattr(facts, "refund_id"):
                apply_refund(session, shop_row, facts, now=t.clock())
            else:
                apply_order(session, shop_row, facts, now=t.clock())
            session.commit()


def in_batches(t, shop, events, size: int) -> None:
    with t.db.scope() as session:
        shop_row = session.get(Shop, shop.id)
        for start in range(0, len(events), size):
            apply_orders(session, shop_row, events[start:start + size], now=t.clock())
            session.commit()


@pytest.mark.both_backends
@pytest.mark.parametrize("settings", [DEFAULT, RICH], ids=["default", "rich"])
@pytest.mark.parametrize("size", [100, 4])
def test_a_batch_of_deliveries_settles_exactly_as_one_by_one(t, shop, other_shop, settings, size):
    events = deliveries()
    for target in (shop, other_shop):
        prepare(t, target, settings)
    one_by_one(t, other_shop, events)
    in_batches(t, shop, events, size)
    batched, reference = snapshot(t, shop), snapshot(t, other_shop)
    assert batched == reference
    # The sample covers what it claims to: earns, a refund take-back, a reversal, a shortfall.
    keys = {row[0] for row in batched["ledger"]}
    assert {"order:5981273456790:earn", "refund:978123450002:clawback", "order:5981273456798:reversal"} <= keys
    assert any(row[11] for row in batched["ledger"]) or settings is not DEFAULT  # RICH: still pending


@pytest.mark.both_backends
def test_a_batch_of_new_paid_orders_costs_a_bounded_number_of_statements(t, shop, backend):
    """Settling is set-based: twenty orders of known members cost about what two do."""
    prepare(t, shop, DEFAULT)
    warm = [parse_order(rest_order(100 + n, n % 4), topic="orders/paid") for n in range(4)]
    in_batches(t, shop, warm, 100)  # the members exist and have earned: no first-time work left
    counts = []
    for size, offset in ((2, 200), (20, 300)):
        batch = [parse_order(rest_order(offset + n, n % 2, buyer_accepts_marketing=False), topic="orders/paid")
                 for n in range(size)]
        counts.append(statements_for(t, shop, batch))
    small, large = counts
    assert large <= small + 8, counts


def statements_for(t, shop, batch) -> int:
    executed = []

    def count(*_args):
        executed.append(1)

    event.listen(t.db.engine, "before_cursor_execute", count)
    try:
        in_batches(t, shop, batch, len(batch))
    finally:
        event.remove(t.db.engine, "before_cursor_execute", count)
    return len(executed)


def as_facts(events: list[tuple[str, dict]], n: int) -> list:
    return [parse_refund(body) if topic == "refunds/create" else parse_order(body, topic=topic)
            for topic, body in ((topic, with_fresh_ids(body, n)) for topic, body in events)]


@pytest.mark.both_backends
@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_batches_of_any_delivery_order_converge_to_the_in_order_ledger(t, shop, name):
    events = SEQUENCES[name]
    reference = next(_ids)
    one_by_one(t, shop, as_facts(events, reference))
    expected = normalised(t, shop, reference)

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(shuffled_with_duplicates(events), st.integers(1, 8))
    def check(deliveries, size):
        n = next(_ids)
        in_batches(t, shop, as_facts(deliveries, n), size)
        assert normalised(t, shop, n) == expected

    check()
