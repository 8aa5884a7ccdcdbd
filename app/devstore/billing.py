"""App subscriptions in the stand-in, as Shopify's Billing API behaves: `appSubscriptionCreate`
answers a PENDING subscription and a confirmation URL; the owner approves (ACTIVE, and with
APPLY_IMMEDIATELY the shop's other active subscription is CANCELLED) or declines (DECLINED) on
that page, lands on the app's return URL with `charge_id`, and `app_subscriptions/update` is
sent for every change. Only one recurring plan per subscription; prices must be positive."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from app.devstore.graph import iso, user_error
from app.devstore.state import ShopState, gid, next_id

PERIOD = timedelta(days=30)


def subscriptions(shop: ShopState) -> dict[str, dict[str, Any]]:
    return shop.setdefault("app_subscriptions", {})


def subscription_node(record: dict[str, Any]) -> dict[str, Any]:
    return {"__typename": "AppSubscription", "id": gid("AppSubscription", record["id"]), "name": record["name"],
            "status": record["status"], "test": record["test"], "createdAt": record["created_at"],
            "currentPeriodEnd": record["current_period_end"], "returnUrl": record["return_url"],
            "trialDays": record["trial_days"], "lineItems": []}


def find(shop: ShopState, subscription_gid: str) -> dict[str, Any] | None:
    number = str(subscription_gid).rsplit("/", 1)[-1]
    return subscriptions(shop).get(number) if str(subscription_gid).startswith("gid://shopify/AppSubscription/") \
        else None


def create(shop: ShopState, args: dict[str, Any], now: datetime, confirmation_url) -> dict[str, Any]:
    errors = _problems(args)
    if errors:
        return {"appSubscription": None, "confirmationUrl": None, "userErrors": errors}
    number = next_id(shop, "AppSubscription")
    pricing = args["lineItems"][0]["plan"]["appRecurringPricingDetails"]
    record = {"id": number, "name": args["name"], "status": "PENDING", "test": bool(args.get("test")),
              "created_at": iso(now), "current_period_end": None, "return_url": args["returnUrl"],
              "trial_days": args.get("trialDays") or 0, "price": pricing["price"],
              "interval": pricing.get("interval") or "EVERY_30_DAYS",
              "replacement": args.get("replacementBehavior") or "STANDARD"}
    subscriptions(shop)[str(number)] = record
    return {"appSubscription": subscription_node(record), "confirmationUrl": confirmation_url(number),
            "userErrors": []}


def _problems(args: dict[str, Any]) -> list[dict[str, Any]]:
    if not str(args.get("name") or "").strip():
        return [user_error(["name"], None, "Name can't be blank", extra_info=False)]
    url = urlsplit(str(args.get("returnUrl") or ""))
    if url.scheme not in ("http", "https") or not url.netloc:
        return [user_error(["returnUrl"], None, "Return url is invalid", extra_info=False)]
    items = args.get("lineItems") or []
    recurring = [i for i in items if (i.get("plan") or {}).get("appRecurringPricingDetails")]
    if not items:
        return [user_error(["lineItems"], None, "Line items can't be blank", extra_info=False)]
    if len(recurring) != 1 or len(items) != len(recurring):
        return [user_error(["lineItems"], None, "Only one recurring line item is supported here",
                           extra_info=False)]
    price = recurring[0]["plan"]["appRecurringPricingDetails"]["price"]
    try:
        amount = Decimal(str(price["amount"]))
    except (InvalidOperation, KeyError):
        amount = Decimal(0)
    if amount <= 0:
        return [user_error(["lineItems", "0", "plan", "appRecurringPricingDetails", "price"], None,
                           "Price must be greater than 0", extra_info=False)]
    return []


def cancel(shop: ShopState, subscription_gid: str, now: datetime) -> dict[str, Any]:
    record = find(shop, subscription_gid)
    if record is None:
        return {"appSubscription": None, "userErrors": [user_error(["id"], None, "Subscription not found",
                                                                   extra_info=False)]}
    if record["status"] != "ACTIVE":
        return {"appSubscription": None, "userErrors": [user_error(
            ["id"], None, f"Cannot cancel a subscription that is {record['status'].lower()}", extra_info=False)]}
    record["status"] = "CANCELLED"
    return {"appSubscription": subscription_node(record), "userErrors": []}


def decide(shop: ShopState, number: str, approved: bool, now: datetime) -> tuple[dict[str, Any], list[dict]]:
    """The owner's answer on the confirmation page: the subscription and the update webhooks."""
    record = subscriptions(shop).get(str(number))
    if record is None or record["status"] != "PENDING":
        raise LookupError(f"No pending subscription {number} on {shop['domain']}")
    changed = [record]
    if approved:
        for other in subscriptions(shop).values():
            if other is not record and other["status"] == "ACTIVE":
                other["status"] = "CANCELLED"
                changed.append(other)
        record["status"], record["current_period_end"] = "ACTIVE", iso(now + PERIOD)
    else:
        record["status"] = "DECLINED"
    return record, [update_payload(shop, r, now) for r in changed]


def update_payload(shop: ShopState, record: dict[str, Any], now: datetime) -> dict[str, Any]:
    """app_subscriptions/update as Shopify sends it."""
    return {"app_subscription": {
        "admin_graphql_api_id": gid("AppSubscription", record["id"]), "name": record["name"],
        "status": record["status"], "admin_graphql_api_shop_id": gid("Shop", shop["id"]),
        "created_at": record["created_at"], "updated_at": iso(now), "currency": record["price"]["currencyCode"],
        "capped_amount": None, "price": str(record["price"]["amount"]), "interval": record["interval"].lower(),
        "plan_handle": None}}
