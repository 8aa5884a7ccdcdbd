"""Out-of-order and duplicated deliveries converge to the ledger of in-order delivery
(hypothesis: random permutations with duplicates of real event sequences)."""
import copy
import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.earn import earn_payload
from tests.support import CUSTOMER_ID, ORDER_ID, payload, send_webhook
from tests.support.ledger import balance, ledger

pytestmark = pytest.mark.both_backends
REFUND_ID = 978123456789
_ids = itertools.count(1)


def cancelled_with_two_refunds() -> dict:
    """orders/cancelled as Shopify sends it after a partial refund: the earlier refund plus the
    cancellation's own refund of the rest (the pack's sample folds both into one refund id)."""
    body = payload("orders/cancelled")
    first = payload("refunds/create")
    rest = copy.deepcopy(body["refunds"][0])
    rest["id"] = REFUND_ID + 1
    rest["refund_line_items"][0].update(quantity=1, subtotal=55.0, total_tax=7.15)
    rest["refund_line_items"][0]["subtotal_set"]["shop_money"]["amount"] = "55.00"
    body["refunds"] = [first, rest]
    return body


def tax_included_refunds() -> list[tuple[str, dict]]:
    """A tax-inclusive order, money refunded without items, then an item refunded for less."""
    paid = earn_payload("orders_paid_taxes_included")
    money, damaged = earn_payload("refund_amount_only"), earn_payload("refund_partial_price")
    money["id"], damaged["id"] = REFUND_ID, REFUND_ID + 1
    updated = copy.deepcopy(paid)
    updated.update(financial_status="partially_refunded", updated_at="2025-02-20T11:02:33-05:00",
                   refunds=[money, damaged])
    return [("orders/create", paid), ("orders/paid", paid), ("refunds/create", money),
            ("refunds/create", damaged), ("orders/updated", updated)]


SEQUENCES = {
    "refund": [("orders/create", payload("orders/create")), ("orders/paid", payload("orders/paid")),
               ("orders/fulfilled", payload("orders/fulfilled")), ("refunds/create", payload("refunds/create")),
               ("orders/updated", payload("orders/updated"))],
    "cancel": [("orders/create", payload("orders/create")), ("orders/paid", payload("orders/paid")),
               ("orders/updated", payload("orders/updated")), ("refunds/create", payload("refunds/create")),
               ("orders/cancelled", cancelled_with_two_refunds())],
    "tax_included_refunds": tax_included_refunds(),
}


def with_fresh_ids(body: dict, n: int) -> dict:
    """The same event for another order/customer, so every example has its own ledger."""
    text = json.dumps(body)
    for old, new in ((ORDER_ID, ORDER_ID + 1000 * n), (REFUND_ID + 1, REFUND_ID + 1000 * n + 1),
                     (REFUND_ID, REFUND_ID + 1000 * n), (CUSTOMER_ID, CUSTOMER_ID + 1000 * n)):
        text = text.replace(str(old), str(new))
    return json.loads(text)


def normalised(t, shop, n: int) -> list[tuple[str, int]]:
    return sorted((key.replace(str(n * 1000 + ORDER_ID), "ORDER").replace(str(REFUND_ID + 1000 * n + 1), "R2")
                   .replace(str(REFUND_ID + 1000 * n), "R1"), points) for key, points in ledger(t, shop, CUSTOMER_ID + 1000 * n))


def deliver_all(client, t, events, n):
    for topic, body in events:
        assert send_webhook(client, topic, with_fresh_ids(body, n)).status_code == 200
        t.queue.drain(t)


@st.composite
def shuffled_with_duplicates(draw, events):
    order = draw(st.permutations(events))
    extra = draw(st.lists(st.sampled_from(events), max_size=4))
    result = list(order)
    for event in extra:
        result.insert(draw(st.integers(0, len(result))), event)
    return result


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_any_delivery_order_gives_the_in_order_ledger(client, t, shop, name):
    events = SEQUENCES[name]
    reference = next(_ids)
    deliver_all(client, t, events, reference)
    expected = normalised(t, shop, reference)
    expected_balance = balance(t, shop, CUSTOMER_ID + 1000 * reference)

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(shuffled_with_duplicates(events))
    def check(deliveries):
        n = next(_ids)
        deliver_all(client, t, deliveries, n)
        assert normalised(t, shop, n) == expected
        assert balance(t, shop, CUSTOMER_ID + 1000 * n) == expected_balance

    check()
    # tax_included_refunds: 90 earned, 22 and 26 taken back by the money refunded
    assert expected_balance == {"refund": (55, 0, 55), "cancel": (0, 0, 0), "tax_included_refunds": (42, 0, 42)}[name]


def test_the_packs_literal_cancel_sample_still_nets_to_zero(client, t, shop):
    """The pack's orders/cancelled reuses the partial refund's id with the full amount; whichever
    arrives first describes the refund, and the cancellation reverses whatever is left."""
    events = [("refunds/create", payload("refunds/create")), ("orders/cancelled", payload("orders/cancelled")),
              ("orders/paid", payload("orders/paid"))]
    for permutation in itertools.permutations(events):
        n = next(_ids)
        deliver_all(client, t, permutation, n)
        assert balance(t, shop, CUSTOMER_ID + 1000 * n) == (0, 0, 0)
