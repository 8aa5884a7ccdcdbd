"""The periodic tasks of outbound webhooks and Klaviyo: idle when there is nothing to do, and
sending what is due when there is."""
import json

import responses

from app.jobs.tasks import TASKS
from app.services import member_events
from tests.admin.helpers import bearer
from tests.support import payload
from tests.support.ledger import deliver


def test_the_tasks_are_idle_without_endpoints_or_klaviyo(t, shop):
    assert TASKS["deliver_outbound_webhooks"](t) == 0
    assert TASKS["sync_klaviyo"](t) == 0


def test_the_delivery_task_sends_what_is_due(client, t, shop, monkeypatch):
    monkeypatch.setattr("socket.getaddrinfo", lambda host, port, *a, **k: [(2, 1, 6, "", ("93.184.215.14", port))])
    client.post("/api/v1/webhook-endpoints", headers=bearer(),
                json={"url": "https://hooks.example.com/tessera", "events": ["points.earned"]})
    deliver(client, t, "orders/paid", payload("orders/paid"))
    member_events.dispatch_member_events(t.db.session, now=t.clock())
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, "https://hooks.example.com/tessera", status=204)
        assert TASKS["deliver_outbound_webhooks"](t) == 1
        assert json.loads(rsps.calls[0].request.body)["type"] == "points.earned"
        assert rsps.calls[0].request.headers["webhook-signature"].startswith("v1,")
