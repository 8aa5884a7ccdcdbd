"""Games and giving through the App Proxy, from real-shaped order webhooks: badges, challenges,
the monthly leaderboard, feedback on an order and donations to a cause."""
import pytest
from sqlalchemy import select

from app.models import ChallengeCompletion, Donation, LedgerEntry
from tests.support import CUSTOMER_ID, OTHER_SHOP, payload, signed_proxy_query, utc
from tests.support.ledger import adjust, balance, deliver, ledger, member_of, set_program

pytestmark = pytest.mark.both_backends
ORDER_ID = 5981273456789


def paid_order(client, t, order_id, *, customer_id=CUSTOMER_ID, first_name="Jordan", last_name="Lee"):
    """The fixture order (earning base $110.00 CAD: 110 points) as another order and customer."""
    body = payload("orders/paid")
    body["id"], body["name"] = order_id, f"#{order_id % 100000}"
    body["customer"].update(id=customer_id, first_name=first_name, last_name=last_name,
                            email=f"c{customer_id}@example.com")
    deliver(client, t, "orders/paid", body)
    return body


def shop_in_currency(t, shop, currency):
    from app.models import Shop
    with t.db.scope() as session:
        session.get(Shop, shop.id).currency = currency
        session.commit()


def member_json(client, customer_id=CUSTOMER_ID, shop=None):
    kwargs = {"shop": shop} if shop else {}
    response = client.get(f"/proxy/member?{signed_proxy_query(customer_id=customer_id, **kwargs)}")
    assert response.status_code == 200
    return response.json


# ---- badges ------------------------------------------------------------------------------------

def test_first_order_badge_is_earned_when_the_order_settles_and_its_bonus_paid_once(client, t, shop):
    set_program(t, shop, {"badges": {"enabled": True, "rules": [
        {"key": "first-order", "name": "First order", "action": "orders", "count": 1, "bonus_points": 40},
        {"key": "two-orders", "name": "Back again", "action": "orders", "count": 2, "bonus_points": 0}]}})
    paid_order(client, t, ORDER_ID)
    paid_order(client, t, ORDER_ID)  # the same order again: no second badge, no second bonus
    body = member_json(client)
    assert [(b["key"], b["name"]) for b in body["badges"]] == [("first-order", "First order")]
    assert body["badges"][0]["earned_at"] == t.clock().isoformat()
    assert body["next_badges"] == [{"key": "two-orders", "name": "Back again", "progress": 1, "goal": 2,
                                    "bonus_points": 0}]
    assert [points for key, points in ledger(t, shop) if ":badge:" in key] == [40]


def test_owner_defined_badge_counts_an_action_and_birthday_badge_follows_the_saved_date(client, t, shop):
    set_program(t, shop, {"badges": {"enabled": True, "rules": [
        {"key": "follower", "name": "Follower", "action": "social_follow", "count": 1, "bonus_points": 5},
        {"key": "birthday-set", "name": "Party planner", "action": "birthday_set", "count": 1}]},
        "actions": {"social_follow": {"enabled": True, "points": 10,
                                      "networks": {"instagram": "https://instagram.com/shop"}}}})
    query = signed_proxy_query()
    assert client.post(f"/proxy/claim?{query}", json={"action": "social_follow", "network": "instagram"}
                       ).status_code == 200
    assert client.post(f"/proxy/claim?{query}", json={"action": "birthday", "birthday": "1990-05-01"}
                       ).status_code == 200
    assert {b["key"] for b in member_json(client)["badges"]} == {"follower", "birthday-set"}


def test_a_year_as_a_member_is_awarded_by_the_periodic_catch_up_once(client, t, shop, clock):
    from app.services.badges import catch_up_badges_everywhere
    set_program(t, shop, {"badges": {"enabled": True}})
    paid_order(client, t, ORDER_ID)
    assert catch_up_badges_everywhere(t.db, now=clock()) == 0
    clock.advance(days=366)
    assert catch_up_badges_everywhere(t.db, now=clock()) == 1
    assert catch_up_badges_everywhere(t.db, now=clock()) == 0
    assert "one-year" in {b["key"] for b in member_json(client)["badges"]}


def test_a_birthday_on_file_without_an_event_of_ours_is_caught_up(client, t, shop, clock):
    from datetime import date

    from app.models import Member
    from app.services.badges import catch_up_badges_everywhere
    set_program(t, shop, {"badges": {"enabled": True}})
    paid_order(client, t, ORDER_ID)
    with t.db.scope() as session:
        session.scalar(select(Member)).birthday = date(1990, 5, 1)  # e.g. an import of customer data
        session.commit()
    assert catch_up_badges_everywhere(t.db, now=clock()) == 1
    assert "birthday-set" in {b["key"] for b in member_json(client)["badges"]}


