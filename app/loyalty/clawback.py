"""Taking back points earned on refunded or cancelled orders."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import floor

from app.loyalty.orders import EarningBases, RefundFacts


def refunded_parts(refund: RefundFacts, *, taxes_included: bool, order_bases: EarningBases) -> tuple[Fraction, ...]:
    """The money a refund gave back, split like the order's bases: (merchandise, shipping, tax),
    all without tax but the tax part, in shop-currency minor units.

    Lines and shipping refunded at their calculated amounts give back exactly those parts. When
    Shopify books a `refund_discrepancy` (items refunded for less, or more, than they cost), every
    part is scaled by the money actually refunded over the calculated amount. An amount-only
    refund (no lines, no shipping) gives back a share of the whole order: its money is spread
    over the order's parts in proportion to what the customer paid for each."""
    tax = refund.bases.tax_minor
    line_tax = tax - refund.shipping_tax_minor
    merchandise = refund.bases.merchandise_minor - (line_tax if taxes_included else 0)
    shipping = refund.bases.shipping_minor - (refund.shipping_tax_minor if taxes_included else 0)
    calculated = merchandise + shipping + tax
    refunded = calculated + refund.discrepancy_minor
    if refunded <= 0:
        return Fraction(0), Fraction(0), Fraction(0)
    if calculated > 0:
        scale = Fraction(refunded, calculated)
        return merchandise * scale, shipping * scale, tax * scale
    paid = order_bases.merchandise_minor + order_bases.shipping_minor + order_bases.tax_minor
    if paid <= 0:
        return Fraction(0), Fraction(0), Fraction(0)
    return tuple(Fraction(refunded * part, paid) for part in
                 (order_bases.merchandise_minor, order_bases.shipping_minor, order_bases.tax_minor))


def refunded_against_base(parts: tuple[Fraction, ...], base_kind: str) -> Fraction:
    """The refunded money that counts against an earning base: the same parts the base adds up
    (shipping only when the base includes shipping, tax only when it includes tax)."""
    merchandise, shipping, tax = parts
    return {"subtotal": merchandise, "subtotal_with_shipping": merchandise + shipping,
            "subtotal_with_tax": merchandise + tax, "total": merchandise + shipping + tax}[base_kind]


def refund_clawback_points(earned_points: int, order_base_minor: int, refunded_base_minor: int | Fraction,
                           *, already_taken: int = 0) -> int:
    """Points to take back for one refund: the refunded share of the earning base, rounded down
    (a partial refund never costs the member more than its share), and never more than what the
    order earned minus what its earlier refunds already took back."""
    if earned_points <= 0 or order_base_minor <= 0 or refunded_base_minor <= 0:
        return 0
    share = min(Fraction(refunded_base_minor), Fraction(order_base_minor)) / order_base_minor
    return max(0, min(earned_points - already_taken, floor(earned_points * share)))


@dataclass(frozen=True)
class ClawbackSplit:
    taken: int  # points actually removed (positive number)
    shortfall: int  # points that could not be removed because they were already spent


def limit_to_balance(points: int, spendable: int, *, allow_negative: bool) -> ClawbackSplit:
    """When the member already spent the points, take only what is there unless the owner
    allows a negative balance; the rest is recorded as a shortfall."""
    if allow_negative:
        return ClawbackSplit(points, 0)
    taken = max(0, min(points, spendable))
    return ClawbackSplit(taken, points - taken)
