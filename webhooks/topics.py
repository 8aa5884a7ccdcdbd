"""The one list of webhook topics Tessera handles: topic -> service.

shopify.app.toml declares the same subscriptions (a test proves they agree), and install-time
registration through webhookSubscriptionCreate uses `REGISTERED_TOPICS` from here.
"""
from __future__ import annotations

from collections.abc import Callable

from app.services import billing, members, orders, privacy, shops
from app.services.inbox import BatchHandler, HandlerContext, settled_as_one_batch

Handler = Callable[[HandlerContext], None]

HANDLERS: dict[str, Handler] = {
    "orders/create": orders.handle_order_webhook,
    "orders/paid": orders.handle_order_webhook,
    "orders/updated": orders.handle_order_webhook,
    "orders/cancelled": orders.handle_order_webhook,
    "orders/fulfilled": orders.handle_order_webhook,
    "refunds/create": orders.handle_refund_webhook,
    "customers/create": members.handle_customer_webhook,
    "customers/update": members.handle_customer_webhook,
    "customers/delete": members.handle_customer_deleted_webhook,
    "app/uninstalled": shops.handle_app_uninstalled_webhook,
    "app_subscriptions/update": billing.handle_subscription_update_webhook,
    "customers/data_request": privacy.handle_customer_data_request,
    "customers/redact": privacy.handle_customer_redact,
    "shop/redact": privacy.handle_shop_redact,
}

# Topics settled a run at a time (consecutive deliveries of one shop and topic); the others go
# through inbox.apply_events_one_by_one.
BATCH_HANDLERS: dict[str, BatchHandler] = {
    topic: settled_as_one_batch(orders.order_event, orders.apply_orders)
    for topic, handler in HANDLERS.items() if handler in (orders.handle_order_webhook, orders.handle_refund_webhook)}

# Mandatory privacy topics: subscribed through `compliance_topics` in shopify.app.toml only;
# the Admin API has no WebhookSubscriptionTopic for them.
COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})

REGISTERED_TOPICS = sorted(set(HANDLERS) - COMPLIANCE_TOPICS)
