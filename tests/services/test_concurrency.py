"""Concurrent spending on one member can never drive the balance below zero."""
import threading

import pytest

from app.loyalty.errors import InsufficientPoints
from app.services.adjustments import adjust_points
from tests.support import payload
from tests.support.ledger import balance, deliver, member_of

pytestmark = pytest.mark.both_backends


def test_fifty_parallel_debits_of_500_from_1000_points_leave_exactly_zero(client, t, shop):
    from tests.support.ledger import set_program
    set_program(t, shop, {"earning": {"points_per_unit": "10"}})
    body = payload("orders/paid")
    body["line_items"][0]["discount_allocations"] = []  # 2 x 60.00 hoodies, no discount: 1,200 points
    deliver(client, t, "orders/paid", body)
    with t.db.scope() as session:
        adjust_points(session, shop, member_of(t, shop), -200, "start at 1,000", staff_user_id="1", now=t.clock())
    assert balance(t, shop).balance == 1000
    member = member_of(t, shop)
    outcomes, barrier = [], threading.Barrier(50)

    def spend(i: int) -> None:
        barrier.wait()
        with t.db.scope() as session:
            try:
                adjust_points(session, shop, member, -500, f"parallel {i}", staff_user_id="1", now=t.clock())
                outcomes.append("ok")
            except InsufficientPoints:
                outcomes.append("refused")

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 2 and outcomes.count("refused") == 48
    assert balance(t, shop).balance == 0
