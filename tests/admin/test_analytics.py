"""Analytics from seeded webhooks match figures computed by hand (see tests/admin/seed.py)."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import Shop
from app.queries.analytics import shop_analytics
from tests.support import SHOP, session_token



def analytics(t, shop, months=3):
    with t.db.scope(read_only=True) as session:
        return shop_analytics(session, session.get(Shop, shop.id), now=t.clock(), months=months)


def test_points_and_money_figures_match_the_hand_computed_ones(t, seeded):
    a = analytics(t, seeded)
    f = {key: figure.value for key, figure in a.figures.items()}
    # issued: orders 100+450+50+40+60+30, sign-ups 3 x 100, staff +15, import 1000
    assert f["points_issued"] == 2045
    assert f["points_redeemed"] == 500 and f["points_expired"] == 0
    # A 265, B 50, C 100, D 1100 = 2045 - 500 redeemed - 10 refund - 20 staff
    assert f["points_outstanding"] == 1515
    assert a.figures["redemption_rate"].display == "24.4%"
    assert f["liability"] == Decimal("15.15") and a.figures["liability"].display == "$15.15"
    assert "0.01 USD per point" in a.figures["liability"].definition


def test_member_figures_match_the_hand_computed_ones(t, seeded):
    a = analytics(t, seeded)
    assert a.figures["members"].value == 3  # A, B, D have accounts; C does not
    assert a.figures["participation_rate"].display == "66.7%"  # A and B ordered or redeemed
    assert [a.series["new_members"][m]["members"] for m in a.months] == [2, 0, 1]


def test_order_figures_count_paid_orders_net_of_refunds_only(t, seeded):
    a = analytics(t, seeded)
    f = a.figures
    # members: 100 + 450 + 50 + (30 - 10) = 620 over 4 orders; others: 40 + 60 + 80 guest over 3
    assert f["revenue_members"].value == Decimal("620") and "77.5% of $800.00" in f["revenue_members"].note
    assert f["aov"].display == "$114.29"
    assert (f["aov_members"].display, f["aov_non_members"].display) == ("$155.00", "$60.00")
    assert (f["repeat_rate_members"].display, f["repeat_rate_non_members"].display) == ("50.0%", "100.0%")
    assert (f["clv_members"].display, f["clv_non_members"].display) == ("$310.00", "$100.00")
    assert [a.series["revenue"][m] for m in a.months] == [
        {"members": 55000, "non_members": 0}, {"members": 5000, "non_members": 10000},
        {"members": 2000, "non_members": 8000}]


def test_points_series_by_month(t, seeded):
    a = analytics(t, seeded)
    assert [a.series["points"][m] for m in a.months] == [
        {"issued": 750, "taken_back": 0, "redeemed": 0, "expired": 0},
        {"issued": 165, "taken_back": 0, "redeemed": 0, "expired": 0},
        {"issued": 1130, "taken_back": 30, "redeemed": 500, "expired": 0}]


def test_retention_and_churn_by_month(t, seeded):
    a = analytics(t, seeded)
    series = [a.series["retention"][m] for m in a.months]
    assert [(s["cohort"], s["retained"]) for s in series] == [(0, 0), (2, 1), (1, 1)]
    assert series[0]["retention"] is None and series[1]["retention"] == Decimal("0.5")
    # the last complete month (January) is the headline figure
    assert (a.figures["retention"].display, a.figures["churn"].display) == ("50.0%", "50.0%")


def test_referral_funnel_and_tier_distribution(t, seeded):
    a = analytics(t, seeded)
    assert [(s["stage"], s["count"]) for s in a.funnel] == [("visited", 4), ("signed_up", 2), ("completed", 1),
                                                            ("blocked", 1)]
    assert a.figures["referral_conversion"].display == "25.0%"
    assert [(x["name"], x["members"]) for x in a.tiers] == [("Bronze", 1), ("Silver", 1), ("Gold", 1),
                                                            ("No tier yet", 0)]


@pytest.mark.both_backends
def test_month_buckets_and_aggregates_agree_on_sqlite_and_postgresql(t, seeded, backend):
    a = analytics(t, seeded)
    assert [a.series["new_members"][m]["members"] for m in a.months] == [2, 0, 1]
    assert [a.series["points"][m]["issued"] for m in a.months] == [750, 165, 1130]
    assert [a.series["revenue"][m]["members"] for m in a.months] == [55000, 5000, 2000]
    assert [a.series["retention"][m]["retained"] for m in a.months] == [0, 1, 1]
    assert (a.figures["points_outstanding"].value, a.figures["liability"].display) == (1515, "$15.15")
    assert (a.figures["repeat_rate_members"].display, a.figures["clv_members"].display) == ("50.0%", "$310.00")


def test_every_figure_has_a_definition(t, seeded):
    for figure in analytics(t, seeded).figures.values():
        assert len(figure.definition) > 40, figure.key


def test_analytics_page_shows_figures_charts_and_definitions(client, seeded):
    response = client.get(f"/analytics?shop={SHOP}&months=3&id_token={session_token()}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count("<svg") == 7 and html.count('<details class="Definition">') >= 20
    assert "$15.15" in html and "24.4%" in html and "Dec 2024" in html


def test_analytics_api_returns_the_same_figures(client, seeded):
    response = client.get("/api/v1/analytics?months=3", headers={"Authorization": f"Bearer {session_token()}"})
    body = response.json
    assert body["figures"]["points_outstanding"]["value"] == 1515
    assert body["figures"]["liability"]["value"] == "15.15"
    assert body["series"]["retention"]["2025-01"]["retention"] == "0.5"


def _rewards(t, shop, *rewards):
    from app.models import Reward
    with t.db.scope() as session:
        for reward in session.scalars(select(Reward).where(Reward.shop_id == shop.id)):
            reward.enabled = False
        for i, fields in enumerate(rewards):
            session.add(Reward(shop_id=shop.id, position=i + 1, **fields))
        session.commit()


def test_a_point_is_valued_at_the_best_fixed_money_rate(t, shop):
    from app.queries.analytics import point_value
    _rewards(t, shop, dict(name="$5 off", kind="amount_off", points_cost=500, value=Decimal(5)),
             dict(name="Credit", kind="store_credit", points_cost=1000, value=Decimal(20)),
             dict(name="Slider", kind="points_slider", points_cost=0, points_per_unit=200),
             dict(name="10%", kind="percent_off", points_cost=100, value=Decimal(10)))
    with t.db.scope(read_only=True) as session:
        rate, source = point_value(session, session.get(Shop, shop.id))
    assert rate == Decimal("0.02") and source.startswith("Credit: 1,000 points = $20.00")


def test_without_a_fixed_value_reward_the_liability_is_not_given_a_money_value(t, shop):
    _rewards(t, shop, dict(name="10%", kind="percent_off", points_cost=100, value=Decimal(10)))
    figure = analytics(t, shop).figures["liability"]
    assert (figure.value, figure.display) == (None, "n/a") and "You have none" in figure.definition
