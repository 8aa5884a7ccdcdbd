"""Domain errors. Messages are written for the person who will read them (owner or shopper)
and say what to do next; app/errors.py maps each class to an HTTP status in one place."""
from __future__ import annotations


class LoyaltyError(Exception):
    code = "loyalty_error"


class NotFound(LoyaltyError):
    code = "not_found"


class InvalidInput(LoyaltyError):
    """Input that breaks a rule; `fields` maps a field path to its problem."""

    code = "invalid"

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.fields = fields or {}


class InsufficientPoints(LoyaltyError):
    code = "insufficient_points"


class RewardUnavailable(LoyaltyError):
    code = "reward_unavailable"


class MemberBlocked(LoyaltyError):
    code = "member_blocked"


class ActionNotAllowed(LoyaltyError):
    """An action claim that the program's limits refuse (already claimed, disabled...)."""

    code = "action_not_allowed"


class RedemptionFailed(LoyaltyError):
    """Shopify could not create the code; the points were given back."""

    code = "redemption_failed"


class Gone(LoyaltyError):
    """Something that existed and can no longer be used (e.g. an expired invitation)."""

    code = "gone"
