"""The reward catalog's rules: what a reward costs, what it gives, who may redeem it, and how
the code reads. Plain Python: the Shopify side lives in app/shopify/discounts.py."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.loyalty.errors import InsufficientPoints, InvalidInput, MemberBlocked, RewardUnavailable
from app.loyalty.money import format_money, to_minor

KINDS = ("amount_off", "percent_off", "free_shipping", "free_product", "points_slider", "store_credit")
KIND_LABELS = {"amount_off": "Amount off", "percent_off": "Percentage off", "free_shipping": "Free shipping",
               "free_product": "Free product", "points_slider": "Points for money off", "store_credit": "Store credit"}
# Readable aloud and from a phone screen: no 0/O, 1/I/L. 31^10 ~ 8e14 codes per prefix.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


@dataclass(frozen=True)
class RewardSpec:
    """A reward as configured by the owner (the fields of models.Reward that matter here)."""

    id: int
    name: str
    kind: str
    points_cost: int
    value: Decimal | None
    min_subtotal: Decimal | None
    code_expiry_days: int | None
    combines_with_order: bool
    combines_with_product: bool
    combines_with_shipping: bool
    tier_keys: tuple[str, ...] | None
    per_member_limit: int | None
    variant_id: int | None
    points_per_unit: int | None
    min_points: int | None
    max_points: int | None
    code_prefix: str | None
    enabled: bool


@dataclass(frozen=True)
class RedemptionTerms:
    """What one redemption gives, fixed at the moment of redeeming."""

    kind: str
    points: int
    value: Decimal | None  # money for amount/slider/store credit/free product, percent for percent_off
    currency: str
    min_subtotal: Decimal | None
    expiry_days: int | None
    combines_with: dict[str, bool]
    variant_id: int | None
    # Reward codes are single-use; a tier's free-shipping perk is one code for the whole period.
    single_use: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "points": self.points, "value": None if self.value is None else str(self.value),
                "currency": self.currency, "min_subtotal": None if self.min_subtotal is None else str(self.min_subtotal),
                "expiry_days": self.expiry_days, "combines_with": self.combines_with, "variant_id": self.variant_id,
                "single_use": self.single_use}


def free_shipping_perk(currency: str, days: int) -> RedemptionTerms:
    """A tier's free-shipping benefit: a reusable code for that member while the tier lasts."""
    return RedemptionTerms(kind="free_shipping", points=0, value=None, currency=currency, min_subtotal=None,
                           expiry_days=days, combines_with={"orderDiscounts": True, "productDiscounts": True,
                                                            "shippingDiscounts": False},
                           variant_id=None, single_use=False)


def new_code(prefix: str | None) -> str:
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{prefix.upper()}-{body}" if prefix else body


def combines_with(spec: RewardSpec) -> dict[str, bool]:
    # Shopify applies at most one shipping discount to an order, so a free-shipping code never
    # asks to combine with another one (Shopify refuses the code: INVALID_COMBINES_WITH_FOR_DISCOUNT_CLASS).
    shipping = spec.combines_with_shipping and spec.kind != "free_shipping"
    return {"orderDiscounts": spec.combines_with_order, "productDiscounts": spec.combines_with_product,
            "shippingDiscounts": shipping}


def combination_text(spec: RewardSpec) -> str:
    """Shown to the shopper before redeeming: what Shopify's checkout will really do. Two codes
    only stack when each allows the other's class, hence "codes that allow it too"."""
    names = {"orderDiscounts": "order discounts", "productDiscounts": "product discounts",
             "shippingDiscounts": "shipping discounts"}
    allowed = [names[k] for k, v in combines_with(spec).items() if v]
    if spec.kind == "store_credit":
        return "Store credit is added to your account and works with any discount."
    one_shipping = " Only one shipping discount applies per order." if spec.kind == "free_shipping" else ""
    if not allowed:
        return "Cannot be combined with other discounts." + one_shipping
    if len(allowed) == 3:
        return "Can be combined with other discounts that allow it too."
    return ("Can be combined with " + " and ".join(allowed) + " that allow it too; not with other "
            + ("shipping discounts." if spec.kind == "free_shipping" else "discounts.") + one_shipping)


def describe_value(spec: RewardSpec, currency: str) -> str:
    if spec.kind == "percent_off":
        return f"{spec.value.normalize()}% off your order"
    if spec.kind == "free_shipping":
        return "Free shipping"
    if spec.kind == "free_product":
        return "A free product"
    if spec.kind == "points_slider":
        return f"{format_money(to_minor(1, currency), currency)} off for every {spec.points_per_unit} points"
    money = format_money(to_minor(spec.value, currency), currency)
    return f"{money} store credit" if spec.kind == "store_credit" else f"{money} off your order"


