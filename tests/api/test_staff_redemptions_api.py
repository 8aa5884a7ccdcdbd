"""Staff redemptions from the POS extension (`POST /api/v1/members/<id>/redemptions`): the POS
session token (an admin-style ID token whose `sub` is the staff user) redeems a reward for the
member on the cart with the shopper's own rules and idempotency, and the staff user is recorded."""
import pytest
from sqlalchemy import select

from app.models import LedgerEntry, Redemption, Shop
from app.services.members import block_member, find_member
from app.services.rewards import create_reward
from tests.admin.helpers import bearer
from tests.support import CUSTOMER_ID, OTHER_SHOP
from tests.support.ledger import adjust, balance

pytestmark = pytest.mark.both_backends
STAFF = "77001"


def reward(t, shop, **fields):
    data = {"kind": "amount_off", "name": "USD 10 off", "points_cost": 200, "value": "10"} | fields
    with t.db.scope() as session:
        return create_reward(session, session.get(Shop, shop.id), data).id


def redeem(client, reward_id, key="pos-tap-0001", shop_headers=None):
    return client.post(f"/api/v1/members/{CUSTOMER_ID}/redemptions", json={"reward_id": reward_id,
                       "idempotency_key": key}, headers=shop_headers or bearer(sub=STAFF))


def redemption_rows(t):
    with t.db.scope(read_only=True) as session:
        return session.scalars(select(Redemption)).all()


def test_staff_redeem_a_reward_into_a_code_and_the_debit_names_the_staff_user(client, t, shop, stub):
    adjust(t, shop, 300)
    response = redeem(client, reward(t, shop))
    assert response.status_code == 201, response.json
    assert response.json["code"] and (response.json["points_spent"], response.json["balance"]) == (200, 100)
    assert response.json["staff_user_id"] == STAFF
    with t.db.scope(read_only=True) as session:
        debit = session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "redeem"))
    assert (debit.points, debit.staff_user_id) == (-200, STAFF)


def test_the_same_key_twice_returns_the_same_code_and_debits_once(client, t, shop, stub):
    adjust(t, shop, 500)
    reward_id = reward(t, shop)
    first, again = redeem(client, reward_id), redeem(client, reward_id)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json["code"] == first.json["code"] and again.json["balance"] == 300
    assert len(redemption_rows(t)) == 1 and balance(t, shop).balance == 300 and len(stub.mutations) == 1


def test_too_few_points_is_409_and_nothing_is_held(client, t, shop, stub):
    adjust(t, shop, 150)
    response = redeem(client, reward(t, shop))
    assert response.status_code == 409 and "needs 200 points" in response.json["error"]["message"]
    assert redemption_rows(t) == [] and balance(t, shop).balance == 150 and stub.mutations == []


def test_a_blocked_member_is_403(client, t, shop, stub):
    adjust(t, shop, 300)
    reward_id = reward(t, shop)
    with t.db.scope() as session:
        block_member(session, find_member(session, session.get(Shop, shop.id), CUSTOMER_ID), reason="fraud",
                     now=t.clock())
    assert redeem(client, reward_id).status_code == 403 and redemption_rows(t) == []


def test_an_unknown_reward_is_404(client, t, shop):
    adjust(t, shop, 300)
    assert redeem(client, 987654).status_code == 404


def test_a_customer_who_is_not_a_member_is_404_and_is_not_enrolled(client, t, shop):
    response = client.post("/api/v1/members/4242/redemptions", json={"reward_id": reward(t, shop),
                           "idempotency_key": "pos-tap-0002"}, headers=bearer(sub=STAFF))
    assert response.status_code == 404 and redemption_rows(t) == []


def test_without_a_session_token_the_redemption_is_refused(client, t, shop):
    adjust(t, shop, 300)
    response = client.post(f"/api/v1/members/{CUSTOMER_ID}/redemptions", json={"reward_id": reward(t, shop),
                           "idempotency_key": "pos-tap-0003"})
    assert response.status_code == 401 and balance(t, shop).balance == 300


def test_another_shops_staff_cannot_redeem_this_shops_member(client, t, shop, other_shop):
    adjust(t, shop, 300)
    assert redeem(client, reward(t, shop), shop_headers=bearer(OTHER_SHOP, sub=STAFF)).status_code == 404
    assert balance(t, shop).balance == 300


def test_the_pos_modal_gets_the_members_rewards_with_what_they_can_afford(client, t, shop):
    adjust(t, shop, 300)
    reward(t, shop, name="USD 20 off", points_cost=400, value="20")
    body = client.get(f"/api/v1/members/{CUSTOMER_ID}", headers=bearer(sub=STAFF)).json
    affordable = {r["name"]: r["affordable"] for r in body["rewards"]}
    assert affordable["USD 20 off"] is False and body["balance"] == 300
