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
from app.loyalty.wording import Reason, reason
from app.loyalty.segments import MemberAudience, in_audience

_ROUNDING = {"down": ROUND_FLOOR, "up": ROUND_CEILING, "nearest": ROUND_HALF_UP}


@dataclass(frozen=True)
class OrderEarning:
    points: int
    base_minor: int
    base_kind: str
    reason: Reason  # how the points were counted (earning.calculation)
    details: dict


def round_points(value: Decimal, rule: str) -> int:
    return int(value.to_integral_value(rounding=_ROUNDING[rule]))


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
                     paid_member: bool = False, audience: MemberAudience | None = None) -> OrderEarning:
    rule = program.earning
    base = facts.bases.for_rule(rule.base)
    money = format_money(base, facts.currency)
    parts = [reason("earning.rate", rate=str(rule.points_per_unit.normalize()), unit=_unit_text(facts.currency),
                    base=money, base_kind=reason(f"base.{rule.base}"))]
    weighted = Decimal(base)
    multiplier = Decimal(1)
    bonus = 0
    campaigns = [c for c in program.campaigns if _campaign_applies(c, tier.key if tier else None, facts, at, audience)]
    for campaign in campaigns:
        products = campaign_products(campaign)
        if campaign.multiplier is not None:
            if products is None:
                multiplier *= campaign.multiplier
                parts.append(reason("earning.campaign_multiplier", campaign=campaign.name,
                                    multiplier=str(campaign.multiplier.normalize())))
            else:
                matched = sum(v for k, v in facts.product_bases.items() if k in products)
                weighted += Decimal(matched) * (campaign.multiplier - 1)
                parts.append(reason("earning.campaign_products_multiplier", campaign=campaign.name,
                                    multiplier=str(campaign.multiplier.normalize()),
                                    amount=format_money(matched, facts.currency)))
        if campaign.bonus_points:
            bonus += campaign.bonus_points
            parts.append(reason("earning.campaign_bonus", campaign=campaign.name, bonus=campaign.bonus_points))
    if tier is not None and tier.multiplier != 1:
        multiplier *= tier.multiplier
        parts.append(reason("earning.tier_multiplier", tier=tier.name, multiplier=str(tier.multiplier.normalize())))
    membership = program.membership
    if paid_member and membership.enabled and membership.points_multiplier != 1:
        multiplier *= membership.points_multiplier  # on top of the tier: the membership is a separate perk
        # Worded like a tier's multiplier: "<name> x<multiplier>".
        parts.append(reason("earning.tier_multiplier", tier=membership.name,
                            multiplier=str(membership.points_multiplier.normalize())))
    units = weighted / Decimal(_one_unit(facts.currency))
    points = max(0, round_points(units * rule.points_per_unit * multiplier, rule.rounding)) + bonus
    counted = (reason("earning.calculation_rounded", parts=parts, points=points,
                      rounding=reason(f"rounding.{rule.rounding}"))
               if rule.rounding != "down" and points else reason("earning.calculation", parts=parts, points=points))
    details = {"base_minor": base, "base_kind": rule.base, "currency": facts.currency,
               "points_per_unit": str(rule.points_per_unit), "multiplier": str(multiplier), "bonus": bonus,
               "campaigns": [c.key for c in campaigns], "tier": tier.key if tier else None,
               "paid_member": paid_member}
    return OrderEarning(points=points, base_minor=base, base_kind=rule.base, reason=counted, details=details)


def _unit_text(currency: str) -> str:
    text = format_money(_one_unit(currency), currency)
    return text.replace(".00", "").replace(".000", "")


def _one_unit(currency: str) -> int:
    """Minor units in one unit of the currency (100 for CAD, 1 for JPY)."""
    return 10 ** exponent(currency)