def slider_value(spec: RewardSpec, points: int | None) -> tuple[int, Decimal]:
    """Points a shopper chose on a slider -> (points charged, money off). Whole units only."""
    if points is None or not isinstance(points, int) or isinstance(points, bool):
        raise InvalidInput("Choose how many points to use.", {"points": "a whole number of points"})
    low, high = spec.min_points or spec.points_per_unit, spec.max_points
    if points < low or (high is not None and points > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidInput(f"Use {bound} points.", {"points": f"{bound} points"})
    units = points // spec.points_per_unit
    return units * spec.points_per_unit, Decimal(units)


def terms_for(spec: RewardSpec, currency: str, points: int | None = None, *,
              variant_price: Decimal | None = None) -> RedemptionTerms:
    """`variant_price`: a free product's price read from Shopify at redemption - the code takes
    exactly that off, so the product stays free when the owner changes its price."""
    cost, value = spec.points_cost, spec.value
    if spec.kind == "points_slider":
        cost, value = slider_value(spec, points)
    if spec.kind == "free_product":
        if variant_price is None or variant_price <= 0:
            raise RewardUnavailable(f"{spec.name} is not available right now: its product has no price in the store.")
        value = variant_price
    return RedemptionTerms(kind="amount_off" if spec.kind == "points_slider" else spec.kind, points=cost, value=value,
                           currency=currency, min_subtotal=spec.min_subtotal, expiry_days=spec.code_expiry_days,
                           combines_with=combines_with(spec), variant_id=spec.variant_id)


def check_redeemable(spec: RewardSpec, *, tier_key: str | None, blocked: bool, balance: int, points: int,
                     redeemed_before: int) -> None:
    """Raise the error the shopper should see, or return when the redemption may go ahead."""
    if blocked:
        raise MemberBlocked("Your account cannot redeem rewards right now; please contact the store.")
    if not spec.enabled:
        raise RewardUnavailable(f"{spec.name} is not available any more.")
    if spec.tier_keys and tier_key not in spec.tier_keys:
        raise RewardUnavailable(f"{spec.name} is reserved for members of another tier.")
    if spec.per_member_limit is not None and redeemed_before >= spec.per_member_limit:
        raise RewardUnavailable(f"You have already redeemed {spec.name} the maximum number of times "
                                f"({spec.per_member_limit}).")
    if balance < points:
        raise InsufficientPoints(f"{spec.name} needs {points} points; you have {balance}. "
                                 f"{points - balance} more to go!")


def validate_reward(data: dict[str, Any]) -> dict[str, Any]:
    """Owner input for a reward -> clean values, or InvalidInput naming every bad field."""
    problems: dict[str, str] = {}
    kind = data.get("kind")
    if kind not in KINDS:
        problems["kind"] = f"one of {', '.join(KINDS)}"
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        problems["name"] = "a name of 1-120 characters"
    clean = {"kind": kind, "name": name.strip() if isinstance(name, str) else name}
    clean.update(_numbers(data, kind, problems))
    if problems:
        raise InvalidInput("The reward has problems; fix the fields listed.", problems)
    return clean


def _int(data, key, problems, *, low, high, required) -> int | None:
    value = data.get(key)
    if value is None:
        if required:
            problems[key] = f"required: a whole number from {low} to {high}"
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        problems[key] = f"a whole number from {low} to {high}"
        return None
    return value


def _decimal(data, key, problems, *, low, high, required) -> Decimal | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            problems[key] = f"required: an amount from {low} to {high}"
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite() or not Decimal(low) <= number <= Decimal(high):
        problems[key] = f"an amount from {low} to {high}"
        return None
    return number


def _numbers(data: dict, kind: str | None, problems: dict[str, str]) -> dict[str, Any]:
    slider = kind == "points_slider"
    needs_value = kind in ("amount_off", "percent_off", "store_credit")  # a free product costs its price now
    clean = {
        "points_cost": _int(data, "points_cost", problems, low=1, high=10_000_000, required=not slider) or
        (0 if slider else None),
        "value": _decimal(data, "value", problems, low="0.01", high="100" if kind == "percent_off" else "100000",
                          required=needs_value),
        "min_subtotal": _decimal(data, "min_subtotal", problems, low="0", high="1000000", required=False),
        "code_expiry_days": _int(data, "code_expiry_days", problems, low=1, high=3650, required=False),
        "per_member_limit": _int(data, "per_member_limit", problems, low=1, high=1000, required=False),
        "variant_id": _int(data, "variant_id", problems, low=1, high=2**63 - 1, required=kind == "free_product"),
        "points_per_unit": _int(data, "points_per_unit", problems, low=1, high=100_000, required=slider),
        "min_points": _int(data, "min_points", problems, low=1, high=10_000_000, required=False),
        "max_points": _int(data, "max_points", problems, low=1, high=10_000_000, required=False),
    }
    for flag in ("combines_with_order", "combines_with_product", "combines_with_shipping", "enabled", "members_only"):
        if flag in data and not isinstance(data[flag], bool):
            problems[flag] = "true or false"
        elif flag in data:
            clean[flag] = data[flag]
    if kind == "free_shipping":
        clean["combines_with_shipping"] = False  # Shopify applies one shipping discount per order
    prefix = data.get("code_prefix")
    if prefix is not None and (not isinstance(prefix, str) or not prefix.isalnum() or len(prefix) > 12):
        problems["code_prefix"] = "letters and digits only, 12 at most"
    clean["code_prefix"] = prefix.upper() if isinstance(prefix, str) and prefix else None
    tiers = data.get("tier_keys")
    if tiers is not None and (not isinstance(tiers, list) or not all(isinstance(k, str) for k in tiers)):
        problems["tier_keys"] = "a list of tier keys, or null for every member"
    clean["tier_keys"] = tiers or None
    if clean["min_points"] and clean["max_points"] and clean["min_points"] > clean["max_points"]:
        problems["max_points"] = "must be at least min_points"
    return clean
