"""The program as a shopper sees it: ways to earn, rewards, tiers, referrals (read-only)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.loyalty.actions import ACTION_LABELS
from app.loyalty.expiry import describe_policy
from app.loyalty.money import format_money, to_minor
from app.loyalty.program import Program, SocialRule, WidgetSettings
from app.models import Shop
from app.services.program import current_program
from app.services.rewards import catalog, reward_json


def _earning_rule(program: Program, currency: str) -> dict[str, Any]:
    rule = program.earning
    unit = format_money(to_minor(1, currency), currency).replace(".00", "")
    base = {"subtotal": "", "subtotal_with_shipping": " (shipping included)",
            "subtotal_with_tax": " (tax included)", "total": " (shipping and tax included)"}[rule.base]
    per = rule.points_per_unit.normalize()
    text = f"{per} point{'' if per == 1 else 's'} for every {unit} spent{base}"
    return {"key": "purchase", "label": "Place an order", "points_per_unit": str(rule.points_per_unit),
            "base": rule.base, "description": text, "pending_days": rule.pending_days}


def ways_to_earn(program: Program, currency: str) -> list[dict[str, Any]]:
    ways = [_earning_rule(program, currency)]
    for key in ("signup", "birthday", "first_order", "order_streak", "newsletter", "social_follow", "social_share",
                "product_review", "profile_completion"):
        rule = getattr(program.actions, key)
        if not rule.enabled:
            continue
        way = {"key": key, "label": ACTION_LABELS[key], "points": rule.points}
        if isinstance(rule, SocialRule):
            way["networks"] = [{"network": n, "url": url} for n, url in sorted(rule.networks.items())]
        if key == "order_streak":
            # Numbers as well as the English text, so the widget can say it in the shopper's language.
            way.update(orders=rule.orders, days=rule.days, description=f"{rule.orders} orders within {rule.days} days")
        ways.append(way)
    return ways


def program_summary(session: Session, shop: Shop, *, now: datetime) -> dict[str, Any]:
    _, program = current_program(session, shop)
    widget = program.widget
    return {
        "shop": shop.domain, "currency": shop.currency, "program_name": widget.program_name,
        "points_name": widget.points_name,
        # The owner's own name for the program, or None: the widget then says "Rewards" in the shopper's language.
        "custom_program_name": None if widget.program_name == WidgetSettings.model_fields["program_name"].default
        else widget.program_name,
        "ways_to_earn": ways_to_earn(program, shop.currency),
        # Members-only rewards are shown to paying members only (GET /proxy/member).
        "rewards": [reward_json(r, shop.currency) for r in catalog(session, shop) if not r.members_only],
        "campaigns": [{"name": c.name, "ends_at": c.ends_at.isoformat(),
                       "multiplier": str(c.multiplier) if c.multiplier else None, "bonus_points": c.bonus_points}
                      for c in program.campaigns if c.is_active(now)],
        "tiers": [{"key": t.key, "name": t.name, "threshold": str(t.threshold), "multiplier": str(t.multiplier),
                   "free_shipping": t.free_shipping} for t in program.tiers.levels] if program.tiers.enabled else [],
        "tier_metric": program.tiers.metric if program.tiers.enabled else None,
        "referrals": {"enabled": program.referrals.enabled, "referrer_points": program.referrals.referrer_points,
                      "referee_discount_kind": program.referrals.referee_discount_kind,
                      "referee_discount_value": str(program.referrals.referee_discount_value)},
        "expiry": describe_policy(program.expiry),
        "widget": widget.model_dump(mode="json"),
        "join": {"register_url": "/account/register", "login_url": "/account/login"},
    }
