"""What the personal widget puts first: the next reward in reach and the actions left to do.

Pure rules on plain values; app/queries/member_state.py feeds them the member's figures."""
from __future__ import annotations

from typing import Any

# Effort, least first: the welcome path shows new members what is quickest to do.
EASIEST_ACTIONS = ("first_order", "signup", "newsletter", "birthday", "profile_completion", "social_follow",
                   "social_share", "product_review")
WELCOME_STAGE = "engagement"


def next_reward(rewards: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The cheapest reward not yet affordable ("120 points to USD 5 off"); when every reward is
    affordable, the dearest one ("you can redeem USD 20 off"). None without rewards."""
    if not rewards:
        return None
    ahead = [r for r in rewards if r["points_needed"] > 0]
    chosen = min(ahead, key=_cost) if ahead else max(rewards, key=_cost)
    return {"state": "to_go" if ahead else "redeemable", "reward_id": chosen["id"], "name": chosen["name"],
            "description": chosen["description"], "points_needed": chosen["points_needed"]}


def _cost(reward: dict[str, Any]) -> int:
    return reward["min_points"] or reward["points_cost"] or 0


def actions_in_order(enabled: dict[str, int], done: set[str], *, stage: str | None) -> list[dict[str, Any]]:
    """`enabled`: action key -> points. Not-done actions before done ones; for members in the
    welcome stage the first-order bonus and then the easiest actions lead."""
    def rank(key: str) -> tuple[int, int, int]:
        effort = EASIEST_ACTIONS.index(key) if key in EASIEST_ACTIONS else len(EASIEST_ACTIONS)
        welcome = stage == WELCOME_STAGE
        return (key in done, effort if welcome else 0, 0 if welcome else -enabled[key])
    return [{"key": key, "points": enabled[key], "done": key in done} for key in sorted(enabled, key=rank)]
