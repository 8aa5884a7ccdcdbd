"""Cashback as store credit: from real-shaped order and refund webhooks to Shopify's store
credit mutations, paid exactly once under retries and lost answers."""
import pytest
from sqlalchemy import select

from app.models import CashbackPayout
from app.services.cashback import pay_due_cashback
from tests.support import CUSTOMER_ID, payload
from tests.support.ledger import balance, deliver, ledger, set_program
from tests.support.shopify_stub import applied_then_lost, timeout

pytestmark = pytest.mark.both_backends
CUSTOMER = f"gid://shopify/Customer/{CUSTOMER_ID}"


def cashback(t, shop, percent="5", mode="with_points", pending_days=0):
    set_program(t, shop, {"earning": {"pending_days": pending_days},
                          "cashback": {"enabled": True, "percent": percent, "mode": mode}})


def pay(t):
    return pay_due_cashback(t.db.scope, t.shopify, t.clock())


def payouts(t):
    with t.db.scope(read_only=True) as session:
        return [(p.payout_key, p.kind, p.amount_minor, p.paid_minor, p.shortfall_minor, p.status)
                for p in session.scalars(select(CashbackPayout).order_by(CashbackPayout.id))]


def credits(stub):
    return [b["variables"]["creditInput"]["creditAmount"] for b in stub.mutations
            if "storeCreditAccountCredit" in b["query"]]


def debits(stub):
    return [b["variables"]["debitInput"]["debitAmount"] for b in stub.mutations
            if "storeCreditAccountDebit" in b["query"]]


def test_a_paid_order_earns_five_percent_of_its_subtotal_as_store_credit_next_to_its_points(client, t, shop, stub):
    cashback(t, shop)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert pay(t) == 1
    # The earning base is the subtotal after discounts, CAD 110.00: 5 % is CAD 5.50.
    assert credits(stub) == [{"amount": "5.50", "currencyCode": "CAD"}]
    assert stub.mutations[0]["variables"]["id"] == CUSTOMER
    assert payouts(t) == [("order:5981273456789:cashback", "credit", 550, 550, 0, "paid")]
    assert balance(t, shop).balance == 110  # the points too: cashback "with_points"


def test_cashback_instead_of_points_earns_no_points(client, t, shop, stub):
    cashback(t, shop, mode="instead_of_points")
    deliver(client, t, "orders/paid", payload("orders/paid"))
    pay(t)
    assert credits(stub) == [{"amount": "5.50", "currencyCode": "CAD"}]
    assert [key for key, _ in ledger(t, shop) if key.startswith("order:")] == []


def test_the_same_order_delivered_three_times_is_credited_once(client, t, shop, stub):
    cashback(t, shop)
    for attempt in range(3):  # Shopify retries a delivery it thinks failed, with a new id
        deliver(client, t, "orders/paid", payload("orders/paid"), webhook_id=f"retry-{attempt}")
    pay(t)
    pay(t)
    assert len(credits(stub)) == 1 and len(payouts(t)) == 1


def test_the_credit_waits_for_the_points_pending_period(client, t, shop, stub, clock):
    cashback(t, shop, pending_days=14)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert pay(t) == 0 and stub.mutations == []
    clock.advance(days=14)
    assert pay(t) == 1 and credits(stub) == [{"amount": "5.50", "currencyCode": "CAD"}]


def test_a_credit_whose_answer_was_lost_is_read_back_not_sent_again(client, t, shop, stub):
    cashback(t, shop)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    stub.then(applied_then_lost(timeout()))
    pay(t)
    pay(t)
    assert len(credits(stub)) == 1  # landed once; the read-back found it
    assert payouts(t)[0][-1] == "paid"
    assert len(stub.store_credits) == 1


