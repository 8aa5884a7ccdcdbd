"""The public CLI: db upgrade, shops add, shops list (run as a newcomer would)."""
import os
import subprocess
import sys

import responses
from sqlalchemy import select

from app.models import Shop
from tests.conftest import TEST_KEY
from tests.support import API_VERSION, PROJECT_ROOT, SHOP
from webhooks.topics import REGISTERED_TOPICS


def flask_cli(tmp_path, *args):
    env = dict(os.environ, SHOPIFY_API_KEY="k", SHOPIFY_API_SECRET="s", TOKEN_ENCRYPTION_KEY=TEST_KEY,
               DATABASE_URL=f"sqlite:///{tmp_path}/cli.db", FLASK_SKIP_DOTENV="1", REDIS_URL="")
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_db_upgrade_then_shops_add_and_list(tmp_path):
    assert flask_cli(tmp_path, "db", "upgrade").returncode == 0
    added = flask_cli(tmp_path, "shops", "add", SHOP, "--token", "shpat_custom", "--no-sync")
    assert added.returncode == 0, added.stderr
    assert f"added {SHOP}" in added.stdout
    listed = flask_cli(tmp_path, "shops", "list")
    assert SHOP in listed.stdout and "custom_app" in listed.stdout and "installed" in listed.stdout


def test_shops_add_refuses_a_bad_domain(tmp_path):
    flask_cli(tmp_path, "db", "upgrade")
    result = flask_cli(tmp_path, "shops", "add", "shop.example.com", "--token", "x")
    assert result.returncode != 0 and ".myshopify.com" in result.stderr


@responses.activate
def test_shops_add_reads_the_shop_and_subscribes_webhooks(app, t):
    url = f"https://{SHOP}/admin/api/{API_VERSION}/graphql.json"
    responses.post(url, json={"data": {"shop": {"name": "Maple & Pine Goods", "email": "o@example.com",
                                                "currencyCode": "CAD", "ianaTimezone": "America/Toronto",
                                                "currencyFormats": {"moneyFormat": "${{amount}}"}}}})
    responses.post(url, json={"data": {"webhookSubscriptions": {"nodes": [
        {"id": "gid://shopify/WebhookSubscription/1", "topic": "ORDERS_PAID",
         "uri": "https://tessera.example.com/webhooks"}],
        "pageInfo": {"hasNextPage": False, "endCursor": None}}}})
    missing = len(REGISTERED_TOPICS) - 1  # every topic but orders/paid, which Shopify already has
    for _ in range(missing):
        responses.post(url, json={"data": {"webhookSubscriptionCreate": {
            "webhookSubscription": {"id": "gid://shopify/WebhookSubscription/2", "topic": "X"}, "userErrors": []}}})
    result = app.test_cli_runner().invoke(args=["shops", "add", SHOP, "--token", "shpat_custom"])
    assert result.exit_code == 0, result.output
    bodies = [c.request.body for c in responses.calls]
    created = [b for b in bodies if b"webhookSubscriptionCreate" in b]
    assert len(created) == missing and not any(b'"ORDERS_PAID"' in b for b in created)
    with t.db.scope(read_only=True) as session:
        shop = session.scalar(select(Shop).where(Shop.domain == SHOP))
        assert (shop.currency, shop.name, shop.token_source) == ("CAD", "Maple & Pine Goods", "custom_app")
