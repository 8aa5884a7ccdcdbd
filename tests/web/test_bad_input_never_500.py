"""Every field of every endpoint, sent with the wrong JSON type or an odd number, gets a 4xx that
names the field, never a 500 (which loses the shopper's click and pages us for nothing)."""
import pytest

from tests.admin.helpers import bearer, get_page, post_form
from tests.support import CUSTOMER_ID, signed_proxy_query
from tests.support.ledger import adjust

BAD_JSON_VALUES = [
    pytest.param(12345, id="number"), pytest.param(None, id="null"), pytest.param(["a"], id="list"),
    pytest.param(10 ** 30, id="huge-number"), pytest.param(True, id="bool"), pytest.param(1.5, id="float"),
    pytest.param("\u0661\u0662", id="arabic-digits"),
    pytest.param("\u00b2", id="superscript-two"), pytest.param("9" * 5000, id="5000-digits"),
]
BAD_QUERY_VALUES = [
    pytest.param("\u0661\u0662", id="arabic-digits"), pytest.param("\u00b2", id="superscript-two"),
    pytest.param("9" * 30, id="30-digits"), pytest.param("9" * 5000, id="5000-digits"),
    pytest.param("abc", id="word"),
]

PROXY_BODIES = {
    "/proxy/redeem": {"reward_id": 999999, "idempotency_key": "click-000000001", "points": 100},
    "/proxy/claim": {"action": "social_follow", "network": "instagram", "birthday": "1990-12-31"},
    "/proxy/referral": {"code": "ABCD2345", "email": "friend@example.com"},
}
API_BODIES = {
    ("post", f"/api/v1/members/{CUSTOMER_ID}/adjustments"): {"points": 10, "reason": "Goodwill",
                                                             "idempotency_key": "k-1"},
    ("post", f"/api/v1/members/{CUSTOMER_ID}/block"): {"reason": "Fraud"},
    ("post", "/api/v1/imports"): {"kind": "orders", "since": "2025-01-01", "earn_points": False},
    ("post", "/api/v1/rewards"): {"name": "5 off", "kind": "amount_off", "points_cost": 500, "value": "5.00"},
    ("patch", "/api/v1/program"): {"earning": {"points_per_unit": "2"}},
}
API_QUERIES = [("/api/v1/members", "page"), ("/api/v1/members", "per_page"), ("/api/v1/analytics", "months"),
               ("/api/v1/webhook-events", "before"), ("/api/v1/members", "query"), ("/api/v1/members", "tier")]
ADMIN_QUERIES = [("/members", "page"), ("/members", "per_page"), ("/analytics", "months"), ("/activity", "before")]


def cases(bodies):
    return [(key, field) for key, body in bodies.items() for field in body]


def assert_refused_politely(response, field):
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code in (400, 422):
        fields = [f["field"] for f in response.json["error"].get("fields", [])]
        named = any(f == field or f.startswith(f"{field}.") for f in fields)
        assert named or field in response.json["error"]["message"], response.json


@pytest.mark.parametrize("path,field", cases(PROXY_BODIES))
@pytest.mark.parametrize("value", BAD_JSON_VALUES)
def test_proxy_bodies_with_odd_values_are_refused_with_the_field_named(client, t, shop, path, field, value):
    adjust(t, shop, 600)
    query = signed_proxy_query(customer_id=None) if path == "/proxy/referral" else signed_proxy_query()
    response = client.post(f"{path}?{query}", json={**PROXY_BODIES[path], field: value})
    assert_refused_politely(response, field)


@pytest.mark.parametrize("route,field", cases(API_BODIES))
@pytest.mark.parametrize("value", BAD_JSON_VALUES)
def test_api_bodies_with_odd_values_are_refused_with_the_field_named(client, t, shop, route, field, value):
    adjust(t, shop, 600)
    method, path = route
    response = getattr(client, method)(path, json={**API_BODIES[route], field: value}, headers=bearer())
    assert_refused_politely(response, field)


@pytest.mark.parametrize("path,field", API_QUERIES)
@pytest.mark.parametrize("value", BAD_QUERY_VALUES)
def test_api_query_parameters_with_odd_numbers_never_500(client, t, shop, path, field, value):
    response = client.get(f"{path}?{field}={value}", headers=bearer())
    assert_refused_politely(response, field)


@pytest.mark.parametrize("path,field", ADMIN_QUERIES)
@pytest.mark.parametrize("value", BAD_QUERY_VALUES)
def test_admin_page_parameters_with_odd_numbers_never_500(client, t, shop, path, field, value):
    assert_refused_politely(get_page(client, path, **{field: value}), field)


@pytest.mark.parametrize("path", ["/api/v1/members/{}", "/api/v1/rewards/{}", "/api/v1/imports/{}"])
@pytest.mark.parametrize("value", ["9" * 30, "\u0661\u0662", "9" * 5000])
def test_ids_in_the_path_that_are_not_plain_numbers_never_500(client, t, shop, path, value):
    response = client.get(path.format(value), headers=bearer())
    assert response.status_code == 404


@pytest.mark.parametrize("value", ["9" * 30, "\u0661\u0662", "1e9", "--5", "9" * 5000])
def test_admin_point_adjustments_with_odd_numbers_never_500(client, t, shop, value):
    adjust(t, shop, 600)
    response = client.post(f"/api/v1/members/{CUSTOMER_ID}/adjustments", json={"points": value, "reason": "x"},
                           headers=bearer())
    assert_refused_politely(response, "points")


def test_a_balance_csv_with_odd_numbers_lists_the_lines_instead_of_failing(client, t, shop):
    from tests.admin.test_csv import problems, upload
    text = "customer_id,points\n\u0661\u0662,100\n601,\u00b2\n" + "9" * 5000 + ",5\n602," + "9" * 40 + "\n"
    response = upload(client, text)
    assert response.status_code == 422
    assert set(problems(response)) == {"line 2", "line 3", "line 4", "line 5"}


@pytest.mark.parametrize("index", ["\u00b2", "9" * 5000], ids=["superscript-two", "5000-digits"])
def test_program_form_rows_with_odd_numbering_never_500(client, t, shop, index):
    response = post_form(client, "/program/campaigns", {f"campaigns.{index}.key": "a", f"campaigns.{index}.name": "A"})
    assert_refused_politely(response, "campaigns")


@pytest.mark.parametrize("value", ["\u00b2", "9" * 5000], ids=["superscript-two", "5000-digits"])
def test_reward_form_numbers_that_are_not_plain_digits_are_named(client, t, shop, value):
    response = post_form(client, "/program/rewards", {"name": "5 off", "kind": "amount_off", "points_cost": value,
                                                      "value": "5"})
    assert_refused_politely(response, "points_cost")


def test_the_cli_refuses_an_odd_duration_with_a_message():
    import click

    from app.cli import parse_since
    from tests.support import utc
    with pytest.raises(click.BadParameter):
        parse_since("\u00b2d", utc(2025, 2, 14))
