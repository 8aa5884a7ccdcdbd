"""The pooled modules' settings through /api/v1/program, and the members-only reward flag."""
from tests.admin.helpers import bearer


def test_the_modules_are_off_by_default_and_listed_in_the_program(client, shop):
    body = client.get("/api/v1/program", headers=bearer()).json
    assert body["cashback"] == {"enabled": False, "percent": "2", "mode": "with_points"}
    assert body["membership"]["enabled"] is False and body["membership"]["variant_id"] is None
    assert body["households"] == {"enabled": False, "max_members": 4, "invitation_days": 14}


def test_patch_turns_each_module_on_with_validated_settings(client, shop):
    response = client.patch("/api/v1/program", headers=bearer(), json={
        "cashback": {"enabled": True, "percent": "3.5", "mode": "instead_of_points"},
        "membership": {"enabled": True, "variant_id": "gid://shopify/ProductVariant/45000000000001", "months": 12,
                       "points_multiplier": "1.5"},
        "households": {"enabled": True, "max_members": 5}})
    assert response.status_code == 200, response.json
    assert response.json["cashback"]["percent"] == "3.5" and response.json["households"]["max_members"] == 5
    assert response.json["membership"]["variant_id"].endswith("/45000000000001")


def test_bad_module_settings_are_422_naming_each_field(client, shop):
    response = client.patch("/api/v1/program", headers=bearer(), json={
        "cashback": {"percent": "0"}, "households": {"max_members": 1},
        "membership": {"variant_id": "45000000000001", "months": 0}})
    assert response.status_code == 422
    fields = {f["field"] for f in response.json["error"]["fields"]}
    assert {"cashback.percent", "households.max_members", "membership.variant_id", "membership.months"} <= fields


def test_a_reward_can_be_flagged_members_only(client, shop):
    created = client.post("/api/v1/rewards", headers=bearer(), json={
        "name": "Club gift", "kind": "amount_off", "points_cost": 100, "value": "10", "members_only": True})
    assert created.status_code == 201 and created.json["members_only"] is True
    bad = client.post("/api/v1/rewards", headers=bearer(), json={
        "name": "X", "kind": "amount_off", "points_cost": 100, "value": "10", "members_only": "yes"})
    assert bad.status_code == 422


def test_the_program_api_refuses_a_caller_without_a_session_token(client, shop):
    assert client.patch("/api/v1/program", json={"cashback": {"enabled": True}}).status_code == 401