def test_badges_are_off_until_the_owner_turns_them_on(client, t, shop):
    paid_order(client, t, ORDER_ID)
    body = member_json(client)
    assert body["badges"] == [] and body["next_badges"] == []


# ---- challenges --------------------------------------------------------------------------------

def challenge(**overrides):
    return {"key": "three-in-30", "name": "Three in a month", "kind": "orders", "goal": 3, "days": 30,
            "reward_points": 300, **overrides}


def test_orders_challenge_completes_within_its_rolling_window_and_pays_once(client, t, shop, clock):
    set_program(t, shop, {"challenges": {"enabled": True, "challenges": [challenge()]}})
    paid_order(client, t, 1001)
    progress = member_json(client)["challenges"][0]
    assert (progress["progress"], progress["goal"], progress["completed_at"]) == (1, 3, None)
    assert progress["ends_at"] is not None
    for order_id in (1002, 1003, 1004):
        clock.advance(days=2)
        paid_order(client, t, order_id)
    shown = member_json(client)["challenges"][0]
    assert shown["progress"] == 3 and shown["completed_at"] is not None
    bonuses = [e for e in ledger(t, shop) if ":challenge:" in e[0]]
    assert [points for _, points in bonuses] == [300]


def test_spend_challenge_counts_money_exactly_in_the_shops_currency(client, t, shop):
    shop_in_currency(t, shop, "CAD")  # the fixture orders' currency
    set_program(t, shop, {"challenges": {"enabled": True, "challenges": [
        challenge(key="spend-220", name="Spend 220", kind="spend", goal="220.01", reward_points=50)]}})
    paid_order(client, t, 2001)
    paid_order(client, t, 2002)
    shown = member_json(client)["challenges"][0]
    assert (shown["progress"], shown["goal"], shown["completed_at"]) == ("220.00", "220.01", None)
    paid_order(client, t, 2003)
    shown = member_json(client)["challenges"][0]
    assert shown["progress"] == "220.01" and shown["completed_at"] is not None


def test_cancelling_the_order_that_completed_a_challenge_takes_its_bonus_back(client, t, shop):
    set_program(t, shop, {"challenges": {"enabled": True, "challenges": [challenge(goal=1, reward_points=70)]},
                          "earning": {"pending_days": 14}})
    body = paid_order(client, t, 3001)
    before = balance(t, shop)
    assert before.pending >= 70
    cancelled = {**body, "cancelled_at": "2025-02-14T10:00:00-05:00", "financial_status": "voided"}
    deliver(client, t, "orders/cancelled", cancelled)
    after = balance(t, shop)
    assert after.pending == before.pending - sum(p for k, p in ledger(t, shop) if k.startswith("order:3001:earn")) - 70
    with t.db.scope(read_only=True) as session:
        assert session.scalar(select(ChallengeCompletion.order_id)) == 3001  # the completion stays on record


def test_fixed_window_challenge_counts_only_inside_its_dates(client, t, shop, clock):
    set_program(t, shop, {"challenges": {"enabled": True, "challenges": [
        challenge(days=None, starts_at="2025-03-01T00:00:00Z", ends_at="2025-04-01T00:00:00Z", goal=1)]}})
    paid_order(client, t, 4001)  # placed in February: before the window
    assert member_json(client)["challenges"][0]["ends_at"] is None
    clock.set(utc(2025, 3, 2, 12, 0))
    assert member_json(client)["challenges"][0]["progress"] == 0


# ---- leaderboard -------------------------------------------------------------------------------

def test_leaderboard_shows_opted_in_members_by_points_earned_this_month_with_short_names(client, t, shop):
    set_program(t, shop, {"leaderboard": {"enabled": True}})
    for order_id in (5001, 5002):
        paid_order(client, t, order_id, customer_id=101, first_name="Alice", last_name="Martin")
    paid_order(client, t, 5003, customer_id=102, first_name="", last_name="")
    for order_id in (5004, 5005, 5006):
        paid_order(client, t, order_id, customer_id=103, first_name="Hidden", last_name="Person")
    adjust(t, shop, 5000, customer_id=102)  # staff adjustments are not "earned"
    for customer_id in (101, 102):
        response = client.post(f"/proxy/leaderboard/opt-in?{signed_proxy_query(customer_id=customer_id)}",
                               json={"opted_in": True})
        assert response.status_code == 200 and response.json == {"opted_in": True}
    body = client.get(f"/proxy/leaderboard?{signed_proxy_query(customer_id=102)}").json
    assert body["month"] == "2025-02"
    assert body["entries"] == [{"rank": 1, "name": "Alice M.", "points": 220},
                               {"rank": 2, "name": "Member", "points": 110}]
    assert body["me"] == {"rank": 2, "points": 110, "opted_in": True}
    hidden = client.get(f"/proxy/leaderboard?{signed_proxy_query(customer_id=103)}").json["me"]
    assert hidden == {"rank": None, "points": 330, "opted_in": False}
    assert "example.com" not in str(body)


