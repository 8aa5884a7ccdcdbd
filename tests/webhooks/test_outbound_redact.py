"""shop/redact erases the shop's API keys, webhook endpoints and deliveries, and Klaviyo
connection and queue, like the rest of its data."""
from sqlalchemy import func, select

from app.models import ApiKey, KlaviyoAccount, KlaviyoSync, WebhookDelivery, WebhookEndpoint
from app.services import member_events
from app.services.klaviyo import connect_klaviyo
from tests.admin.helpers import bearer
from tests.support import payload
from tests.support.ledger import deliver


def test_shop_redact_erases_keys_endpoints_deliveries_and_the_klaviyo_connection(client, t, shop):
    t.config["OUTBOUND_WEBHOOKS_ALLOW_PRIVATE"] = True
    client.post("/api/v1/api-keys", json={"label": "script"}, headers=bearer())
    client.post("/api/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/h", "events": ["points.earned"]},
                headers=bearer())
    with t.db.scope() as session:
        connect_klaviyo(session, shop, "pk_test_0123456789abcdef", now=t.clock(), cipher=t.cipher)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    member_events.dispatch_member_events(t.db.session, now=t.clock())
    deliver(client, t, "app/uninstalled", payload("app/uninstalled"))
    deliver(client, t, "shop/redact", payload("shop/redact"))
    with t.db.scope(read_only=True) as session:
        for model in (ApiKey, WebhookEndpoint, WebhookDelivery, KlaviyoAccount, KlaviyoSync):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model.__tablename__
