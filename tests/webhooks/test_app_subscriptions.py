"""app_subscriptions/update keeps the hosted app's plan in step with Shopify, whatever order the
deliveries arrive in."""
import pytest
from sqlalchemy import select

from app.models import AppSubscriptionRecord, WebhookEvent
from app.services import billing
from tests.support.ledger import deliver

pytestmark = pytest.mark.both_backends
GID = "gid://shopify/AppSubscription/29710001"


def update(status: str, updated_at: str, name: str = "Tessera Growth") -> dict:
    return {"app_subscription": {"admin_graphql_api_id": GID, "name": name, "status": status,
                                 "admin_graphql_api_shop_id": "gid://shopify/Shop/61234000001",
                                 "created_at": "2025-02-14T10:00:00-05:00", "updated_at": updated_at,
                                 "currency": "USD", "capped_amount": None, "price": "29.00",
                                 "interval": "every_30_days", "plan_handle": None}}


def records(t):
    with t.db.scope(read_only=True) as session:
        return [(r.plan_key, r.status) for r in session.scalars(select(AppSubscriptionRecord))]


def plan_of(t, shop):
    with t.db.scope(read_only=True) as session:
        from app.models import Shop
        return billing.billing_standing(session, session.get(Shop, shop.id), now=t.clock()).plan.key


def test_an_approved_subscription_becomes_the_shops_plan_and_a_cancellation_ends_it(client, t, shop):
    deliver(client, t, "app_subscriptions/update", update("ACTIVE", "2025-02-14T10:01:00-05:00"))
    assert records(t) == [("growth", "ACTIVE")] and plan_of(t, shop) == "growth"
    deliver(client, t, "app_subscriptions/update", update("CANCELLED", "2025-02-14T11:00:00-05:00"))
    assert records(t) == [("growth", "CANCELLED")] and plan_of(t, shop) == "free"


def test_an_older_update_arriving_late_does_not_undo_a_newer_one(client, t, shop):
    deliver(client, t, "app_subscriptions/update", update("CANCELLED", "2025-02-14T11:00:00-05:00"))
    deliver(client, t, "app_subscriptions/update", update("ACTIVE", "2025-02-14T10:01:00-05:00"))
    assert records(t) == [("growth", "CANCELLED")] and plan_of(t, shop) == "free"


def test_a_subscription_that_is_not_one_of_our_plans_is_not_recorded(client, t, shop):
    deliver(client, t, "app_subscriptions/update", update("ACTIVE", "2025-02-14T10:01:00-05:00", name="Other"))
    assert records(t) == [] and plan_of(t, shop) == "free"


def test_an_update_without_a_subscription_id_fails_its_delivery_with_the_reason(client, t, shop):
    deliver(client, t, "app_subscriptions/update", {"app_subscription": {"status": "ACTIVE"}})
    with t.db.scope(read_only=True) as session:
        event = session.scalar(select(WebhookEvent).where(WebhookEvent.topic == "app_subscriptions/update"))
    assert event.status == "failed" and "admin_graphql_api_id" in event.last_error
