"""The daily upkeep re-creates API-made webhook subscriptions Shopify removed after failed
deliveries; shopify.app.toml subscriptions (CLI-deployed apps) are left to Shopify."""
from __future__ import annotations

import requests

from app.devstore import DEMO_SHOP
from app.devstore.catalog import product
from app.devstore.delivery import FAILED_ATTEMPTS_BEFORE_REMOVAL
from app.jobs.schedule import PERIODIC
from app.jobs.tasks import restore_webhook_subscriptions


def subscribed_topics(demo) -> set[str]:
    return {s["topic"] for s in demo.snapshot()["subscriptions"]}


class TesseraDown(requests.adapters.BaseAdapter):
    def send(self, request, **kwargs):
        response = requests.Response()
        response.status_code, response.url, response.request = 503, request.url, request
        return response

    def close(self):
        pass


def orders_paid_fail_eight_times(demo, t) -> None:
    """Tessera is down for a while: Shopify's eight attempts fail and it deletes the subscription."""
    t.http.mount(f"{t.app_url}/webhooks", TesseraDown())
    for _ in range(FAILED_ATTEMPTS_BEFORE_REMOVAL):
        demo.checkout("ana@example.com", [(product("trailhead-hoodie"), 1, None)], only=["orders/paid"])
    t.http.mount(f"{t.app_url}/webhooks", t.http.get_adapter(f"{t.app_url}/"))


def test_a_subscription_shopify_removed_is_recreated_by_the_daily_upkeep(app, demo, t):
    demo.install_dev_dashboard_app()
    assert app.test_cli_runner().invoke(args=["shops", "add", DEMO_SHOP]).exit_code == 0
    before = subscribed_topics(demo)
    demo.sign_up("ana@example.com", "Ana", "Silva")
    orders_paid_fail_eight_times(demo, t)
    assert "ORDERS_PAID" not in subscribed_topics(demo)
    assert restore_webhook_subscriptions(t) == {DEMO_SHOP: ["orders/paid"]}
    assert subscribed_topics(demo) == before
    assert restore_webhook_subscriptions(t) == {DEMO_SHOP: []}  # nothing twice


def test_shops_subscribed_by_shopify_app_toml_are_left_alone(demo, installed, t):
    assert restore_webhook_subscriptions(t) == {}
    assert subscribed_topics(demo) == set()


def test_the_upkeep_runs_daily():
    assert ("restore_webhook_subscriptions", 86400) in PERIODIC
