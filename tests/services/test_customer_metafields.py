"""Members' customer metafields follow their points: marked by the member-events consumer,
written at most once a minute per member and within a minute of a change, 25 metafields a call."""
import pytest
from sqlalchemy import select

from app.models import CustomerMetafieldSync
from app.services import member_events
from app.services.customer_metafields import write_due_metafields
from tests.support import CUSTOMER_ID, ORDER_ID, payload
from tests.support.ledger import adjust, deliver, member_of

pytestmark = pytest.mark.both_backends


def order(n: int, customer_id: int = CUSTOMER_ID) -> dict:
    body = payload("orders/paid")
    body["customer"] = dict(body["customer"], id=customer_id, email=f"c{customer_id}@example.com")
    body.update(id=ORDER_ID + n, name=f"#{3000 + n}")
    return body


def settle(t) -> int:
    """What the periodic tasks do: dispatch member events, then write the due metafields."""
    member_events.dispatch_member_events(t.db.session, now=t.clock())
    return write_due_metafields(t.shopify, t.db, now=t.clock())


def written(stub) -> list[list[dict]]:
    return [m["variables"]["metafields"] for m in stub.mutations if m["operationName"] == "SetLoyaltyMetafields"]


def values(call: list[dict], customer_id: int = CUSTOMER_ID) -> dict[str, str]:
    return {m["key"]: m["value"] for m in call if m["ownerId"] == f"gid://shopify/Customer/{customer_id}"}


def test_an_order_puts_balance_pending_and_referral_link_on_the_customer(client, t, shop, stub):
    deliver(client, t, "orders/paid", order(1))
    assert settle(t) == 1
    [call] = written(stub)
    member = member_of(t, shop, CUSTOMER_ID)
    assert values(call) == {"points_balance": "110", "points_pending": "0",
                            "referral_url": f"https://{shop.domain}/?ref={member.referral_code}"}
    assert {(m["namespace"], m["type"]) for m in call if m["key"] == "points_balance"} == {
        ("$app:loyalty", "number_integer")}


def test_changes_within_a_minute_are_coalesced_into_one_later_write(client, t, shop, stub, clock):
    deliver(client, t, "orders/paid", order(1))
    settle(t)
    clock.advance(seconds=20)
    adjust(t, shop, 5, reason="Sorry for the delay")
    adjust(t, shop, 7, reason="And again")
    assert settle(t) == 0  # written 20 s ago: waits for the minute
    clock.advance(seconds=40)
    assert settle(t) == 1
    assert [values(call)["points_balance"] for call in written(stub)] == ["110", "122"]
    clock.advance(minutes=5)
    assert settle(t) == 0  # nothing changed since


def test_members_are_written_25_metafields_a_call_at_most(client, t, shop, stub):
    for n in range(8):
        deliver(client, t, "orders/paid", order(n, customer_id=9000 + n))
    assert settle(t) == 8
    calls = written(stub)
    assert [len(call) for call in calls] == [18, 6]  # 6 members of 3 metafields, then 2
    assert all(len(call) <= 25 for call in calls)


def test_a_shopify_outage_keeps_the_member_due_and_retries_later(client, t, shop, stub, clock):
    deliver(client, t, "orders/paid", order(1))
    member_events.dispatch_member_events(t.db.session, now=t.clock())
    stub.then(*[502] * 10)
    assert write_due_metafields(t.shopify, t.db, now=t.clock()) == 0
    with t.db.scope(read_only=True) as session:
        row = session.scalar(select(CustomerMetafieldSync))
        assert row.dirty_since is not None and row.failures == 1 and row.retry_at > t.clock()
    stub.replies.clear()
    clock.advance(minutes=2)
    assert write_due_metafields(t.shopify, t.db, now=t.clock()) == 1


def test_shop_a_members_are_never_written_with_shop_b_state(client, t, shop, other_shop, stub):
    deliver(client, t, "orders/paid", order(1))
    settle(t)
    with t.db.scope(read_only=True) as session:
        assert {r.shop_id for r in session.scalars(select(CustomerMetafieldSync))} == {shop.id}
