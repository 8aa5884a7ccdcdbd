"""The members API: search, one member with the explained ledger, adjustments. Bearer session
token only; another shop's member is 404; an invalid body is 422 with the field and problem."""
import pytest

from tests.admin.helpers import bearer
from tests.support import CUSTOMER_ID, OTHER_SHOP, payload, session_token
from tests.support.ledger import balance, deliver, entries

@pytest.fixture
def member(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))  # Jordan Lee, #1042: 110 points
    return CUSTOMER_ID


@pytest.mark.both_backends
def test_search_finds_members_by_email_and_name(client, member):
    for query in ("jordan.lee@example", "Jordan Lee", "LEE", str(CUSTOMER_ID)):
        body = client.get(f"/api/v1/members?query={query}", headers=bearer()).json
        assert [m["customer_id"] for m in body["members"]] == [CUSTOMER_ID], query
    found = client.get("/api/v1/members?query=jordan", headers=bearer()).json["members"][0]
    assert (found["email"], found["balance"], found["pending"]) == ("jordan.lee@example.com", 110, 0)
    assert client.get("/api/v1/members?query=nobody", headers=bearer()).json["total"] == 0


@pytest.mark.both_backends
def test_a_member_comes_with_balance_pending_tier_and_the_explained_ledger(client, member):
    body = client.get(f"/api/v1/members/{CUSTOMER_ID}", headers=bearer()).json
    assert (body["balance"], body["pending"], body["tier"]) == (110, 0, None)
    assert body["ledger"] == [{
        "id": body["ledger"][0]["id"], "at": body["ledger"][0]["at"], "kind": "earn", "points": 110,
        "reason": body["ledger"][0]["reason"], "balance_after": 110, "staff_user_id": None,
        "order_id": 5981273456789, "pending_until": None, "expires_at": None}]
    assert body["ledger"][0]["reason"].startswith("Order #1042:")


@pytest.mark.both_backends
def test_an_adjustment_is_created_with_the_reason_and_audited(client, t, shop, member):
    response = client.post(f"/api/v1/members/{CUSTOMER_ID}/adjustments", json={"points": -50, "reason": "Wrong size"},
                           headers=bearer(sub="9001"))
    assert response.status_code == 201
    assert response.json["balance"] == 60 and response.json["entry"]["staff_user_id"] == "9001"
    assert entries(t, shop)[-1].reason == "Adjusted by staff: Wrong size"


def test_an_invalid_adjustment_is_422_with_the_field_and_the_problem(client, t, shop, member):
    cases = [({"points": -50}, "reason"), ({"points": -50, "reason": ""}, "reason"),
             ({"points": "50", "reason": "x"}, "points"), ({"points": 0, "reason": "x"}, "points"),
             ({"reason": "x"}, "points"), ({"points": 5, "reason": "x" * 501}, "reason")]
    for body, field in cases:
        response = client.post(f"/api/v1/members/{CUSTOMER_ID}/adjustments", json=body, headers=bearer())
        assert response.status_code == 422, body
        problems = {f["field"]: f["problem"] for f in response.json["error"]["fields"]}
        assert problems.get(field), body
    assert balance(t, shop).balance == 110


def test_a_body_that_is_not_a_json_object_is_422(client, member):
    response = client.post(f"/api/v1/members/{CUSTOMER_ID}/adjustments", data="points=5",
                           headers={**bearer(), "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 422 and response.json["error"]["fields"][0]["field"] == "body"


def test_removing_more_than_the_balance_is_409(client, member):
    response = client.post(f"/api/v1/members/{CUSTOMER_ID}/adjustments", json={"points": -111, "reason": "x"},
                           headers=bearer())
    assert response.status_code == 409


@pytest.mark.both_backends
def test_a_retried_adjustment_with_an_idempotency_key_counts_once(client, t, shop, member):
    for _ in range(2):
        response = client.post(f"/api/v1/members/{CUSTOMER_ID}/adjustments", json={"points": 5, "reason": "x"},
                               headers={**bearer(), "Idempotency-Key": "script-run-7"})
        assert response.status_code == 201
    assert balance(t, shop).balance == 115


@pytest.mark.both_backends
def test_another_shops_member_is_404(client, t, shop, other_shop, member):
    other = bearer(OTHER_SHOP)
    assert client.get(f"/api/v1/members/{CUSTOMER_ID}", headers=other).status_code == 404
    assert client.post(f"/api/v1/members/{CUSTOMER_ID}/adjustments", json={"points": 5, "reason": "x"},
                       headers=other).status_code == 404
    assert client.get("/api/v1/members?query=jordan", headers=other).json["members"] == []
    assert balance(t, shop).balance == 110


def test_an_unknown_customer_is_404(client, member):
    response = client.get("/api/v1/members/123", headers=bearer())
    assert response.status_code == 404 and "No member with customer id 123" in response.json["error"]["message"]


def test_without_a_valid_session_token_every_endpoint_is_401(client, member):
    wrong_secret = session_token(secret="shpss_wrong_secret_0123456789abcdef")
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": f"Bearer {wrong_secret}"}):
        assert client.get("/api/v1/members?query=jordan", headers=headers).status_code == 401
        assert client.get(f"/api/v1/members/{CUSTOMER_ID}", headers=headers).status_code == 401
        response = client.post(f"/api/v1/members/{CUSTOMER_ID}/adjustments", json={"points": 5, "reason": "x"},
                               headers=headers)
        assert response.status_code == 401 and "jordan" not in response.get_data(as_text=True).lower()


def test_block_and_unblock(client, t, shop, member):
    response = client.post(f"/api/v1/members/{CUSTOMER_ID}/block", json={"reason": "fraud"}, headers=bearer())
    assert response.json["blocked"] is True and response.json["block_reason"].startswith("fraud")
    assert client.get(f"/api/v1/members/{CUSTOMER_ID}", headers=bearer()).json["blocked"] is True
    assert client.post(f"/api/v1/members/{CUSTOMER_ID}/unblock", headers=bearer()).json["blocked"] is False
