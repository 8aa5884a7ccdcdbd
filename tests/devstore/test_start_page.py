"""`make run` prints APP_URL: opening it shows the demo store's start page, and its first steps
print what a developer needs, not Alembic's internals."""
from __future__ import annotations

import os
import subprocess
import sys

from app import create_app
from app.devstore import DEMO_SHOP
from tests.conftest import TEST_KEY
from tests.support import API_KEY, PROJECT_ROOT, SECRET


def test_opening_the_address_make_run_prints_shows_the_demo_store_start_page(client):
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Tessera demo store" in html and DEMO_SHOP in html
    for link in ("/devstore/storefront?customer=guest", f"/devstore/shopify/{DEMO_SHOP}/admin/apps/{API_KEY}",
                 f"/devstore/shopify/{DEMO_SHOP}/admin/apps/{API_KEY}/activity", "/devstore/webhooks"):
        assert f'href="{link}"' in html, link


def test_the_admins_own_load_of_the_root_still_reaches_the_admin(client):
    page = client.get(f"/?shop={DEMO_SHOP}")
    assert page.status_code == 401 and "Tessera demo store" not in page.get_data(as_text=True)


def test_outside_the_demo_the_root_is_still_the_admins_sign_in(app_settings):
    production = create_app({**app_settings, "DEVSTORE": False, "SHOPIFY_API_SECRET": SECRET,
                             "TOKEN_ENCRYPTION_KEY": TEST_KEY, "SHOPIFY_ADMIN_BASE_URL": "https://{shop}"})
    try:
        assert production.test_client().get("/").status_code == 401
    finally:
        production.extensions["tessera"].db.engine.dispose()


def test_db_upgrade_prints_the_migrations_applied_and_no_alembic_plugin_chatter(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPIFY_", "DEVSTORE", "APP_URL", "TOKEN_"))}
    env.update(DEVSTORE="1", FLASK_SKIP_DOTENV="1", SHOPIFY_API_KEY="demo-api-key", APP_URL="http://127.0.0.1:5000",
               DATABASE_URL=f"sqlite:///{tmp_path}/demo.db", LOG_LEVEL="INFO")
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=PROJECT_ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Running upgrade  -> 0001" in result.stderr
    for chatter in ("setup plugin", "Context impl", "Will assume"):
        assert chatter not in result.stderr


def test_the_start_page_lists_the_storys_customers_first_and_the_rest_folded(client, demo):
    demo.sign_up("zoe.torres.006@example.com", "Zoe", "Torres")
    demo.sign_up("alice@example.com", "Alice", "Martin")
    html = client.get("/").get_data(as_text=True)
    story, folded = html.split("<details>")
    assert "alice@example.com" in story and "zoe.torres.006@example.com" not in story
    assert "1 more customer<" in folded and "zoe.torres.006@example.com" in folded
    assert "2 customers, 0 orders" in html
