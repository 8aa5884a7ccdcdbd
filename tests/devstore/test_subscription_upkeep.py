"""The daily upkeep re-creates API-made webhook subscriptions Shopify removed after failed
deliveries; shopify.app.toml subscriptions (CLI-deployed apps) are left to Shopify."""
from __future__ import annotations

from app.devstore import DEMO_SHOP
from app.jobs.schedule import PERIODIC
from app.jobs.tasks import restore_webhook_subscriptions


def subscribed_topics(demo) -> set[str]:
    return {s["topic"] for s in demo.snapshot()["subscriptions"]}


def shopify_removes(demo, topic: str) -> None:
    with demo.stand_in.state.shop(DEMO_SHOP) as state:
        state["subscriptions"] = [s for s in state["subscriptions"] if s["topic"] != topic]


def test_a_subscription_shopify_removed_is_recreated_by_the_daily_upkeep(app, demo, t):
    demo.install_dev_dashboard_app()
    assert app.test_cli_runner().invoke(args=["shops", "add", DEMO_SHOP]).exit_code == 0
    before = subscribed_topics(demo)
    shopify_removes(demo, "ORDERS_PAID")
    assert restore_webhook_subscriptions(t) == {DEMO_SHOP: ["orders/paid"]}
    assert subscribed_topics(demo) == before
    assert restore_webhook_subscriptions(t) == {DEMO_SHOP: []}  # nothing twice


def test_shops_subscribed_by_shopify_app_toml_are_left_alone(demo, installed, t):
    assert restore_webhook_subscriptions(t) == {}
    assert subscribed_topics(demo) == set()


def test_the_upkeep_runs_daily():
    assert ("restore_webhook_subscriptions", 86400) in PERIODIC
