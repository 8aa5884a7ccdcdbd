"""The acknowledgement path: concurrent deliveries share one durable commit, and a 200 is only
ever sent for a delivery that is already committed."""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app.models import WebhookEvent
from tests.support import payload, send_webhook

pytestmark = pytest.mark.both_backends

SENDERS = 16


def customer(customer_id: int) -> dict:
    return dict(payload("customers/create"), id=customer_id, email=f"c{customer_id}@example.com")


def stored_in_a_fresh_connection(database_url: str, event_id: int) -> bool:
    """What survives a crash right after the 200: only what another connection can read."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(sa.select(WebhookEvent.id).where(WebhookEvent.id == event_id)) == event_id
    finally:
        engine.dispose()


@pytest.fixture
def commits(t):
    """Counts commits of the app's engine; each one stands for a durable write (an fsync). The
    first is slowed down so that concurrent senders pile up behind it, as under load."""
    counted = []

    def count(_connection):
        counted.append(time.monotonic())
        if len(counted) == 1:
            time.sleep(0.2)

    event.listen(t.db.engine, "commit", count)
    yield counted
    event.remove(t.db.engine, "commit", count)


def test_concurrent_deliveries_share_commits_and_each_200_is_already_durable(app, t, shop, commits,
                                                                               database_url):
    acknowledged, problems = [], []
    start = threading.Barrier(SENDERS)

    def deliver(customer_id: int) -> None:
        client = app.test_client()
        start.wait()
        response = send_webhook(client, "customers/create", customer(customer_id))
        if response.status_code != 200 or not stored_in_a_fresh_connection(database_url, response.json["id"]):
            problems.append((customer_id, response.status_code))
        acknowledged.append(response.json["id"])

    senders = [threading.Thread(target=deliver, args=(900 + i,)) for i in range(SENDERS)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(30)
    assert problems == []
    assert len(set(acknowledged)) == SENDERS
    assert 1 <= len(commits) < SENDERS / 2


def test_a_failed_inbox_commit_answers_503_and_the_redelivery_is_stored_once(client, t, shop, database_url):
    def refuse(_connection):
        raise sa.exc.OperationalError("COMMIT", {}, Exception("disk I/O error"))

    event.listen(t.db.engine, "commit", refuse)
    try:
        refused = send_webhook(client, "customers/create", customer(950), webhook_id="delivery-950")
    finally:
        event.remove(t.db.engine, "commit", refuse)
    assert refused.status_code == 503 and refused.json["error"]["code"] == "inbox_unavailable"
    with t.db.scope(read_only=True) as session:
        assert session.scalars(sa.select(WebhookEvent)).all() == []  # nothing acknowledged, nothing kept
    again = send_webhook(client, "customers/create", customer(950), webhook_id="delivery-950")  # Shopify retries
    assert again.status_code == 200 and stored_in_a_fresh_connection(database_url, again.json["id"])


def test_the_same_delivery_twice_in_one_commit_group_is_stored_once(app, t, shop, commits):
    answers = []
    start = threading.Barrier(4)

    def deliver() -> None:
        client = app.test_client()
        start.wait()
        answers.append(send_webhook(client, "customers/create", customer(960), webhook_id="same-delivery").json)

    senders = [threading.Thread(target=deliver) for _ in range(4)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(30)
    assert len({answer["id"] for answer in answers}) == 1
    assert sorted(answer["status"] for answer in answers) == ["duplicate"] * 3 + ["pending"]
    with t.db.scope(read_only=True) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)) == 1


def test_a_shop_uninstalled_by_another_process_is_noticed_once_the_installed_cache_runs_out(
        client, t, shop, monkeypatch):
    from webhooks import intake
    monkeypatch.setattr(intake, "INSTALLED_SHOP_SECONDS", 0.3)
    assert send_webhook(client, "customers/create", customer(970)).json["status"] == "pending"
    with t.db.scope() as session:  # another web process handled app/uninstalled
        session.execute(sa.update(type(shop)).where(type(shop).id == shop.id).values(uninstalled_at=t.clock()))
        session.commit()
    time.sleep(0.35)
    assert send_webhook(client, "customers/create", customer(971)).json == {"status": "ignored"}


def test_an_uninstall_delivered_to_this_process_ends_the_installed_cache_at_once(client, t, shop):
    assert send_webhook(client, "customers/create", customer(980)).json["status"] == "pending"
    send_webhook(client, "app/uninstalled", payload("app/uninstalled"))
    t.queue.drain(t)
    assert send_webhook(client, "orders/paid", payload("orders/paid")).json == {"status": "ignored"}
