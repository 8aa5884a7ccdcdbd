"""Games use cases against a real database: challenges rewarded with a catalog item (a free code
through the redemption saga), referral challenges and badges for the referrer, the reward
checked when the program is saved, and concurrent donations never overdrawing."""
import threading

import pytest
import responses as responses_lib
from sqlalchemy import select

from app.loyalty.errors import InsufficientPoints, InvalidInput
from app.models import Redemption, Reward, Shop
from app.services.challenge_rewards import grant_challenge_rewards
from app.services.donations import donate_points
from tests.support import CUSTOMER_ID, payload
from tests.support.ledger import adjust, balance, deliver, ledger, member_of, set_program
from tests.support.shopify_stub import AdminStub

ORDER_ID = 5981273456789


def order(n: int, customer_id: int = CUSTOMER_ID, **changes) -> dict:
    body = payload("orders/paid")
    body["customer"] = dict(body["customer"], id=customer_id, email=f"c{customer_id}@example.com")
    body.update(id=ORDER_ID + n, name=f"#{3000 + n}", **changes)
    return body


def add_reward(t, shop, **values) -> int:
    with t.db.scope() as session:
        reward = Reward(shop_id=shop.id, name="USD 10 off", kind="amount_off", points_cost=1000, value=10,
                        **values)
        session.add(reward)
        session.commit()
        return reward.id


@pytest.mark.both_backends
def test_a_challenge_rewarded_with_a_catalog_item_gets_one_free_code(client, t, shop):
    reward_id = add_reward(t, shop)
    set_program(t, shop, {"challenges": {"enabled": True, "challenges": [
        {"key": "two", "name": "Two orders", "kind": "orders", "goal": 2, "days": 30, "reward_id": reward_id}]}})
    deliver(client, t, "orders/paid", order(1))
    deliver(client, t, "orders/paid", order(2))
    with responses_lib.RequestsMock() as rsps:
        stub = AdminStub(rsps)
        assert grant_challenge_rewards(t.db, admin=t.shopify, queue=t.queue, clock=t.clock) == 1
        assert grant_challenge_rewards(t.db, admin=t.shopify, queue=t.queue, clock=t.clock) == 0  # once
    [mutation] = stub.mutations
    discount = mutation["variables"]["basicCodeDiscount"]
    assert discount["context"] == {"customers": {"add": [f"gid://shopify/Customer/{CUSTOMER_ID}"]}}
    with t.db.scope(read_only=True) as session:
        redemption = session.scalar(select(Redemption))
        assert (redemption.purpose, redemption.status, redemption.points_spent) == ("challenge_reward", "issued", 0)


def test_a_challenge_naming_another_shops_or_a_slider_reward_is_refused_on_save(client, t, shop, other_shop):
    theirs = add_reward(t, other_shop)
    slider = add_reward(t, shop, points_per_unit=100, min_points=100)
    with t.db.scope() as session:
        session.get(Reward, slider).kind = "points_slider"
        session.commit()
    for reward_id in (theirs, slider):
        with pytest.raises(InvalidInput) as problem:
            set_program(t, shop, {"challenges": {"challenges": [
                {"key": "x", "name": "X", "kind": "orders", "goal": 1, "days": 3, "reward_id": reward_id}]}})
        assert "challenges.challenges.0.reward_id" in problem.value.fields


def test_the_referrer_completes_a_referral_challenge_and_badge_when_the_friend_orders(client, t, shop):
    set_program(t, shop, {"referrals": {"enabled": True, "referrer_points": 500},
                          "badges": {"enabled": True, "rules": [
                              {"key": "ambassador", "name": "Ambassador", "action": "referrals", "count": 1,
                               "bonus_points": 20}]},
                          "challenges": {"enabled": True, "challenges": [
                              {"key": "refer-one", "name": "Refer a friend", "kind": "referrals", "goal": 1,
                               "days": 30, "reward_points": 75}]}})
    deliver(client, t, "orders/paid", order(1, customer_id=111))
    friend = order(2, customer_id=222)
    friend["note_attributes"] = [{"name": "tessera_ref", "value": member_of(t, shop, 111).referral_code}]
    deliver(client, t, "orders/paid", friend)
    keys = dict(ledger(t, shop, 111))
    assert [p for k, p in keys.items() if ":badge:" in k] == [20]
    assert [p for k, p in keys.items() if ":challenge:" in k] == [75]


@pytest.mark.both_backends
def test_two_donations_at_once_never_overdraw_the_balance(t, shop, database_url):
    settings = {"charity": {"enabled": True, "points_per_unit": 100, "causes": [{"key": "trees", "name": "Trees"}]}}
    set_program(t, shop, settings)
    adjust(t, shop, 300)
    outcomes, barrier = [], threading.Barrier(2)

    def give(key):
        barrier.wait()
        with t.db.scope() as session:
            try:
                donate_points(session, session.get(Shop, shop.id), CUSTOMER_ID, "trees", 200, key, now=t.clock())
                outcomes.append("given")
            except InsufficientPoints:
                outcomes.append("short")

    threads = [threading.Thread(target=give, args=(f"request-{i}-abcdef",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["given", "short"] and balance(t, shop).balance == 100
