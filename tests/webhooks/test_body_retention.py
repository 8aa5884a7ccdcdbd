"""Raw webhook bodies (personal data) are kept only as long as needed: processed ones are blanked
after WEBHOOK_BODY_RETENTION_DAYS (30 by default); failed and waiting ones are kept."""
import pytest
from sqlalchemy import select

from app.jobs import InProcessQueue
from app.models import WebhookEvent
from config import settings_from_env
from tests.support import payload_bytes, send_webhook
from tests.support.ledger import balance, deliver

pytestmark = pytest.mark.both_backends


def bodies(t) -> dict[str, bytes]:
    with t.db.scope(read_only=True) as session:
        return {e.topic + ":" + e.status: e.body for e in session.scalars(select(WebhookEvent))}


def run_retention_sweep(t):
    t.queue.enqueue("erase_old_delivery_bodies")
    t.queue.drain(t)


def test_processed_bodies_older_than_the_retention_period_are_blanked(client, t, shop):
    deliver(client, t, "orders/paid", payload_bytes("orders/paid"))
    t.clock.advance(days=2)
    deliver(client, t, "customers/update", payload_bytes("customers/update"))
    t.clock.advance(days=28, hours=1)  # the order's body is 30 days old, the customer's 28
    points = balance(t, shop).balance
    run_retention_sweep(t)
    kept = bodies(t)
    assert kept["orders/paid:done"] == b"" and b"jordan.lee@example.com" in kept["customers/update:done"]
    assert balance(t, shop).balance == points  # what the body caused stays


def test_waiting_and_failed_bodies_are_kept_past_the_retention_period(client, t, shop):
    send_webhook(client, "orders/paid", payload_bytes("orders/paid"))
    t.queue = InProcessQueue()  # its job has not run
    send_webhook(client, "customers/update", b"{not json")
    t.clock.advance(days=90)
    run_retention_sweep(t)
    assert all(body for body in bodies(t).values())


def test_the_retention_period_comes_from_the_environment_and_must_be_whole_days():
    assert settings_from_env({})["WEBHOOK_BODY_RETENTION_DAYS"] == 30
    assert settings_from_env({"WEBHOOK_BODY_RETENTION_DAYS": "7"})["WEBHOOK_BODY_RETENTION_DAYS"] == 7
    for bad in ("0", "-3", "a month"):
        with pytest.raises(ValueError, match="WEBHOOK_BODY_RETENTION_DAYS"):
            settings_from_env({"WEBHOOK_BODY_RETENTION_DAYS": bad})
