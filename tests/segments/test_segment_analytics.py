"""Analytics by lifecycle stage and segment: repeat purchase rate, AOV, CLV, churn, retention,
points outstanding, redemption rate, and the stage funnel; each figure defined."""
import pytest

from tests.admin.helpers import bearer
from tests.segments.seed import add_member, add_order, recompute

pytestmark = pytest.mark.both_backends


def test_figures_by_stage_and_segment(client, t, clock, shop):
    loyal = add_member(t, shop, 1)
    add_order(t, shop, loyal, days_ago=400, total=3000)
    add_order(t, shop, loyal, days_ago=10, total=5000)
    once = add_member(t, shop, 2)
    add_order(t, shop, once, days_ago=20, total=4000)
    drifting = add_member(t, shop, 3)
    add_order(t, shop, drifting, days_ago=100, total=2000)
    add_member(t, shop, 4)
    recompute(t, shop)
    client.post("/api/v1/segments", headers=bearer(), json={
        "name": "Buyers", "conditions": [{"field": "orders_count", "op": "gte", "value": 1}]})
    body = client.get("/api/v1/segments/analytics", headers=bearer()).json
    loyalty = body["stages"]["loyalty"]
    assert (loyalty["members"], loyalty["aov"], loyalty["clv"], loyalty["retention_rate"]) == (1, 4000, 8000, "1.0000")
    assert body["stages"]["engagement"]["members"] == 1 and body["stages"]["engagement"]["clv"] is None
    buyers = body["segments"][0]
    assert (buyers["members"], buyers["repeat_purchase_rate"], buyers["churn_rate"], buyers["aov"]) == (
        3, "0.3333", "0.3333", 3500)
    assert body["funnel"][-1] == {"month": "now", "awareness": 0, "engagement": 1, "conversion": 1, "loyalty": 1,
                                  "at_risk": 1, "lapsed": 0}
    # The default reward (USD 5 off for 500 points) values a point at 1 cent.
    from tests.support.ledger import adjust
    adjust(t, shop, 250, customer_id=2)
    once_figures = client.get("/api/v1/segments/analytics", headers=bearer()).json["stages"]["conversion"]
    assert (once_figures["points_outstanding"], once_figures["liability_minor"]) == (250, 250)
    assert body["funnel"][0]["month"] == clock().strftime("%Y-%m") and set(body["definitions"]) >= {
        "repeat_purchase_rate", "aov", "clv", "churn_rate", "retention_rate", "redemption_rate"}