def test_leaderboard_opt_out_removes_the_member(client, t, shop):
    set_program(t, shop, {"leaderboard": {"enabled": True}})
    paid_order(client, t, 5001)
    url = f"/proxy/leaderboard/opt-in?{signed_proxy_query()}"
    client.post(url, json={"opted_in": True})
    assert client.post(url, json={"opted_in": False}).json == {"opted_in": False}
    assert client.get(f"/proxy/leaderboard?{signed_proxy_query()}").json["entries"] == []
    assert client.post(url, json={"opted_in": "yes"}).status_code == 422


@pytest.mark.parametrize("method,path", [("get", "/proxy/leaderboard"), ("post", "/proxy/leaderboard/opt-in"),
                                         ("post", "/proxy/feedback"), ("post", "/proxy/donate")])
def test_games_routes_refuse_requests_without_a_valid_proxy_signature(client, t, shop, method, path):
    query = signed_proxy_query(secret="shpss_not_ours")
    response = getattr(client, method)(f"{path}?{query}", json={})
    assert response.status_code == 401


# ---- feedback ----------------------------------------------------------------------------------

def feedback(client, body, customer_id=CUSTOMER_ID):
    return client.post(f"/proxy/feedback?{signed_proxy_query(customer_id=customer_id)}", json=body)


def test_feedback_on_an_own_paid_order_earns_points_once(client, t, shop):
    set_program(t, shop, {"feedback": {"enabled": True, "points": 30}})
    paid_order(client, t, ORDER_ID)
    assert member_json(client)["feedback_due"][0]["order_id"] == str(ORDER_ID)
    response = feedback(client, {"order_id": str(ORDER_ID), "nps": 9, "csat": 5, "comment": "Fast shipping"})
    assert response.status_code == 201 and response.json["points"] == 30
    again = feedback(client, {"order_id": ORDER_ID, "nps": 3, "csat": 1})
    assert again.status_code == 409
    assert [p for k, p in ledger(t, shop) if k.endswith(":feedback")] == [30]
    assert member_json(client)["feedback_due"] == []


def test_feedback_on_someone_elses_or_an_unknown_order_is_404(client, t, shop):
    set_program(t, shop, {"feedback": {"enabled": True}})
    paid_order(client, t, ORDER_ID, customer_id=555)
    assert feedback(client, {"order_id": ORDER_ID, "nps": 9, "csat": 5}).status_code == 404
    assert feedback(client, {"order_id": "123", "nps": 9, "csat": 5}).status_code == 404


@pytest.mark.parametrize("answer", [{"nps": 11, "csat": 5}, {"nps": 5, "csat": 0}, {"nps": "9", "csat": 5},
                                    {"nps": 9, "csat": 5, "comment": "x" * 1001}, {"nps": 9}])
def test_feedback_with_values_out_of_range_is_422_and_writes_nothing(client, t, shop, answer):
    set_program(t, shop, {"feedback": {"enabled": True}})
    paid_order(client, t, ORDER_ID)
    response = feedback(client, {"order_id": ORDER_ID, **answer})
    assert response.status_code == 422
    assert not [k for k, _ in ledger(t, shop) if k.endswith(":feedback")]


# ---- charity -----------------------------------------------------------------------------------

CHARITY = {"charity": {"enabled": True, "points_per_unit": 100, "matching_percent": "50", "min_points": 100,
                       "causes": [{"key": "trees", "name": "Plant trees", "description": "One tree per dollar"},
                                  {"key": "old", "name": "Old cause", "active": False}]}}


def donate(client, body, key="donation-0001", customer_id=CUSTOMER_ID):
    return client.post(f"/proxy/donate?{signed_proxy_query(customer_id=customer_id)}", json=body,
                       headers={"Idempotency-Key": key} if key else {})


