"""Real payloads through POST /webhooks to the ledger: earning, clawback, cancellation."""
import copy

import pytest

from tests.support import ORDER_ID, payload
from tests.support.ledger import balance, deliver, entries, ledger, set_program

pytestmark = pytest.mark.both_backends
EARN = f"order:{ORDER_ID}:earn"


def test_paid_order_earns_points_with_the_reason_and_program_version(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    [entry] = entries(t, shop)
    assert (entry.entry_key, entry.kind, entry.points) == (EARN, "earn", 110)
    assert entry.reason == "Order #1042: 1 point per $1 on $110.00 subtotal = 110 points"
    assert entry.program_version_id is not None and entry.order_id == ORDER_ID
    assert balance(t, shop) == (110, 0, 110)


def test_the_same_order_never_earns_twice(client, t, shop):
    for topic in ("orders/create", "orders/paid", "orders/paid", "orders/updated", "orders/fulfilled"):
        body = payload("orders/paid") if topic != "orders/fulfilled" else payload("orders/fulfilled")
        deliver(client, t, topic, body)
    assert [k for k, _ in ledger(t, shop) if k == EARN] == [EARN]
    assert balance(t, shop).lifetime_earned == 110


def test_unpaid_order_earns_nothing_until_paid(client, t, shop):
    pending = payload("orders/create")
    pending["financial_status"] = "pending"
    deliver(client, t, "orders/create", pending)
    assert balance(t, shop) == (0, 0, 0)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert balance(t, shop).balance == 110


def test_test_orders_and_guest_orders_earn_nothing(client, t, shop):
    test_order = payload("orders/paid")
    test_order["test"] = True
    deliver(client, t, "orders/paid", test_order)
    guest = payload("orders/paid")
    guest.update(id=1, customer=None)
    deliver(client, t, "orders/paid", guest)
    assert balance(t, shop) == (0, 0, 0)


def test_refund_claws_back_the_refunded_share(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    deliver(client, t, "refunds/create", payload("refunds/create"))
    assert ledger(t, shop) == [(EARN, 110), ("refund:978123456789:clawback", -55)]
    assert entries(t, shop)[-1].reason == "Refund on order #1042: $55.00 of $110.00 refunded = -55 points"
    assert balance(t, shop) == (55, 0, 55)


def test_cancel_reverses_everything_the_order_earned(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    deliver(client, t, "orders/cancelled", payload("orders/cancelled"))
    assert balance(t, shop) == (0, 0, 0)
    assert entries(t, shop)[-1].kind == "clawback"


def test_cancel_arriving_before_anything_else_converges(client, t, shop):
    deliver(client, t, "orders/cancelled", payload("orders/cancelled"))
    deliver(client, t, "orders/paid", payload("orders/paid"))
    deliver(client, t, "refunds/create", payload("refunds/create"))
    assert balance(t, shop) == (0, 0, 0)


def test_refund_before_paid_is_applied_when_the_order_is_paid(client, t, shop):
    deliver(client, t, "refunds/create", payload("refunds/create"))
    assert balance(t, shop) is None
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert ledger(t, shop) == [(EARN, 110), ("refund:978123456789:clawback", -55)]


def test_spent_points_are_not_clawed_into_a_negative_balance_unless_allowed(client, t, shop):
    from app.services.adjustments import adjust_points
    from tests.support.ledger import member_of
    deliver(client, t, "orders/paid", payload("orders/paid"))
    with t.db.scope() as session:
        adjust_points(session, shop, member_of(t, shop), -100, "spent at the till", staff_user_id="1", now=t.clock())
    deliver(client, t, "refunds/create", payload("refunds/create"))
    clawback = entries(t, shop)[-1]
    assert (clawback.points, clawback.shortfall_points) == (-10, 45)
    assert "45 already spent" in clawback.reason and balance(t, shop).balance == 0


def test_owner_may_allow_a_negative_balance(client, t, shop):
    from app.services.adjustments import adjust_points
    from tests.support.ledger import member_of
    set_program(t, shop, {"clawback": {"allow_negative_balance": True}})
    deliver(client, t, "orders/paid", payload("orders/paid"))
    with t.db.scope() as session:
        adjust_points(session, shop, member_of(t, shop), -100, "spent", staff_user_id="1", now=t.clock())
    deliver(client, t, "refunds/create", payload("refunds/create"))
    assert balance(t, shop).balance == -45


def test_pending_period_vests_points_after_the_return_window(client, t, shop):
    set_program(t, shop, {"earning": {"pending_days": 30}})
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert balance(t, shop) == (0, 110, 110)
    deliver(client, t, "refunds/create", payload("refunds/create"))
    assert balance(t, shop) == (0, 55, 55)
    t.clock.advance(days=31)
    assert balance(t, shop) == (55, 0, 55)


def test_fulfilment_trigger_waits_for_fulfilment(client, t, shop):
    set_program(t, shop, {"earning": {"trigger": "fulfilled"}})
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert balance(t, shop) == (0, 0, 0)
    deliver(client, t, "orders/fulfilled", payload("orders/fulfilled"))
    assert balance(t, shop).balance == 110


def test_first_order_and_streak_bonuses(client, t, shop):
    set_program(t, shop, {"actions": {"first_order": {"enabled": True, "points": 100},
                                      "order_streak": {"enabled": True, "points": 250, "orders": 3, "days": 30}}})
    for i, day in enumerate((1, 10, 20)):
        body = payload("orders/paid")
        body.update(id=ORDER_ID + i, name=f"#10{i}", processed_at=f"2025-02-{day:02d}T10:00:00-05:00")
        deliver(client, t, "orders/paid", body)
    keys = [k for k, _ in ledger(t, shop)]
    assert sum(1 for k in keys if k.endswith("action:first_order")) == 1
    assert sum(1 for k in keys if k.endswith(":streak")) == 1
    assert balance(t, shop).balance == 3 * 110 + 100 + 250


def test_cancelling_the_first_order_takes_its_bonus_back_too(client, t, shop):
    set_program(t, shop, {"actions": {"first_order": {"enabled": True, "points": 100}}})
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert balance(t, shop).balance == 210
    deliver(client, t, "orders/cancelled", payload("orders/cancelled"))
    assert balance(t, shop).balance == 0


def test_campaign_multiplier_applies_to_orders_placed_during_it(client, t, shop):
    set_program(t, shop, {"campaigns": [{"key": "valentine", "name": "Valentine", "multiplier": "2",
                                         "starts_at": "2025-02-14T00:00:00Z", "ends_at": "2025-02-15T00:00:00Z"}]})
    deliver(client, t, "orders/paid", payload("orders/paid"))
    assert balance(t, shop).balance == 220
    assert "Valentine x2" in entries(t, shop)[0].reason


def test_changing_the_program_does_not_rewrite_history(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    first_version = entries(t, shop)[0].program_version_id
    set_program(t, shop, {"earning": {"points_per_unit": "5"}})
    second = payload("orders/paid")
    second.update(id=ORDER_ID + 1, name="#1043")
    deliver(client, t, "orders/paid", second)
    earned = entries(t, shop)
    assert [e.points for e in earned] == [110, 550]
    assert earned[0].program_version_id == first_version != earned[1].program_version_id


def test_customer_account_newsletter_and_profile_earn_once(client, t, shop):
    set_program(t, shop, {"actions": {"newsletter": {"enabled": True, "points": 50}}})
    created = payload("customers/create")
    deliver(client, t, "customers/create", created)
    assert balance(t, shop) == (0, 0, 0)  # state "disabled": no account yet (e.g. a guest checkout)
    updated = payload("customers/update")
    updated["email_marketing_consent"] = {"state": "subscribed"}
    deliver(client, t, "customers/update", updated)
    deliver(client, t, "customers/update", copy.deepcopy(updated))
    assert sorted(p for _, p in ledger(t, shop)) == [50, 100]
    assert balance(t, shop).balance == 150
