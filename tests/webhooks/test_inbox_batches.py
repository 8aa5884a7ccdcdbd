"""The inbox is the queue: processors claim batches of due deliveries, a batch commits once, and
a delivery that raises is undone alone and retried on its own."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import event, func, select

from app.jobs.tasks import process_inbox
from app.models import Member, WebhookEvent
from app.services import inbox
from tests.support import payload, send_webhook
from webhooks.topics import HANDLERS

pytestmark = pytest.mark.both_backends

POISON_ID = 777


def customer(customer_id: int) -> dict:
    return dict(payload("customers/create"), id=customer_id, email=f"c{customer_id}@example.com")


def rows(t) -> dict[int, WebhookEvent]:
    with t.db.scope(read_only=True) as session:
        return {e.id: e for e in session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))}


def members(t) -> set[int]:
    with t.db.scope(read_only=True) as session:
        return set(session.scalars(select(Member.customer_id)))


@pytest.fixture
def poison(monkeypatch):
    """customers/create that creates the member and then raises for one customer: its member
    must be rolled back with it, and nobody else's."""
    original = HANDLERS["customers/create"]
    calls: list[int] = []

    def half_applied_then_raising(ctx):
        original(ctx)
        if ctx.payload["id"] == POISON_ID:
            calls.append(ctx.event.id)
            raise RuntimeError("customer shape the service cannot handle yet")

    monkeypatch.setitem(HANDLERS, "customers/create", half_applied_then_raising)
    return calls


@pytest.fixture
def commits(t):
    counted = []
    listener = lambda _connection: counted.append(1)  # noqa: E731
    event.listen(t.db.engine, "commit", listener)
    yield counted
    event.remove(t.db.engine, "commit", listener)


def test_a_batch_of_deliveries_is_claimed_and_applied_in_two_commits(client, t, shop, commits):
    for i in range(10):
        send_webhook(client, "customers/create", customer(600 + i))
    commits.clear()
    assert process_inbox(t) == 10
    assert members(t) == {600 + i for i in range(10)}
    assert len(commits) == 2  # the claim and the batch (a short batch means nothing was left)


def test_a_poison_delivery_is_undone_alone_while_the_rest_of_its_batch_commits(client, t, shop, poison):
    for customer_id in (601, POISON_ID, 602, 603):
        send_webhook(client, "customers/create", customer(customer_id))
    assert process_inbox(t) == 4
    assert members(t) == {601, 602, 603}  # the poison's member was rolled back with it
    states = {e.id: (e.status, e.attempts) for e in rows(t).values()}
    [poisoned] = poison
    assert states.pop(poisoned) == ("pending", 1)
    assert set(states.values()) == {("done", 1)}
    assert "cannot handle yet" in rows(t)[poisoned].last_error


def test_a_retried_delivery_runs_in_a_transaction_of_its_own_and_ends_failed_after_max_attempts(
        client, t, shop, poison, commits):
    send_webhook(client, "customers/create", customer(POISON_ID))
    process_inbox(t)
    for attempt in range(2, inbox.MAX_ATTEMPTS + 1):
        send_webhook(client, "customers/create", customer(1000 + attempt))  # a newcomer claimed with it
        t.clock.advance(hours=2)
        commits.clear()
        assert process_inbox(t) == 2
        assert len(commits) == 3  # the claim, the newcomer's batch, the retry alone
    [poisoned] = set(poison)
    assert (rows(t)[poisoned].status, rows(t)[poisoned].attempts) == ("failed", inbox.MAX_ATTEMPTS)
    assert members(t) == {1000 + attempt for attempt in range(2, inbox.MAX_ATTEMPTS + 1)}
    t.clock.advance(hours=2)
    assert process_inbox(t) == 0  # failed for good: not retried again


def test_deliveries_of_one_order_are_applied_in_arrival_order_within_a_batch(client, t, shop, monkeypatch):
    seen = []
    for topic in ("orders/create", "orders/paid", "orders/updated"):
        monkeypatch.setitem(HANDLERS, topic, lambda ctx: seen.append(ctx.topic))
    for topic in ("orders/create", "customers/create", "orders/paid", "orders/updated"):
        send_webhook(client, topic, payload(topic) if topic != "customers/create" else customer(640))
    process_inbox(t)
    assert seen == ["orders/create", "orders/paid", "orders/updated"]


