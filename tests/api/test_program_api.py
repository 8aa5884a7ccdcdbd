"""The program API: read, replace (as a new version) with 422 naming the field on invalid
settings; the reward catalog."""
from sqlalchemy import select

from app.models import Reward
from tests.admin.helpers import bearer
from tests.support import OTHER_SHOP


def test_get_program_returns_the_settings_and_the_version(client, shop):
    body = client.get("/api/v1/program", headers=bearer()).json
    assert body["version"] == 1 and body["earning"]["points_per_unit"] == "1"
    assert body["actions"]["signup"]["points"] == 100 and body["widget"]["program_name"] == "Rewards"


def test_what_get_returns_can_be_changed_and_put_back(client, shop):
    body = client.get("/api/v1/program", headers=bearer()).json
    body["earning"]["points_per_unit"] = "2.5"
    body["expiry"] = {"policy": "inactivity", "months": 6, "reminder_days": 14}
    response = client.put("/api/v1/program", json=body, headers=bearer(sub="777"))
    assert response.status_code == 200
    assert response.json["version"] == 2 and response.json["updated_by"] == "777"
    again = client.get("/api/v1/program", headers=bearer()).json
    assert again["earning"]["points_per_unit"] == "2.5" and again["expiry"]["policy"] == "inactivity"


def test_put_accepts_the_settings_wrapped_in_program(client, shop):
    response = client.put("/api/v1/program", json={"program": {"widget": {"program_name": "Club"}}}, headers=bearer())
    assert response.status_code == 200 and response.json["widget"]["program_name"] == "Club"


def test_patch_changes_only_what_it_names(client, shop):
    client.put("/api/v1/program", json={"widget": {"program_name": "Club"}}, headers=bearer())
    response = client.patch("/api/v1/program", json={"earning": {"points_per_unit": "3"}, "version": 99},
                            headers=bearer())
    assert response.status_code == 200 and response.json["version"] == 3
    assert response.json["earning"]["points_per_unit"] == "3" and response.json["earning"]["base"] == "subtotal"
    assert response.json["widget"]["program_name"] == "Club"
    bad = client.patch("/api/v1/program", json={"expiry": {"months": 0}}, headers=bearer())
    assert bad.status_code == 422 and bad.json["error"]["fields"][0]["field"] == "expiry.months"


def test_invalid_settings_are_422_with_each_field_and_problem(client, shop):
    response = client.put("/api/v1/program", json={"earning": {"points_per_unit": -1}, "widget": {"colour": "red"}},
                          headers=bearer())
    assert response.status_code == 422
    problems = {f["field"]: f["problem"] for f in response.json["error"]["fields"]}
    assert "greater than or equal to 0" in problems["earning.points_per_unit"]
    assert "widget.colour" in problems
    assert client.get("/api/v1/program", headers=bearer()).json["version"] == 1


def test_a_body_that_is_not_an_object_is_422(client, shop):
    response = client.put("/api/v1/program", json=[1, 2], headers=bearer())
    assert response.status_code == 422 and response.json["error"]["fields"] == [
        {"field": "body", "problem": "must be a JSON object"}]


def test_program_needs_a_session_token(client, shop):
    assert client.get("/api/v1/program").status_code == 401
    assert client.put("/api/v1/program", json={}).status_code == 401


def test_each_shop_has_its_own_program(client, shop, other_shop):
    client.put("/api/v1/program", json={"widget": {"program_name": "Mine"}}, headers=bearer())
    assert client.get("/api/v1/program", headers=bearer(OTHER_SHOP)).json["widget"]["program_name"] == "Rewards"


def test_rewards_are_listed_created_changed_and_deleted(client, t, shop):
    assert [r["name"] for r in client.get("/api/v1/rewards", headers=bearer()).json["rewards"]] == ["USD 5 off"]
    created = client.post("/api/v1/rewards", json={"name": "Free shipping", "kind": "free_shipping",
                                                   "points_cost": 300}, headers=bearer())
    assert created.status_code == 201
    reward_id = created.json["id"]
    changed = client.put(f"/api/v1/rewards/{reward_id}", json={"points_cost": 250}, headers=bearer())
    assert changed.json["points_cost"] == 250 and changed.json["kind"] == "free_shipping"
    assert client.delete(f"/api/v1/rewards/{reward_id}", headers=bearer()).status_code == 204
    assert client.get(f"/api/v1/rewards/{reward_id}", headers=bearer()).status_code == 404


def test_an_invalid_reward_is_422_and_another_shops_reward_404(client, t, shop, other_shop):
    response = client.post("/api/v1/rewards", json={"name": "X", "kind": "gift"}, headers=bearer())
    assert response.status_code == 422 and "kind" in {f["field"] for f in response.json["error"]["fields"]}
    with t.db.scope(read_only=True) as session:
        theirs = session.scalar(select(Reward.id).where(Reward.shop_id == other_shop.id))
    assert client.put(f"/api/v1/rewards/{theirs}", json={"points_cost": 1}, headers=bearer()).status_code == 404
    assert client.delete(f"/api/v1/rewards/{theirs}", headers=bearer()).status_code == 404
