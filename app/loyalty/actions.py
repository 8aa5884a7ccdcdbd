"""Points for actions (signup, birthday, reviews, social follows...) and their limits."""
from __future__ import annotations

from datetime import datetime, timedelta

from app.loyalty.errors import ActionNotAllowed
from app.loyalty.ledger import action_key
from app.loyalty.program import ActionRule, Program, SocialRule
from app.loyalty.wording import Reason, reason

ACTION_LABELS = {
    "signup": "Created an account", "birthday": "Happy birthday", "first_order": "First order bonus",
    "order_streak": "Order streak bonus", "newsletter": "Subscribed to the newsletter",
    "social_follow": "Followed us", "social_share": "Shared us", "product_review": "Wrote a product review",
    "profile_completion": "Completed the profile",
}


def action_rule(program: Program, action: str) -> ActionRule | SocialRule:
    rule = getattr(program.actions, action, None)
    if rule is None:
        raise ActionNotAllowed(f"'{action}' is not an action of this program")
    return rule


def claim_key(program: Program, member_id: int, action: str, *, at: datetime, ref: str | None = None,
              previous_claims: list[datetime] | None = None) -> str:
    """The ledger key for this claim, or ActionNotAllowed explaining why it is refused.

    The key encodes the limit: `once` -> one key ever, `once_per_year` -> one per year,
    per network for social actions; `per_period` and `unlimited` use the caller's reference
    (e.g. the review id) so the same review never pays twice.
    """
    rule = action_rule(program, action)
    if not rule.enabled:
        raise ActionNotAllowed(f"{ACTION_LABELS.get(action, action)} does not earn points in this program")
    if isinstance(rule, SocialRule):
        if not ref or ref not in rule.networks:
            raise ActionNotAllowed(f"choose one of: {', '.join(sorted(rule.networks)) or 'no networks set up'}")
        return action_key(member_id, action, ref)
    if rule.limit == "once":
        return action_key(member_id, action)
    if rule.limit == "once_per_year":
        return action_key(member_id, action, str(at.year))
    if not ref:
        raise ActionNotAllowed(f"{action} needs a reference (e.g. the review id)")
    if rule.limit == "per_period":
        window_start = at - timedelta(days=rule.period_days)
        recent = [c for c in previous_claims or [] if c > window_start]
        if len(recent) >= rule.max_per_period:
            raise ActionNotAllowed(f"{ACTION_LABELS.get(action, action)}: at most {rule.max_per_period} "
                                   f"every {rule.period_days} days")
    return action_key(member_id, action, ref)


def action_reason(action: str, points: int, detail: str | None = None) -> Reason:
    # An action of a newer program than the catalogue knows keeps its own name.
    label = reason(f"action.{action}") if action in ACTION_LABELS else action
    if detail:
        return reason("action.points_detail", action=label, detail=detail, points=points)
    return reason("action.points", action=label, points=points)
