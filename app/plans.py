"""The hosted app's price list and what a shop's plan allows (plain rules, no I/O).

Self-hosted installations run with BILLING=off and never see any of this. With BILLING=on a
shop is on the free plan until the owner approves a recurring charge in Shopify; a plan covers a
number of paid orders a month. Going over the allowance never costs the shoppers anything (their
points are awarded as always): the owner is asked to move up a plan before using the admin again,
so the program keeps running while the bill is sorted out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    monthly_price: Decimal  # USD, billed by Shopify every 30 days
    order_allowance: int | None  # paid orders a calendar month (UTC); None: no limit

    @property
    def free(self) -> bool:
        return self.monthly_price == 0

    def covers(self, orders_this_month: int) -> bool:
        return self.order_allowance is None or orders_this_month <= self.order_allowance


PLANS: tuple[Plan, ...] = (
    Plan("free", "Free", Decimal("0"), 200),
    Plan("growth", "Growth", Decimal("29.00"), 2000),
    Plan("scale", "Scale", Decimal("99.00"), None),
)
FREE = PLANS[0]
CURRENCY = "USD"

# Subscription statuses Shopify reports (AppSubscriptionStatus); only ACTIVE bills and counts.
ACTIVE = "ACTIVE"
FINAL_STATUSES = frozenset({"CANCELLED", "DECLINED", "EXPIRED"})


class UnknownPlan(ValueError):
    pass


def plan_named(key: str) -> Plan:
    for plan in PLANS:
        if plan.key == key:
            return plan
    raise UnknownPlan(f"There is no plan {key!r}; choose one of: {', '.join(p.key for p in PLANS)}.")


def subscription_name(plan: Plan) -> str:
    """The charge's name as the owner sees it on the Shopify bill (and how we recognise it)."""
    return f"Tessera {plan.name}"


def plan_of_subscription(name: str) -> Plan | None:
    return next((p for p in PLANS if subscription_name(p) == name), None)


def smallest_plan_covering(orders_this_month: int) -> Plan:
    return next(p for p in PLANS if p.covers(orders_this_month))


@dataclass(frozen=True)
class BillingStanding:
    plan: Plan
    orders_this_month: int
    month_starts: datetime

    @property
    def over_allowance(self) -> bool:
        return not self.plan.covers(self.orders_this_month)

    @property
    def suggested_plan(self) -> Plan:
        return smallest_plan_covering(self.orders_this_month)


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
