"""The segments API: owner segments compiled to one SQL query, live counts, paged customer ids,
built-in lifecycle segments (read-only), 422 naming the bad condition, shop isolation."""
import pytest

from tests.admin.helpers import bearer
from tests.segments.seed import add_member, add_order, recompute
from tests.support import OTHER_SHOP, utc

REPEAT_BUYERS = {"name": "Repeat buyers", "match": "all",
                 "conditions": [{"field": "orders_count", "op": "gte", "value": 2},
                                {"field": "last_order_at", "op": "within_days", "value": 60}]}


@pytest.fixture
def customers(t, shop):
    """1: two recent orders; 2: one order 100 days ago; 3: account, no order; 4: guest, tagged VIP."""
    one = add_member(t, shop, 1, country_code="CA", customer_tags="vip, Wholesale", accepts_marketing=True)
    add_order(t, shop, one, days_ago=5, total=20000)
    add_order(t, shop, one, days_ago=40, total=5000)
    two = add_member(t, shop, 2, country_code="US")
    add_order(t, shop, two, days_ago=100, total=7000)
    add_member(t, shop, 3, birthday=utc(1990, 2, 1).date())
    add_member(t, shop, 4, account_state=None, customer_tags="VIP")
    recompute(t, shop)


def create(client, body, **kw):
    return client.post("/api/v1/segments", json=body, headers=bearer(**kw))


@pytest.mark.both_backends
def test_a_created_segment_answers_201_with_its_id_and_count(client, customers):
    response = create(client, REPEAT_BUYERS)
    assert response.status_code == 201
    assert response.json["count"] == 1 and isinstance(response.json["id"], int)
    page = client.get(f"/api/v1/segments/{response.json['id']}/members", headers=bearer()).json
    assert page["customer_ids"] == [1] and page["next_cursor"] is None


@pytest.mark.both_backends
@pytest.mark.parametrize("condition, customers_in", [
    ({"field": "lifecycle_stage", "op": "in", "value": ["at_risk", "engagement"]}, [2, 3]),
    ({"field": "lifecycle_stage", "op": "eq", "value": "awareness"}, [4]),
    ({"field": "customer_tags", "op": "contains", "value": "VIP"}, [1, 4]),
    ({"field": "customer_tags", "op": "in", "value": ["wholesale", "none"]}, [1]),
    ({"field": "country", "op": "ne", "value": "ca"}, [2]),
    ({"field": "total_spent", "op": "gt", "value": "70.00"}, [1]),
    ({"field": "total_spent", "op": "lte", "value": 70}, [2, 3, 4]),
    ({"field": "birthday_month", "op": "eq", "value": 2}, [3]),
    ({"field": "accepts_marketing", "op": "eq", "value": True}, [1]),
    ({"field": "first_order_at", "op": "lt", "value": "2024-12-01"}, [2]),
    ({"field": "recency", "op": "eq", "value": 5}, [1]),
    ({"field": "rfm_segment", "op": "in", "value": ["champions", "loyal", "potential_loyalist"]}, [1]),
    ({"field": "points_balance", "op": "eq", "value": 0}, [1, 2, 3, 4]),
    ({"field": "tier", "op": "eq", "value": "gold"}, []),
])
def test_each_field_filters_members_in_sql(client, customers, condition, customers_in):
    segment = create(client, {"name": "Test", "match": "all", "conditions": [condition]}).json
    page = client.get(f"/api/v1/segments/{segment['id']}/members", headers=bearer()).json
    assert sorted(page["customer_ids"]) == customers_in and segment["count"] == len(customers_in)


def test_match_any_joins_the_conditions_with_or(client, customers):
    body = {"name": "Either", "match": "any", "conditions": [
        {"field": "country", "op": "eq", "value": "US"}, {"field": "customer_tags", "op": "contains", "value": "vip"}]}
    assert create(client, body).json["count"] == 3


@pytest.mark.both_backends
def test_members_are_paged_with_a_cursor(client, customers):
    segment = create(client, {"name": "All", "conditions": [{"field": "orders_count", "op": "gte", "value": 0}]}).json
    first = client.get(f"/api/v1/segments/{segment['id']}/members?limit=3", headers=bearer()).json
    second = client.get(f"/api/v1/segments/{segment['id']}/members?limit=3&cursor={first['next_cursor']}",
                        headers=bearer()).json
    assert first["customer_ids"] == [1, 2, 3] and second == {"segment_id": segment["id"], "customer_ids": [4],
                                                             "next_cursor": None}
    assert client.get(f"/api/v1/segments/{segment['id']}/members?cursor=abc", headers=bearer()).status_code == 404


def test_the_list_has_the_built_in_stages_and_live_counts(client, t, shop, customers):
    create(client, REPEAT_BUYERS)
    listed = {s["id"]: s for s in client.get("/api/v1/segments", headers=bearer()).json["segments"]}
    assert {k: s["count"] for k, s in listed.items() if s["built_in"]} == {
        "lifecycle:awareness": 1, "lifecycle:engagement": 1, "lifecycle:conversion": 0, "lifecycle:loyalty": 1,
        "lifecycle:at_risk": 1, "lifecycle:lapsed": 0}
    custom = next(s for s in listed.values() if not s["built_in"])
    assert (custom["name"], custom["count"]) == ("Repeat buyers", 1)
    add_order(t, shop, add_member(t, shop, 5), days_ago=1)
    recompute(t, shop)
    listed = {s["id"]: s["count"] for s in client.get("/api/v1/segments", headers=bearer()).json["segments"]}
    assert listed["lifecycle:conversion"] == 1


