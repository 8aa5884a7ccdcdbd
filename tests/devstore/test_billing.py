"""Plans for the hosted app (BILLING=on): a paid plan is a Shopify recurring charge the owner
approves on Shopify's page; Shopify's answer, not the return URL, decides what is recorded."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from app import plans
from app.devstore import DEMO_SHOP
from app.models import AppSubscriptionRecord
from app.services import billing
from app.services.shops import find_shop
from tests.devstore.conftest import APP_URL


@pytest.fixture
def app_settings(app_settings):
    return {**app_settings, "BILLING": True, "BILLING_TEST": True}


def admin_token(client) -> str:
    return client.get(f"/devstore/session-token?shop={DEMO_SHOP}").get_json()["token"]


def admin_get(client, path: str):
    return client.get(f"{path}?shop={DEMO_SHOP}&embedded=1&id_token={admin_token(client)}")


def choose(client, plan: str):
    page = admin_get(client, "/billing").get_data(as_text=True)
    csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
    return client.post("/billing/plan", data={"plan": plan, "csrf_token": csrf},
                       headers={"Authorization": f"Bearer {admin_token(client)}"})


def approve_at_shopify(client, confirmation_url: str, decision: str = "approve"):
    """The owner on Shopify's confirmation page, then back on Tessera's return URL."""
    path = urlsplit(confirmation_url).path
    assert "Tessera" in client.get(path).get_data(as_text=True)
    answered = client.post(path, data={"decision": decision})
    assert answered.status_code == 302
    back = urlsplit(answered.headers["Location"])
    assert f"{back.scheme}://{back.netloc}" == APP_URL and back.path == "/billing/return"
    return client.get(f"{back.path}?{back.query}"), dict(parse_qsl(back.query))["charge_id"]


def subscriptions(t):
    with t.db.scope(read_only=True) as session:
        return session.scalars(select(AppSubscriptionRecord).order_by(AppSubscriptionRecord.id)).all()


def standing(t):
    with t.db.scope(read_only=True) as session:
        return billing.billing_standing(session, find_shop(session, DEMO_SHOP), now=t.clock())


def test_a_new_shop_is_on_the_free_plan_and_sees_the_plans(client, installed, t):
    page = admin_get(client, "/billing")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Your plan: Free" in html and "Choose Growth" in html and "USD 29.00 / 30 days" in html
    assert ">Plan</a>" in html  # in the admin's navigation
    assert standing(t).plan == plans.FREE


def test_choosing_a_paid_plan_records_it_once_the_owner_approved_at_shopify(client, demo, installed, t):
    answer = choose(client, "growth")
    assert answer.status_code == 200, answer.get_json()
    confirmation = answer.get_json()["top_redirect"]
    [pending] = subscriptions(t)
    assert (pending.status, pending.plan_key, pending.test) == ("PENDING", "growth", True)
    assert standing(t).plan == plans.FREE  # not before the owner approved

    back, charge_id = approve_at_shopify(client, confirmation)
    assert back.status_code == 302 and back.headers["Location"].endswith("/billing")
    [active] = subscriptions(t)
    assert active.subscription_gid == f"gid://shopify/AppSubscription/{charge_id}"
    assert active.status == "ACTIVE" and active.current_period_end == t.clock() + timedelta(days=30)
    assert standing(t).plan.key == "growth"
    charge = demo.snapshot()["app_subscriptions"][charge_id]
    assert charge["price"] == {"amount": "29.00", "currencyCode": "USD"} and charge["test"] is True
    sent = [d["topic"] for d in demo.snapshot()["deliveries"]]
    assert "app_subscriptions/update" in sent  # and Tessera took it (below: its status stays ACTIVE)


def test_a_declined_charge_leaves_the_shop_where_it_was(client, installed, t):
    confirmation = choose(client, "scale").get_json()["top_redirect"]
    back, _ = approve_at_shopify(client, confirmation, decision="decline")
    assert back.status_code == 302
    assert [s.status for s in subscriptions(t)] == ["DECLINED"]
    assert standing(t).plan == plans.FREE


def test_moving_up_replaces_the_old_subscription_at_shopify(client, installed, t):
    approve_at_shopify(client, choose(client, "growth").get_json()["top_redirect"])
    approve_at_shopify(client, choose(client, "scale").get_json()["top_redirect"])
    assert [(s.plan_key, s.status) for s in subscriptions(t)] == [("growth", "CANCELLED"), ("scale", "ACTIVE")]
    assert standing(t).plan.key == "scale"


def test_going_back_to_free_cancels_the_paid_subscription_at_shopify(client, demo, installed, t):
    approve_at_shopify(client, choose(client, "growth").get_json()["top_redirect"])
    answer = choose(client, "free")
    assert answer.status_code == 200 and "top_redirect" not in answer.get_json()
    assert [s.status for s in subscriptions(t)] == ["CANCELLED"]
    assert [c["status"] for c in demo.snapshot()["app_subscriptions"].values()] == ["CANCELLED"]
    assert standing(t).plan == plans.FREE


def test_an_unknown_plan_is_refused_with_the_choices(client, installed):
    answer = choose(client, "platinum")
    assert answer.status_code == 422
    assert "growth" in answer.get_json()["error"]["message"]


def test_a_return_url_with_a_charge_of_nobody_records_nothing(client, installed, t):
    answer = client.get(f"/billing/return?shop={DEMO_SHOP}&charge_id=999")
    assert answer.status_code == 400 and "knows no subscription" in answer.get_json()["error"]["message"]
    answer = client.get(f"/billing/return?shop={DEMO_SHOP}&charge_id=abc")
    assert answer.status_code == 400
    assert subscriptions(t) == []


def test_over_the_allowance_the_admin_asks_for_a_bigger_plan_and_points_keep_coming(client, demo, installed, t,
                                                                                     monkeypatch):
    tiny = plans.Plan("free", "Free", Decimal("0"), 1)
    monkeypatch.setattr(plans, "FREE", tiny)
    monkeypatch.setattr(plans, "PLANS", (tiny, *plans.PLANS[1:]))
    demo.sign_up("ana@example.com", "Ana", "Silva")
    from app.devstore.catalog import product
    for _ in range(2):
        demo.checkout("ana@example.com", [(product("trailhead-hoodie"), 1, None)])
    assert standing(t).over_allowance and standing(t).suggested_plan.key == "growth"
    members = admin_get(client, "/members")
    assert members.status_code == 302 and "/billing" in members.headers["Location"]
    assert "more than the Free plan" in admin_get(client, "/billing").get_data(as_text=True)
    from app.models import LedgerEntry
    with t.db.scope(read_only=True) as session:
        earned = session.scalars(select(LedgerEntry.points).where(LedgerEntry.cause_type == "order")).all()
    assert len(earned) == 2 and all(p > 0 for p in earned)  # shoppers lose nothing
    approve_at_shopify(client, choose(client, "growth").get_json()["top_redirect"])
    assert admin_get(client, "/members").status_code == 200


def test_the_stand_in_refuses_a_charge_shopify_would_refuse(demo, installed, t):
    from app.shopify.admin_access import call_admin
    from app.shopify.documents import CREATE_APP_SUBSCRIPTION
    from app.shopify.graphql import ShopifyUserErrors
    with t.db.scope() as session:
        shop = find_shop(session, DEMO_SHOP)
        for name, amount, problem in (("", "5", "Name can't be blank"), ("Tessera Growth", "0", "greater than 0")):
            with pytest.raises(ShopifyUserErrors, match=problem):
                call_admin(t.shopify, session, shop, CREATE_APP_SUBSCRIPTION, {
                    "name": name, "returnUrl": f"{APP_URL}/billing/return", "test": True,
                    "lineItems": [{"plan": {"appRecurringPricingDetails": {
                        "price": {"amount": amount, "currencyCode": "USD"}}}}]})