def test_a_credit_that_did_not_land_is_sent_again_after_reading_back(client, t, shop, stub, clock):
    cashback(t, shop)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    stub.then(502)  # the answer is an error: nothing landed, but we cannot know that yet
    pay(t)
    assert payouts(t)[0][-1] == "pending" and stub.store_credits == []
    clock.advance(minutes=3)
    pay(t)
    assert payouts(t)[0][-1] == "paid" and len(stub.store_credits) == 1
    reads = [b["operationName"] for b in stub.bodies if b["operationName"] == "StoreCreditCredits"]
    assert reads  # the second attempt looked for the first before sending


def test_a_refund_after_payment_debits_its_share_of_the_cashback(client, t, shop, stub):
    cashback(t, shop)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    pay(t)
    deliver(client, t, "refunds/create", payload("refunds/create"))
    pay(t)
    # CAD 55.00 of the CAD 110.00 base refunded: half of CAD 5.50 = CAD 2.75.
    assert debits(stub) == [{"amount": "2.75", "currencyCode": "CAD"}]
    assert payouts(t)[1] == ("refund:978123456789:cashback", "debit", 275, 275, 0, "paid")


def test_a_clawback_never_takes_store_credit_below_zero_and_records_the_shortfall(client, t, shop, stub):
    cashback(t, shop)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    pay(t)
    stub.store_debits.append({"id": "gid://shopify/StoreCreditAccountDebitTransaction/1", "amount": "5.00",
                              "currency": "CAD", "customer": CUSTOMER, "createdAt": "2025-02-14T15:00:00Z"})
    deliver(client, t, "refunds/create", payload("refunds/create"))
    pay(t)
    assert debits(stub) == [{"amount": "0.50", "currencyCode": "CAD"}]  # what was left of it
    assert payouts(t)[1][2:] == (275, 50, 225, "paid")
    assert stub.credit_balance(CUSTOMER) == 0


def test_a_refund_before_the_credit_is_due_is_netted_out_of_it(client, t, shop, stub, clock):
    cashback(t, shop, pending_days=14)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    deliver(client, t, "refunds/create", payload("refunds/create"))
    clock.advance(days=14)
    pay(t)
    assert credits(stub) == [{"amount": "2.75", "currencyCode": "CAD"}] and debits(stub) == []
    assert [p[-1] for p in payouts(t)] == ["paid", "netted"]


def test_a_cancelled_order_takes_back_what_is_left_of_its_cashback(client, t, shop, stub):
    cashback(t, shop)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    pay(t)
    cancelled = payload("orders/cancelled")
    cancelled["refunds"] = []
    deliver(client, t, "orders/cancelled", cancelled)
    pay(t)
    assert debits(stub) == [{"amount": "5.50", "currencyCode": "CAD"}]
    assert payouts(t)[-1][:2] == ("order:5981273456789:cashback-reversal", "debit")


def test_a_shop_without_cashback_pays_none(client, t, shop, stub):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert pay(t) == 0 and payouts(t) == [] and stub.mutations == []


def test_analytics_count_paid_cashback_as_a_cost_net_of_refunds(client, t, shop, stub):
    from app.models import Shop
    from app.queries.analytics import shop_analytics
    cashback(t, shop)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    pay(t)
    deliver(client, t, "refunds/create", payload("refunds/create"))
    pay(t)
    with t.db.scope(read_only=True) as session:
        figures = shop_analytics(session, session.get(Shop, shop.id), now=t.clock()).figures
    assert figures["cashback_cost"].display == "$2.75" and figures["cashback_pending"].display == "$0.00"


def test_a_shop_that_must_reconnect_is_paid_once_it_is_back(client, t, shop, stub):
    from app.models import Shop
    cashback(t, shop)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    with t.db.scope() as session:
        session.get(Shop, shop.id).reauth_required_at = t.clock()
        session.commit()
    assert pay(t) == 0 and stub.mutations == []
    with t.db.scope() as session:
        session.get(Shop, shop.id).reauth_required_at = None
        session.commit()
    assert pay(t) == 1 and len(credits(stub)) == 1
