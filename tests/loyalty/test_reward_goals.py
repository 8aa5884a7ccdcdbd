"""The next reward to aim for and the rewards a balance just reached."""
from app.loyalty.reward_goals import RewardGoal, next_reward, rewards_reached

GOALS = [RewardGoal(1, "$5 off", 100), RewardGoal(2, "$20 off", 400), RewardGoal(3, "Gold gift", 250, ("gold",))]


def test_the_next_reward_is_the_cheapest_one_not_yet_affordable_in_the_members_tier():
    assert next_reward(GOALS, 110, None).name == "$20 off"
    assert next_reward(GOALS, 110, "gold").name == "Gold gift"
    assert next_reward(GOALS, 500, "gold") is None


def test_a_reward_is_reached_once_when_the_balance_crosses_its_cost():
    assert [g.name for g in rewards_reached(GOALS, 90, 120, None)] == ["$5 off"]
    assert rewards_reached(GOALS, 120, 150, None) == []
    assert [g.name for g in rewards_reached(GOALS, 0, 400, "gold")] == ["$5 off", "Gold gift", "$20 off"]
    assert rewards_reached(GOALS, 150, 90, None) == []
