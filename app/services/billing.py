"""The hosted app's plans as Shopify recurring charges (BILLING=on).

Choosing a paid plan creates an AppSubscription (`appSubscriptionCreate`, a recurring price and
no usage charges) and sends the owner to Shopify's confirmation page; Shopify brings them back to
`/billing/return?charge_id=...`, where the subscription is read back from Shopify (never trusted
from the URL) and recorded. `app_subscriptions/update` keeps the record current afterwards
(declined, cancelled, frozen, expired). Choosing the free plan cancels the paid subscription.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import plans
from app.loyalty.orders import parse_time
from app.models import AppSubscriptionRecord, Order, Shop
from app.services.inbox import HandlerContext, UnprocessableEvent
from app.shopify.admin_access import AdminAccess, call_admin
from app.shopify.documents import APP_SUBSCRIPTION, CANCEL_APP_SUBSCRIPTION, CREATE_APP_SUBSCRIPTION

log = logging.getLogger(__name__)
GID_PREFIX = "gid://shopify/AppSubscription/"


class BillingRefused(Exception):
    """Shopify refused the charge (userErrors), or the confirmation does not belong to this shop."""


def billing_standing(session: Session, shop: Shop, *, now: datetime) -> plans.BillingStanding:
    """The shop's plan (its active subscription's, else free) against this month's paid orders."""
    since = plans.month_start(now)
    orders = session.scalar(select(func.count()).select_from(Order).where(
        Order.shop_id == shop.id, Order.paid_at.is_not(None), Order.paid_at >= since, Order.is_test.is_(False)))
    active = active_subscription(session, shop)
    plan = plans.plan_named(active.plan_key) if active else plans.FREE
    return plans.BillingStanding(plan, int(orders or 0), since)


def active_subscription(session: Session, shop: Shop) -> AppSubscriptionRecord | None:
    return session.scalar(select(AppSubscriptionRecord).where(
        AppSubscriptionRecord.shop_id == shop.id, AppSubscriptionRecord.status == plans.ACTIVE)
        .order_by(AppSubscriptionRecord.updated_at.desc(), AppSubscriptionRecord.id.desc()).limit(1))


def choose_plan(access: AdminAccess, session: Session, shop: Shop, plan_key: str, *, return_url: str, test: bool,
                now: datetime) -> str | None:
    """Start the owner's move to `plan_key`: the confirmation URL to send them to, or None when
    nothing needs their approval (the free plan: the paid subscription is cancelled here)."""
    plan = plans.plan_named(plan_key)
    current = active_subscription(session, shop)
    if plan.free:
        if current is not None:
            _cancel(access, session, shop, current, now=now)
        return None
    if current is not None and current.plan_key == plan.key:
        return None
    answer = call_admin(access, session, shop, CREATE_APP_SUBSCRIPTION, {
        "name": plans.subscription_name(plan), "returnUrl": return_url, "test": test,
        # Shopify replaces the current subscription once the new one is approved.
        "replacementBehavior": "APPLY_IMMEDIATELY",
        "lineItems": [{"plan": {"appRecurringPricingDetails": {
            "price": {"amount": str(plan.monthly_price), "currencyCode": plans.CURRENCY},
            "interval": "EVERY_30_DAYS"}}}],
    })["appSubscriptionCreate"]
    subscription = answer["appSubscription"]
    _record(session, shop, subscription, plan_key=plan.key, confirmation_url=answer["confirmationUrl"], now=now)
    session.commit()
    return answer["confirmationUrl"]


def confirm_return(access: AdminAccess, session: Session, shop: Shop, charge_id: str, *, now: datetime
                   ) -> AppSubscriptionRecord:
    """The owner is back from Shopify's confirmation page: read the subscription from Shopify."""
    if not str(charge_id).isdigit():
        raise BillingRefused("The charge_id from Shopify is missing or not a number.")
    subscription = call_admin(access, session, shop, APP_SUBSCRIPTION, {"id": f"{GID_PREFIX}{charge_id}"})["node"]
    if not subscription or not subscription.get("id"):
        raise BillingRefused(f"Shopify knows no subscription {charge_id} for {shop.domain}.")
    record = _record(session, shop, subscription, now=now)
    if record is None:
        raise BillingRefused(f"Subscription {charge_id} is not one of Tessera's plans.")
    session.commit()
    return record


def handle_subscription_update_webhook(ctx: HandlerContext) -> None:
    """app_subscriptions/update: Shopify's word on a status change (approved, declined,
    cancelled, frozen for an unpaid bill, expired)."""
    subscription = (ctx.payload or {}).get("app_subscription") if isinstance(ctx.payload, dict) else None
    if not isinstance(subscription, dict) or not subscription.get("admin_graphql_api_id"):
        raise UnprocessableEvent("app_subscriptions/update without app_subscription.admin_graphql_api_id")
    _record(ctx.session, ctx.shop, {
        "id": subscription["admin_graphql_api_id"], "name": subscription.get("name") or "",
        "status": str(subscription.get("status") or "").upper(), "test": None, "currentPeriodEnd": None,
    }, now=parse_time(subscription.get("updated_at")) or ctx.now)


def _cancel(access: AdminAccess, session: Session, shop: Shop, record: AppSubscriptionRecord, *,
            now: datetime) -> None:
    gid = record.subscription_gid
    answer = call_admin(access, session, shop, CANCEL_APP_SUBSCRIPTION, {"id": gid})["appSubscriptionCancel"]
    _record(session, shop, answer["appSubscription"], now=now)
    session.commit()


def _record(session: Session, shop: Shop, subscription: dict[str, Any], *, now: datetime,
            plan_key: str | None = None, confirmation_url: str | None = None) -> AppSubscriptionRecord | None:
    """Insert or update the shop's record of one subscription. An update older than what we
    hold (webhooks arrive out of order) does not overwrite a newer status."""
    record = session.scalar(select(AppSubscriptionRecord).where(
        AppSubscriptionRecord.shop_id == shop.id, AppSubscriptionRecord.subscription_gid == subscription["id"]))
    plan = plans.plan_of_subscription(subscription.get("name") or "")
    if record is None:
        if plan is None and plan_key is None:
            log.warning("subscription %s (%r) of %s is not one of Tessera's plans: not recorded",
                        subscription["id"], subscription.get("name"), shop.domain)
            return None
        record = AppSubscriptionRecord(shop_id=shop.id, subscription_gid=subscription["id"],
                                       plan_key=plan_key or plan.key, status=subscription["status"],
                                       test=bool(subscription.get("test")), created_at=now, updated_at=now)
        session.add(record)
    elif record.updated_at and now < record.updated_at:
        log.info("subscription %s: update of %s older than the %s we hold, ignored", record.subscription_gid,
                 now.isoformat(), record.updated_at.isoformat())
        return record
    record.status, record.updated_at = subscription["status"], now
    if subscription.get("test") is not None:
        record.test = bool(subscription["test"])
    if subscription.get("currentPeriodEnd"):
        record.current_period_end = parse_time(subscription["currentPeriodEnd"])
    if confirmation_url:
        record.confirmation_url = confirmation_url
    session.flush()
    return record
