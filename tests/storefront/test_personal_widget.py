"""GET /proxy/member, the personal part: first name, the next reward in reach, the actions left
to do first, and the welcome path for members who have not ordered yet."""
import pytest

from app.models import Member, Shop
from app.services.rewards import create_reward
from tests.support import CUSTOMER_ID, payload, signed_proxy_query
from tests.support.ledger import adjust, deliver, member_of, set_program

pytestmark = pytest.mark.both_backends


def member_state(client, customer_id=CUSTOMER_ID):
    return client.get(f"/proxy/member?{signed_proxy_query(customer_id=customer_id)}").json


def add_rewards(t, shop, *costs):
    with t.db.scope() as session:
        for cost in costs:
            create_reward(session, session.get(Shop, shop.id), {"name": f"Reward {cost}", "kind": "amount_off",
                                                                "points_cost": cost, "value": str(cost // 100)})


def test_the_member_is_greeted_by_first_name(client, t, shop):
    adjust(t, shop, 10)
    with t.db.scope() as session:
        session.get(Member, member_of(t, shop).id).first_name = "Ada"
        session.commit()
    assert member_state(client)["first_name"] == "Ada"


def test_next_reward_is_the_cheapest_not_yet_affordable(client, t, shop):
    add_rewards(t, shop, 1000, 2000)  # besides the shop's starting "USD 5 off" for 500
    adjust(t, shop, 280)  # plus the 100 signup points on the first load
    nxt = member_state(client)["next_reward"]
    assert (nxt["state"], nxt["name"], nxt["points_needed"]) == ("to_go", "USD 5 off", 120)
    adjust(t, shop, 500)
    nxt = member_state(client)["next_reward"]
    assert (nxt["state"], nxt["name"], nxt["points_needed"]) == ("to_go", "Reward 1000", 120)


def test_when_every_reward_is_affordable_the_dearest_is_offered(client, t, shop):
    add_rewards(t, shop, 500, 1000)
    adjust(t, shop, 5000)
    nxt = member_state(client)["next_reward"]
    assert (nxt["state"], nxt["name"], nxt["points_needed"]) == ("redeemable", "Reward 1000", 0)


def test_a_member_without_orders_is_on_the_welcome_path_with_the_first_order_bonus_first(client, t, shop):
    set_program(t, shop, {"actions": {"first_order": {"enabled": True, "points": 100},
                                      "birthday": {"enabled": True, "points": 200},
                                      "newsletter": {"enabled": True, "points": 50}}})
    adjust(t, shop, 10)
    body = member_state(client)
    assert (body["lifecycle_stage"], body["welcome_path"]) == ("engagement", True)
    keys = [a["key"] for a in body["actions"]]
    assert keys[0] == "first_order" and keys.index("newsletter") < keys.index("birthday")
    assert [a["done"] for a in body["actions"]][-1] is True  # the signup just paid goes last


def test_actions_not_done_come_before_done_ones(client, t, shop):
    set_program(t, shop, {"actions": {"first_order": {"enabled": True, "points": 100},
                                      "birthday": {"enabled": True, "points": 200}}})
    adjust(t, shop, 10)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    body = member_state(client)
    assert body["welcome_path"] is False
    done = [a["done"] for a in body["actions"]]
    assert done == sorted(done) and {a["key"]: a["done"] for a in body["actions"]}["first_order"] is True


def test_a_customer_not_seen_yet_has_an_account_so_is_welcomed(client, t, shop):
    body = member_state(client, customer_id=999)
    assert (body["first_name"], body["next_reward"], body["lifecycle_stage"]) == (None, None, "engagement")