def test_donation_writes_a_donation_entry_and_the_money_owed_with_matching(client, t, shop):
    set_program(t, shop, CHARITY)
    adjust(t, shop, 1000)
    response = donate(client, {"cause": "trees", "points": 250})
    assert response.status_code == 201
    assert response.json["donation"]["amount"] == "2.50" and response.json["donation"]["matched"] == "1.25"
    assert response.json["balance"] == 750
    retried = donate(client, {"cause": "trees", "points": 250})
    assert retried.status_code == 200 and retried.json["donation"]["id"] == response.json["donation"]["id"]
    with t.db.scope(read_only=True) as session:
        kinds = session.scalars(select(LedgerEntry.kind).where(LedgerEntry.points < 0)).all()
        assert kinds == ["donation"] and session.scalar(select(Donation.amount_minor)) == 250
    assert member_json(client)["charity"]["causes"] == [{"key": "trees", "name": "Plant trees",
                                                         "description": "One tree per dollar"}]


def test_donation_beyond_the_spendable_balance_is_409_and_takes_nothing(client, t, shop):
    set_program(t, shop, CHARITY)
    adjust(t, shop, 150)
    response = donate(client, {"cause": "trees", "points": 200})
    assert response.status_code == 409 and "150" in response.json["error"]["message"]
    assert balance(t, shop).balance == 150


@pytest.mark.parametrize("body", [{"cause": "old", "points": 100}, {"cause": "nope", "points": 100},
                                  {"cause": "trees", "points": 50}, {"cause": "trees", "points": "100"}])
def test_donation_to_an_unknown_or_inactive_cause_or_bad_points_is_422(client, t, shop, body):
    set_program(t, shop, CHARITY)
    adjust(t, shop, 1000)
    assert donate(client, body).status_code == 422
    assert balance(t, shop).balance == 1000


def test_donation_needs_a_request_key(client, t, shop):
    set_program(t, shop, CHARITY)
    adjust(t, shop, 1000)
    assert donate(client, {"cause": "trees", "points": 100}, key=None).status_code == 422
    body = {"cause": "trees", "points": 100, "client_id": "widget-abcdef12"}
    assert donate(client, body, key=None).status_code == 201


def test_one_shops_donations_and_answers_are_invisible_to_another(client, t, shop, other_shop, stub):
    set_program(t, shop, {**CHARITY, "leaderboard": {"enabled": True}})
    set_program(t, other_shop, {"leaderboard": {"enabled": True}})
    paid_order(client, t, ORDER_ID)
    client.post(f"/proxy/leaderboard/opt-in?{signed_proxy_query()}", json={"opted_in": True})
    theirs = client.get(f"/proxy/leaderboard?{signed_proxy_query(shop=OTHER_SHOP)}").json
    assert theirs["entries"] == [] and theirs["me"] == {"rank": None, "points": 0, "opted_in": False}
    assert donate(client, {"cause": "trees", "points": 100}, customer_id=CUSTOMER_ID).status_code in (201, 409)
    other_member = client.get(f"/proxy/member?{signed_proxy_query(shop=OTHER_SHOP)}").json
    assert other_member["charity"] is None and other_member["badges"] == []


# ---- privacy -----------------------------------------------------------------------------------

def test_data_request_exports_and_redact_erases_the_feedback_comment_and_leaderboard_choice(client, t, shop):
    from app.models import FeedbackAnswer, LeaderboardChoice, PrivacyRequest
    set_program(t, shop, {"feedback": {"enabled": True}, "leaderboard": {"enabled": True}})
    paid_order(client, t, ORDER_ID)
    feedback(client, {"order_id": ORDER_ID, "nps": 8, "csat": 4, "comment": "Call me on 555-0142"})
    client.post(f"/proxy/leaderboard/opt-in?{signed_proxy_query()}", json={"opted_in": True})
    deliver(client, t, "customers/data_request", payload("customers/data_request"))
    with t.db.scope(read_only=True) as session:
        export = session.scalar(select(PrivacyRequest.export).where(PrivacyRequest.kind == "data_request"))
    assert export["feedback"][0]["comment"] == "Call me on 555-0142" and export["leaderboard_opted_in"] is True
    deliver(client, t, "customers/redact", payload("customers/redact"))
    with t.db.scope(read_only=True) as session:
        answer = session.scalar(select(FeedbackAnswer))
        assert (answer.nps, answer.csat, answer.comment) == (8, 4, None)  # the scores stay for the report
        assert session.scalar(select(LeaderboardChoice.opted_in)) is False
