"""Referral rules: who may refer whom. Blocked referrals keep their reason for the owner."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from app.loyalty.wording import Reason, reason


def normalise_email(email: str | None) -> str | None:
    """Lower-case; drop +tags; ignore dots for Gmail, so one inbox is one person."""
    if not email or "@" not in email:
        return None
    local, domain = email.strip().lower().rsplit("@", 1)
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def address_fingerprint(address: dict | None) -> str | None:
    """A hash of the normalised street address (no PII stored), for the self-referral rule."""
    if not address:
        return None
    parts = [address.get(k) or "" for k in ("address1", "address2", "zip", "city", "country_code")]
    text = re.sub(r"[^a-z0-9]", "", " ".join(parts).lower())
    return hashlib.sha256(text.encode()).hexdigest() if text else None


@dataclass(frozen=True)
class Party:
    customer_id: int | None
    email: str | None
    address_fingerprint: str | None


def block_reason(referrer: Party, referee: Party, *, referee_already_referred: bool, referee_has_ordered: bool,
                 referrals_in_period: int, max_per_referrer: int | None, period_days: int) -> str | None:
    if referrer.customer_id is not None and referrer.customer_id == referee.customer_id:
        return "self-referral: the referee is the referrer"
    if normalise_email(referrer.email) and normalise_email(referrer.email) == normalise_email(referee.email):
        return "self-referral: same email address"
    if referrer.address_fingerprint and referrer.address_fingerprint == referee.address_fingerprint:
        return "self-referral: same address"
    if referee_already_referred:
        return "the referee was already referred by someone"
    if referee_has_ordered:
        return "the referee was already a customer"
    if max_per_referrer is not None and referrals_in_period >= max_per_referrer:
        return f"the referrer reached the limit of {max_per_referrer} referrals per {period_days} days"
    return None


# Ledger reasons are shown to the member and kept forever, so they name no other person: the
# referee is "a friend", identified only by the referral's number (the owner can look it up).
def referral_reward_reason(referral_id: int, points: int) -> Reason:
    return reason("referral.reward", referral=referral_id, points=points)


def referral_reversal_reason(referral_id: int, points_taken: int, shortfall_points: int) -> Reason:
    if shortfall_points:
        return reason("referral.reversal_shortfall", referral=referral_id, points=points_taken,
                      shortfall=shortfall_points)
    return reason("referral.reversal", referral=referral_id, points=points_taken)
