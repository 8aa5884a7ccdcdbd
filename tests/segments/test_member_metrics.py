"""Member metrics: the lifecycle stage exactly as issue 17 defines it and RFM quintiles, set-based
for a whole shop (SQLite and PostgreSQL) and for one member after an event, in agreement."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.loyalty.lifecycle import LifecycleSettings, lifecycle_stage
from app.models import MemberMetrics, Shop
from app.services.member_metrics import refresh_member_metrics
from tests.segments.seed import add_member, add_order, recompute
from tests.support import utc

pytestmark = pytest.mark.both_backends


def metrics(t, shop) -> dict[int, MemberMetrics]:
    with t.db.scope(read_only=True) as session:
        return {m.member_id: m for m in session.scalars(select(MemberMetrics).where(MemberMetrics.shop_id == shop.id))}


def test_lifecycle_stage_follows_the_days_since_the_last_paid_order(t, shop):
    guest = add_member(t, shop, 1, account_state="disabled")
    account = add_member(t, shop, 2)
    one = add_member(t, shop, 3)
    add_order(t, shop, one, days_ago=10)
    two = add_member(t, shop, 4)
    add_order(t, shop, two, days_ago=300)
    add_order(t, shop, two, days_ago=89.9)
    risk = add_member(t, shop, 5)
    add_order(t, shop, risk, days_ago=90)
    lapsed = add_member(t, shop, 6)
    add_order(t, shop, lapsed, days_ago=180)
    recompute(t, shop)
    stages = {k: m.lifecycle_stage for k, m in metrics(t, shop).items()}
    assert stages == {guest: "awareness", account: "engagement", one: "conversion", two: "loyalty",
                      risk: "at_risk", lapsed: "lapsed"}


def test_cancelled_fully_refunded_test_and_unpaid_orders_do_not_count(t, shop):
    member = add_member(t, shop, 1)
    add_order(t, shop, member, days_ago=1, cancelled=True)
    add_order(t, shop, member, days_ago=1, status="refunded")
    add_order(t, shop, member, days_ago=1, test=True)
    add_order(t, shop, member, days_ago=1, paid=False, status="pending")
    recompute(t, shop)
    row = metrics(t, shop)[member]
    assert (row.lifecycle_stage, row.orders_count, row.total_spent_minor, row.rfm_recency) == ("engagement", 0, 0,
                                                                                                 None)


def test_partial_refunds_lower_the_money_spent(t, shop):
    member = add_member(t, shop, 1)
    add_order(t, shop, member, days_ago=3, total=10000, refunded=2500)
    add_order(t, shop, member, days_ago=1000, total=4000)
    recompute(t, shop)
    row = metrics(t, shop)[member]
    assert (row.orders_count, row.total_spent_minor, row.recent_orders_count, row.recent_spent_minor) == (
        2, 11500, 1, 7500)


def test_the_day_counts_come_from_the_program_settings(t, shop):
    from tests.support.ledger import set_program
    set_program(t, shop, {"lifecycle": {"at_risk_days": 30, "lapsed_days": 60}})
    member = add_member(t, shop, 1)
    add_order(t, shop, member, days_ago=45)
    recompute(t, shop)
    assert metrics(t, shop)[member].lifecycle_stage == "at_risk"


def test_rfm_scores_are_quintiles_with_5_best_and_ties_scored_alike(t, shop):
    ids = []
    for n in range(10):  # member n: last order n*10 days ago, 10-n orders, (10-n) x 50.00
        member = add_member(t, shop, 100 + n)
        for k in range(10 - n):
            add_order(t, shop, member, days_ago=n * 10 + k * 0.01, total=5000)
        ids.append(member)
    twin = add_member(t, shop, 200)  # the same figures as the best member
    for k in range(10):
        add_order(t, shop, twin, days_ago=k * 0.01, total=5000)
    old = add_member(t, shop, 300)
    add_order(t, shop, old, days_ago=800)
    recompute(t, shop)
    rows = metrics(t, shop)
    # 11 scored (the 800-day-old order is outside the window): ceil(5 x members at or below / 11)
    assert [rows[m].rfm_recency for m in ids] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert (rows[twin].rfm_recency, rows[twin].rfm_frequency, rows[twin].rfm_monetary) == (
        rows[ids[0]].rfm_recency, rows[ids[0]].rfm_frequency, rows[ids[0]].rfm_monetary) == (5, 5, 5)
    assert rows[ids[0]].rfm_segment == "champions" and rows[ids[-1]].rfm_segment == "lost"
    assert rows[old].rfm_recency is None and rows[old].rfm_segment is None


def test_one_members_refresh_agrees_with_the_full_recompute(t, shop):
    members = []
    for n in range(7):
        member = add_member(t, shop, 400 + n)
        for k in range(n % 3 + 1):
            add_order(t, shop, member, days_ago=n * 40 + k, total=1000 * (n + 1))
        members.append(member)
    recompute(t, shop)
    expected = {m: (r.lifecycle_stage, r.rfm_recency, r.rfm_frequency, r.rfm_monetary, r.rfm_segment)
                for m, r in metrics(t, shop).items()}
    with t.db.scope() as session:
        refresh_member_metrics(session, session.get(Shop, shop.id), members, now=t.clock())
        session.commit()
    assert {m: (r.lifecycle_stage, r.rfm_recency, r.rfm_frequency, r.rfm_monetary, r.rfm_segment)
            for m, r in metrics(t, shop).items()} == expected


def test_a_stage_change_is_recorded_with_when_and_from_what(t, clock, shop):
    member = add_member(t, shop, 1)
    add_order(t, shop, member, days_ago=80)
    recompute(t, shop)
    first = metrics(t, shop)[member]
    assert (first.lifecycle_stage, first.previous_stage) == ("conversion", None)
    clock.advance(days=11)
    recompute(t, shop)
    row = metrics(t, shop)[member]
    assert (row.lifecycle_stage, row.previous_stage, row.stage_entered_at) == ("at_risk", "conversion", clock())
    clock.advance(days=1)
    recompute(t, shop)
    assert metrics(t, shop)[member].stage_entered_at == clock() - timedelta(days=1)


def test_a_shops_recompute_leaves_other_shops_alone(t, shop, other_shop):
    mine, theirs = add_member(t, shop, 1), add_member(t, other_shop, 1)
    add_order(t, shop, mine, days_ago=1)
    recompute(t, shop)
    assert set(metrics(t, shop)) == {mine} and metrics(t, other_shop) == {}


def test_the_pure_rule_matches_the_issue_definition():
    settings, now = LifecycleSettings(), utc(2026, 1, 1)
    assert lifecycle_stage(paid_orders=0, last_paid_order_at=None, engaged=False, now=now, settings=settings) == \
        "awareness"
    assert lifecycle_stage(paid_orders=3, last_paid_order_at=now - timedelta(days=180), engaged=True, now=now,
                           settings=settings) == "lapsed"
    assert lifecycle_stage(paid_orders=1, last_paid_order_at=now - timedelta(days=89, hours=23), engaged=True,
                           now=now, settings=settings) == "conversion"


def test_order_and_customer_webhooks_keep_the_members_stage_current(client, t, shop):
    from tests.admin.helpers import bearer
    from tests.support import CUSTOMER_ID, payload
    from tests.support.ledger import deliver
    deliver(client, t, "orders/paid", payload("orders/paid"))
    member = client.get(f"/api/v1/members/{CUSTOMER_ID}", headers=bearer()).json
    assert member["lifecycle_stage"] == "conversion" and member["rfm"]["segment"] == "champions"
    deliver(client, t, "orders/cancelled", payload("orders/cancelled"))
    assert client.get(f"/api/v1/members/{CUSTOMER_ID}", headers=bearer()).json["lifecycle_stage"] in (
        "engagement", "awareness")
    customer = payload("customers/update")
    customer.update(id=CUSTOMER_ID, state="enabled", tags="vip, newsletter")
    deliver(client, t, "customers/update", customer)
    assert client.get(f"/api/v1/members/{CUSTOMER_ID}", headers=bearer()).json["lifecycle_stage"] == "engagement"
    from tests.support.ledger import member_of
    assert (member_of(t, shop).customer_tags, member_of(t, shop).country_code) == ("vip, newsletter", "CA")
