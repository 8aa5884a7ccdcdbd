"""What a member's balance is close to: the next reward to aim for, and the rewards a balance
just reached (a "reward ready" moment happens once per crossing, not on every later earn)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RewardGoal:
    reward_id: int
    name: str
    points_cost: int
    tier_keys: tuple[str, ...] = ()

    def open_to(self, tier_key: str | None) -> bool:
        return not self.tier_keys or tier_key in self.tier_keys


def next_reward(goals: list[RewardGoal], balance: int, tier_key: str | None) -> RewardGoal | None:
    """The cheapest reward the member cannot afford yet (None when every reward is affordable)."""
    ahead = [g for g in goals if g.open_to(tier_key) and g.points_cost > balance]
    return min(ahead, key=lambda g: (g.points_cost, g.reward_id), default=None)


def rewards_reached(goals: list[RewardGoal], before: int, after: int, tier_key: str | None) -> list[RewardGoal]:
    """Rewards whose cost lies in (before, after]: affordable now, not a moment ago."""
    return sorted((g for g in goals if g.open_to(tier_key) and before < g.points_cost <= after),
                  key=lambda g: (g.points_cost, g.reward_id))
