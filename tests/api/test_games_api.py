"""Games and giving in the admin API and pages: settings validated in /api/v1/program, the
feedback report (NPS and CSAT per month) and the donations owed, as JSON and CSV."""
import csv
import io

import pytest

from tests.admin.helpers import bearer, get_page, post_form
from tests.support import CUSTOMER_ID, OTHER_SHOP, payload, signed_proxy_query
from tests.support.ledger import adjust, deliver, set_program


def answer(client, t, order_id, nps, csat, comment=None, customer_id=CUSTOMER_ID):
    body = payload("orders/paid")
    body["id"] = order_id
    body["customer"] = dict(body["customer"], id=customer_id)
    deliver(client, t, "orders/paid", body)
    response = client.post(f"/proxy/feedback?{signed_proxy_query(customer_id=customer_id)}",
                           json={"order_id": order_id, "nps": nps, "csat": csat, "comment": comment})
    assert response.status_code == 201, response.json


def test_games_settings_are_read_and_validated_through_the_program_api(client, shop):
    body = client.get("/api/v1/program", headers=bearer()).json
    assert {k: body[k]["enabled"] for k in ("badges", "challenges", "leaderboard", "feedback", "charity")} == \
        dict.fromkeys(("badges", "challenges", "leaderboard", "feedback", "charity"), False)
    assert body["badges"]["rules"][0] == {"key": "first-order", "name": "First order", "action": "orders",
                                          "count": 1, "bonus_points": 0}
    bad = client.patch("/api/v1/program", json={"feedback": {"points": -1}, "charity": {"matching_percent": "150"}},
                       headers=bearer())
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json["error"]["fields"]} == {"feedback.points", "charity.matching_percent"}
    good = client.patch("/api/v1/program", json={"leaderboard": {"enabled": True}}, headers=bearer())
    assert good.status_code == 200 and good.json["leaderboard"] == {"enabled": True}


def test_feedback_report_gives_nps_and_csat_per_month_with_counts_and_comments(client, t, shop, other_shop):
    set_program(t, shop, {"feedback": {"enabled": True}})
    answer(client, t, 1, 10, 5, "Great")
    answer(client, t, 2, 9, 4, customer_id=222)
    answer(client, t, 3, 3, 2, "=cmd()", customer_id=333)
    body = client.get("/api/v1/reports/feedback", headers=bearer()).json
    assert body["months"] == [{"month": "2025-02", "answers": 3, "promoters": 2, "passives": 0, "detractors": 1,
                               "nps": "33.3", "csat": "66.7"}]
    assert [c["comment"] for c in body["comments"]] == ["=cmd()", "Great"]  # newest first
    exported = client.get("/api/v1/exports/feedback.csv", headers=bearer())
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert len(rows) == 3 and "'=cmd()" in {r["comment"] for r in rows}  # no spreadsheet formulas
    theirs = client.get("/api/v1/reports/feedback", headers=bearer(shop=OTHER_SHOP))
    assert theirs.status_code == 200 and theirs.json["overall"]["answers"] == 0 and theirs.json["comments"] == []


def test_donations_owed_per_cause_and_month_include_the_matching(client, t, shop):
    set_program(t, shop, {"charity": {"enabled": True, "points_per_unit": 100, "matching_percent": "100",
                                      "causes": [{"key": "trees", "name": "Plant trees"}]}})
    adjust(t, shop, 1000)
    for key in ("first-donation", "second-donation"):
        response = client.post(f"/proxy/donate?{signed_proxy_query()}", json={"cause": "trees", "points": 150},
                               headers={"Idempotency-Key": key})
        assert response.status_code == 201
    body = client.get("/api/v1/reports/donations", headers=bearer()).json
    assert body["totals"] == [{"month": "2025-02", "cause": "trees", "cause_name": "Plant trees", "donations": 2,
                               "points": 300, "currency": "USD", "donated": "3.00", "matched": "3.00",
                               "owed": "6.00"}]
    exported = client.get("/api/v1/exports/donations.csv", headers=bearer()).get_data(as_text=True)
    assert exported.splitlines()[1] == "2025-02,trees,Plant trees,2,300,USD,3.00,3.00,6.00"


