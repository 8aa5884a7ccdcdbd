"""Points for an order, with the reason written out.

points = round(points_per_unit x (base + extra base of product campaigns) x tier multiplier
               x order-wide campaign multipliers) + campaign bonuses

Rounding is the owner's choice (down by default), applied once at the end so multipliers
never compound rounding errors.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from app.loyalty.money import exponent, format_money
from app.loyalty.orders import OrderFacts
from app.loyalty.program import Campaign, Program, Tier
from app.loyalty.segments import MemberAudience, in_audience

_ROUNDING = {"down": ROUND_FLOOR, "up": ROUND_CEILING, "nearest": ROUND_HALF_UP}
_BASE_NAMES = {"subtotal": "subtotal", "subtotal_with_shipping": "subtotal and shipping",
               "subtotal_with_tax": "subtotal and tax", "total": "total"}


@dataclass(frozen=True)
class OrderEarning:
    points: int
    base_minor: int
    base_kind: str
    reason: str
    details: dict


def round_points(value: Decimal, rule: str) -> int:
    return int(value.to_integral_value(rounding=_ROUNDING[rule]))


def _plural(n: int | Decimal, word: str = "point") -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _campaign_applies(campaign: Campaign, tier_key: str | None, facts: OrderFacts, at: datetime,
                      audience: MemberAudience | None = None) -> bool:
    if not campaign.is_active(at):
        return False
    if campaign.tier_keys and tier_key not in campaign.tier_keys:
        return False
    if not in_audience(audience, segment_ids=campaign.segment_ids, lifecycle_stages=campaign.lifecycle_stages):
        return False
    products = campaign_products(campaign)
    return products is None or bool(products & set(facts.product_bases))


def campaign_products(campaign: Campaign) -> set[int] | None:
    return campaign.eligible_products()


def points_for_order(program: Program, facts: OrderFacts, *, tier: Tier | None, at: datetime,
                     audience: MemberAudience | None = None) -> OrderEarning:
    rule = program.earning
    base = facts.bases.for_rule(rule.base)
    money = format_money(base, facts.currency)
    parts = [f"{_plural(rule.points_per_unit.normalize())} per {_unit_text(facts.currency)}"
             f" on {money} {_BASE_NAMES[rule.base]}"]
    weighted = Decimal(base)
    multiplier = Decimal(1)
    bonus = 0
    campaigns = [c for c in program.campaigns if _campaign_applies(c, tier.key if tier else None, facts, at, audience)]
    for campaign in campaigns:
        products = campaign_products(campaign)
        if campaign.multiplier is not None:
            if products is None:
                multiplier *= campaign.multiplier
                parts.append(f"{campaign.name} x{campaign.multiplier.normalize()}")
            else:
                matched = sum(v for k, v in facts.product_bases.items() if k in products)
                weighted += Decimal(matched) * (campaign.multiplier - 1)
                parts.append(f"{campaign.name} x{campaign.multiplier.normalize()} on "
                             f"{format_money(matched, facts.currency)} of eligible products")
        if campaign.bonus_points:
            bonus += campaign.bonus_points
            parts.append(f"{campaign.name} +{_plural(campaign.bonus_points)}")
    if tier is not None and tier.multiplier != 1:
        multiplier *= tier.multiplier
        parts.append(f"{tier.name} x{tier.multiplier.normalize()}")
    units = weighted / Decimal(_one_unit(facts.currency))
    points = max(0, round_points(units * rule.points_per_unit * multiplier, rule.rounding)) + bonus
    reason = ", ".join(parts) + f" = {_plural(points)}"
    if rule.rounding != "down" and points:
        reason += f" (rounded {rule.rounding})"
    details = {"base_minor": base, "base_kind": rule.base, "currency": facts.currency,
               "points_per_unit": str(rule.points_per_unit), "multiplier": str(multiplier), "bonus": bonus,
               "campaigns": [c.key for c in campaigns], "tier": tier.key if tier else None}
    return OrderEarning(points=points, base_minor=base, base_kind=rule.base, reason=reason, details=details)


def _unit_text(currency: str) -> str:
    text = format_money(_one_unit(currency), currency)
    return text.replace(".00", "").replace(".000", "")


def _one_unit(currency: str) -> int:
    """Minor units in one unit of the currency (100 for CAD, 1 for JPY)."""
    return 10 ** exponent(currency)
