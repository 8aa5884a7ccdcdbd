"""The personal widget's ordering rules, without a database."""
from app.loyalty.widget import actions_in_order, next_reward


def reward(id_, cost, needed):
    return {"id": id_, "name": f"R{cost}", "description": "", "points_cost": cost, "min_points": None,
            "points_needed": needed}


def test_the_cheapest_reward_still_out_of_reach_is_next():
    nxt = next_reward([reward(1, 500, 0), reward(3, 2000, 1620), reward(2, 1000, 620)])
    assert (nxt["reward_id"], nxt["state"], nxt["points_needed"]) == (2, "to_go", 620)


def test_with_every_reward_affordable_the_dearest_can_be_redeemed():
    assert next_reward([reward(1, 500, 0), reward(2, 1000, 0)])["state"] == "redeemable"
    assert next_reward([]) is None


def test_open_actions_lead_with_the_most_points_outside_the_welcome_path():
    ordered = actions_in_order({"signup": 100, "birthday": 200, "newsletter": 50}, {"signup"}, stage="loyalty")
    assert [(a["key"], a["done"]) for a in ordered] == [("birthday", False), ("newsletter", False), ("signup", True)]


def test_the_welcome_path_leads_with_the_first_order_bonus_then_the_easiest():
    ordered = actions_in_order({"birthday": 200, "newsletter": 50, "first_order": 100}, set(), stage="engagement")
    assert [a["key"] for a in ordered] == ["first_order", "newsletter", "birthday"]