def test_built_in_segments_are_read_only(client, customers):
    assert client.get("/api/v1/segments/lifecycle:at_risk", headers=bearer()).json["count"] == 1
    assert client.put("/api/v1/segments/lifecycle:at_risk", json=REPEAT_BUYERS, headers=bearer()).status_code == 409
    assert client.delete("/api/v1/segments/lifecycle:at_risk", headers=bearer()).status_code == 409


def test_a_segment_is_replaced_with_put_and_removed_with_delete(client, customers):
    segment_id = create(client, REPEAT_BUYERS).json["id"]
    changed = client.put(f"/api/v1/segments/{segment_id}", headers=bearer(), json={
        "name": "Canadians", "match": "all", "conditions": [{"field": "country", "op": "eq", "value": "CA"}]})
    assert changed.status_code == 200 and (changed.json["name"], changed.json["count"]) == ("Canadians", 1)
    assert client.delete(f"/api/v1/segments/{segment_id}", headers=bearer()).status_code == 204
    assert client.get(f"/api/v1/segments/{segment_id}", headers=bearer()).status_code == 404


@pytest.mark.parametrize("condition, problem", [
    ({"field": "orders_count", "op": "within_days", "value": 30}, "within_days is for dates"),
    ({"field": "shoe_size", "op": "eq", "value": 42}, "unknown field"),
    ({"field": "recency", "op": "gt", "value": 6}, "from 1 to 5"),
    ({"field": "lifecycle_stage", "op": "eq", "value": "asleep"}, "one of awareness"),
    ({"field": "lifecycle_stage", "op": "gt", "value": "loyalty"}, "takes the ops eq, ne, in"),
    ({"field": "last_order_at", "op": "gt", "value": "yesterday"}, "ISO date"),
    ({"field": "customer_tags", "op": "contains", "value": "a,b"}, "comma"),
    ({"field": "accepts_marketing", "op": "eq", "value": "yes"}, "true or false"),
    ({"field": "total_spent", "op": "gt", "value": "lots"}, "amount"),
    ({"field": "country", "op": "in", "value": []}, "list of 1 to 100"),
])
def test_an_invalid_condition_is_422_naming_index_field_op_and_problem(client, customers, condition, problem):
    body = {"name": "Bad", "conditions": [{"field": "orders_count", "op": "gte", "value": 1}, condition]}
    response = create(client, body)
    assert response.status_code == 422
    fields = {f["field"]: f["problem"] for f in response.json["error"]["fields"]}
    assert list(fields) == ["conditions[1]"] and problem in fields["conditions[1]"]
    assert f"'{condition['field']}'" in fields["conditions[1]"] and f"'{condition['op']}'" in fields["conditions[1]"]
    assert "conditions[1]" in response.json["error"]["message"]
    assert client.get("/api/v1/segments", headers=bearer()).json["segments"][-1]["built_in"]


def test_a_name_and_a_match_are_required_and_names_are_unique(client, customers):
    response = create(client, {"match": "some", "conditions": REPEAT_BUYERS["conditions"]})
    assert {f["field"] for f in response.json["error"]["fields"]} == {"name", "match"}
    create(client, REPEAT_BUYERS)
    assert create(client, REPEAT_BUYERS).status_code == 409


@pytest.mark.both_backends
def test_another_shops_segment_is_404_and_its_members_are_not_counted(client, t, shop, other_shop, customers):
    theirs = add_member(t, other_shop, 1, country_code="CA")
    add_order(t, other_shop, theirs, days_ago=1)
    recompute(t, other_shop)
    segment_id = create(client, {"name": "CA", "conditions": [{"field": "country", "op": "eq", "value": "CA"}]}).json
    assert segment_id["count"] == 1
    assert client.get(f"/api/v1/segments/{segment_id['id']}", headers=bearer(OTHER_SHOP)).status_code == 404
    assert client.get(f"/api/v1/segments/{segment_id['id']}/members", headers=bearer(OTHER_SHOP)).status_code == 404


def test_segments_need_a_session_token(client, customers):
    assert client.get("/api/v1/segments").status_code == 401
    assert client.post("/api/v1/segments", json=REPEAT_BUYERS).status_code == 401


@pytest.mark.both_backends
def test_the_member_api_shows_the_lifecycle_stage_and_rfm(client, customers):
    body = client.get("/api/v1/members/1", headers=bearer()).json
    assert body["lifecycle_stage"] == "loyalty"
    assert body["rfm"] == {"recency": 5, "frequency": 5, "monetary": 5, "segment": "champions"}
    assert client.get("/api/v1/members/3", headers=bearer()).json["rfm"] == {
        "recency": None, "frequency": None, "monetary": None, "segment": None}