def test_two_processors_claiming_at_once_never_share_a_row(client, t, shop):
    for i in range(60):
        send_webhook(client, "customers/create", customer(700 + i))
    claimed: list[list[int]] = [[], []]

    def claim_all(mine: list[int], worker: str) -> None:
        while True:
            with t.db.scope() as session:
                held = inbox.claim_due_events(session, worker, t.clock(), limit=7)
            if not held:
                return
            mine.extend(held)

    claimers = [threading.Thread(target=claim_all, args=(claimed[i], f"w{i}")) for i in range(2)]
    for claimer in claimers:
        claimer.start()
    for claimer in claimers:
        claimer.join(30)
    assert not set(claimed[0]) & set(claimed[1])
    assert sorted(claimed[0] + claimed[1]) == sorted(rows(t))


def test_a_claim_skips_rows_another_processor_has_locked_instead_of_waiting(client, t, shop, backend,
                                                                             database_url):
    if backend != "postgresql":
        pytest.skip("SQLite admits one writer at a time: there is no row lock to skip")
    for i in range(4):
        send_webhook(client, "customers/create", customer(800 + i))
    first, second, *rest = sorted(rows(t))
    other = sa.create_engine(database_url)
    try:
        with other.connect() as holder:  # another processor in the middle of its claim
            holder.execute(select(WebhookEvent.id).where(WebhookEvent.id.in_([first, second])).with_for_update())
            with t.db.scope() as session:
                session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
                held = inbox.claim_due_events(session, "w2", t.clock(), limit=10)
            holder.rollback()
    finally:
        other.dispose()
    assert held == rest
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(WebhookEvent)
                              .where(WebhookEvent.status == "pending")) == 2


def paid_order(order_id: int, customer_id: int) -> dict:
    body = payload("orders/paid")
    body.update(id=order_id, name=f"#{order_id}", order_number=order_id)
    body["customer"] = dict(body["customer"], id=customer_id, email=f"c{customer_id}@example.com")
    return body


def ledger_by_key(t) -> dict[str, int]:
    from app.models import LedgerEntry
    with t.db.scope(read_only=True) as session:
        return dict(session.execute(select(LedgerEntry.entry_key, LedgerEntry.points)).all())


def settle_nine_paid_orders(client, t, first_order_id: int, first_customer_id: int) -> int:
    """Statements the processor runs to settle nine paid orders of three members."""
    for i in range(9):
        send_webhook(client, "orders/paid", paid_order(first_order_id + i, first_customer_id + i % 3))
    statements = []
    listener = lambda *_args: statements.append(1)  # noqa: E731
    event.listen(t.db.engine, "before_cursor_execute", listener)
    try:
        assert process_inbox(t) == 9
    finally:
        event.remove(t.db.engine, "before_cursor_execute", listener)
    assert {e.status for e in rows(t).values()} == {"done"}
    return len(statements)


def test_a_run_of_paid_orders_is_settled_as_one_batch_with_the_ledger_of_one_by_one(client, t, shop, monkeypatch):
    from webhooks import topics
    batched = settle_nine_paid_orders(client, t, 5000, 800)
    monkeypatch.setattr(topics, "BATCH_HANDLERS", {})
    one_by_one = settle_nine_paid_orders(client, t, 6000, 810)
    ledger = ledger_by_key(t)
    assert [ledger[f"order:{5000 + i}:earn"] for i in range(9)] == [ledger[f"order:{6000 + i}:earn"] for i in range(9)]
    assert batched * 2 < one_by_one  # measured: ~40 statements against ~140


def test_a_poison_order_in_a_batch_sends_the_run_one_by_one_and_the_others_commit(client, t, shop):
    good = [paid_order(5100 + i, 900 + i) for i in range(3)]
    broken = dict(paid_order(5199, 999), line_items="not a list")
    for body in (good[0], broken, good[1], good[2]):
        send_webhook(client, "orders/paid", body)
    assert process_inbox(t) == 4
    ledger = ledger_by_key(t)
    assert all(f"order:{5100 + i}:earn" in ledger for i in range(3)) and "order:5199:earn" not in ledger
    states = sorted((e.status, e.attempts) for e in rows(t).values())
    assert states.count(("done", 1)) == 3 and len(states) == 4 and states[-1][0] in ("pending", "failed")