def test_reports_need_a_session_token(client, shop):
    assert client.get("/api/v1/reports/feedback").status_code == 401
    assert client.get("/api/v1/exports/donations.csv").status_code == 401


def test_games_admin_page_shows_the_figures_and_saves_validated_settings(client, t, shop):
    set_program(t, shop, {"feedback": {"enabled": True}})
    answer(client, t, 1, 10, 5, "Lovely")
    page = get_page(client, "/games")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Games &amp; giving" in html and "Lovely" in html
    assert 'href="/games' in get_page(client, "/").get_data(as_text=True)  # in the navigation
    saved = post_form(client, "/games/settings/leaderboard", {"settings": '{"enabled": true}'})
    assert saved.status_code == 200 and "Leaderboard saved" in saved.json["message"]
    refused = post_form(client, "/games/settings/charity", {"settings": '{"matching_percent": "500"}'})
    assert refused.status_code == 422 and "matching_percent" in refused.json["error"]["fields"][0]["problem"]
    assert post_form(client, "/games/settings/badges", {"settings": "not json"}).status_code == 422


@pytest.mark.both_backends
def test_feedback_report_narrowed_to_a_segment_counts_only_its_members(client, t, shop, other_shop):
    set_program(t, shop, {"feedback": {"enabled": True}})
    answer(client, t, 1, 10, 5, "Great")
    answer(client, t, 2, 3, 2, "Slow", customer_id=222)
    adjust(t, shop, 5000)  # only CUSTOMER_ID holds this many points
    segment = client.post("/api/v1/segments", headers=bearer(), json={
        "name": "Big balances", "conditions": [{"field": "points_balance", "op": "gte", "value": 5000}]}).json
    body = client.get(f"/api/v1/reports/feedback?segment_id={segment['id']}", headers=bearer()).json
    assert body["overall"]["answers"] == 1 and body["overall"]["nps"] == "100.0"
    assert [c["comment"] for c in body["comments"]] == ["Great"]
    everyone = client.get("/api/v1/reports/feedback", headers=bearer()).json
    assert everyone["overall"]["answers"] == 2
    at_risk = client.get("/api/v1/reports/feedback?segment_id=lifecycle:at_risk", headers=bearer())
    assert at_risk.status_code == 200 and at_risk.json["overall"]["answers"] == 0
    for unknown in ("lifecycle:nowhere", "424242", "abc"):
        assert client.get(f"/api/v1/reports/feedback?segment_id={unknown}", headers=bearer()).status_code == 404
    theirs = client.get(f"/api/v1/reports/feedback?segment_id={segment['id']}", headers=bearer(shop=OTHER_SHOP))
    assert theirs.status_code == 404  # another shop's segment is not found


def test_games_admin_page_filters_the_feedback_figures_by_segment(client, t, shop):
    set_program(t, shop, {"feedback": {"enabled": True}})
    answer(client, t, 1, 10, 5, "Lovely")
    answer(client, t, 2, 3, 2, "Tardy parcel", customer_id=222)
    adjust(t, shop, 5000)
    segment = client.post("/api/v1/segments", headers=bearer(), json={
        "name": "Big balances", "conditions": [{"field": "points_balance", "op": "gte", "value": 5000}]}).json
    html = get_page(client, "/games", segment_id=segment["id"]).get_data(as_text=True)
    assert "Lovely" in html and "Tardy parcel" not in html
    assert f'<option value="{segment["id"]}" selected>Big balances</option>' in html
    assert 'value="lifecycle:at_risk"' in html
    assert "Tardy parcel" in get_page(client, "/games").get_data(as_text=True)
    assert get_page(client, "/games", segment_id=424242).status_code == 404
