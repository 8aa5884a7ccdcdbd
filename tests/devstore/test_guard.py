"""DEVSTORE=1 cannot open a real deployment: the demo starts only on loopback against its own
stand-in, signs with demo-only secrets, and production refuses those secrets. One test per way
the demo store could otherwise have been turned against a real shop."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app import ConfigError, create_app
from app.devstore import DEMO_SHOP
from app.devstore.guard import DEMO_API_SECRET, DEMO_SECRET_KEY, DEMO_TOKEN_ENCRYPTION_KEY, is_loopback_url
from tests.conftest import TEST_KEY
from app.shopify.session_tokens import InvalidSessionToken, decode_session_token
from tests.support import API_KEY, PROJECT_ROOT, SECRET, SHOP


def refusal(settings: dict) -> str:
    with pytest.raises(ConfigError) as refused:
        create_app(settings)
    return str(refused.value)


@pytest.fixture
def production_settings(app_settings):
    """The suite's ordinary app: DEVSTORE off, real-looking secrets."""
    return {**app_settings, "DEVSTORE": False, "SHOPIFY_API_SECRET": SECRET, "TOKEN_ENCRYPTION_KEY": TEST_KEY,
            "APP_URL": "https://tessera.example.com", "SHOPIFY_ADMIN_BASE_URL": "https://{shop}"}


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000", "http://127.8.0.1", "http://localhost:8080",
                                 "http://[::1]:5000", "https://localhost"])
def test_loopback_addresses_count_as_this_machine(url):
    assert is_loopback_url(url)


@pytest.mark.parametrize("url", ["https://tessera.example.com", "http://0.0.0.0:5000", "http://10.0.0.5:5000",
                                 "http://127.0.0.1.nip.io", "http://localhost.example.com", "ftp://127.0.0.1",
                                 "http://[::ffff:10.0.0.1]", "not a url"])
def test_addresses_others_can_reach_do_not(url):
    assert not is_loopback_url(url)


def test_devstore_on_a_public_app_url_refuses_to_start_naming_app_url(app_settings):
    message = refusal({**app_settings, "APP_URL": "https://tessera.example.com",
                       "SHOPIFY_ADMIN_BASE_URL": "https://tessera.example.com/devstore/shopify/{shop}"})
    assert "APP_URL=https://tessera.example.com is not a loopback address" in message
    assert "unset DEVSTORE" in message


def test_devstore_pointed_at_real_shopify_refuses_to_start_naming_the_admin_url(app_settings):
    message = refusal({**app_settings, "SHOPIFY_ADMIN_BASE_URL": "https://{shop}"})
    assert "SHOPIFY_ADMIN_BASE_URL=https://{shop} is not the demo store" in message
    assert "http://127.0.0.1:5000/devstore/shopify/{shop}" in message


def test_devstore_pointed_at_another_machines_stand_in_refuses_to_start(app_settings):
    message = refusal({**app_settings, "SHOPIFY_ADMIN_BASE_URL": "http://127.0.0.1:6000/devstore/shopify/{shop}"})
    assert "SHOPIFY_ADMIN_BASE_URL" in message


def test_devstore_without_an_admin_url_talks_to_its_own_stand_in(app_settings):
    app = create_app({**app_settings, "SHOPIFY_ADMIN_BASE_URL": ""})
    t = app.extensions["tessera"]
    assert t.endpoints.shop_url(DEMO_SHOP, "").startswith(f"http://127.0.0.1:5000/devstore/shopify/{DEMO_SHOP}")
    t.db.engine.dispose()


def test_devstore_never_signs_demo_tokens_with_the_real_app_secret(app_settings, caplog):
    app = create_app({**app_settings, "SHOPIFY_API_SECRET": SECRET, "SHOPIFY_API_SECRET_PREVIOUS": SECRET,
                      "TOKEN_ENCRYPTION_KEY": TEST_KEY, "SECRET_KEY": "real-flask-secret-key"})
    try:
        token = app.test_client().get(f"/devstore/session-token?shop={DEMO_SHOP}").get_json()["token"]
        with pytest.raises(InvalidSessionToken):
            decode_session_token(token, api_key=API_KEY, secrets=[SECRET])
        assert app.extensions["tessera"].api_secrets == [DEMO_API_SECRET]
        assert app.config["TOKEN_ENCRYPTION_KEY"] == DEMO_TOKEN_ENCRYPTION_KEY
        assert app.config["SECRET_KEY"] != "real-flask-secret-key"
        assert "DEVSTORE=1 ignores SHOPIFY_API_SECRET, SHOPIFY_API_SECRET_PREVIOUS, TOKEN_ENCRYPTION_KEY, SECRET_KEY" \
            in caplog.text
        assert SECRET not in caplog.text
    finally:
        app.extensions["tessera"].db.engine.dispose()


def test_the_demo_signs_and_encrypts_with_its_own_public_values(app):
    t = app.extensions["tessera"]
    assert t.api_secrets == [DEMO_API_SECRET]
    assert t.cipher.decrypt(t.cipher.encrypt("shpat_demo")) == "shpat_demo"
    assert app.config["TOKEN_ENCRYPTION_KEY"] == DEMO_TOKEN_ENCRYPTION_KEY


def test_a_demo_app_rebuilt_from_its_own_settings_ignores_nothing(app, caplog):
    # `flask devstore ...` builds a worker-less copy of the app from the app's settings.
    copy = create_app(dict(app.config))
    copy.extensions["tessera"].db.engine.dispose()
    assert "ignores" not in caplog.text


def test_production_refuses_to_start_with_the_demo_secret(production_settings):
    message = refusal({**production_settings, "SHOPIFY_API_SECRET": DEMO_API_SECRET})
    assert "SHOPIFY_API_SECRET is the demo store's public secret" in message
    previous = refusal({**production_settings, "SHOPIFY_API_SECRET_PREVIOUS": DEMO_API_SECRET})
    assert "SHOPIFY_API_SECRET_PREVIOUS is the demo store's public secret" in previous


def test_production_refuses_the_demos_secret_key_for_its_cookies(production_settings):
    message = refusal({**production_settings, "SECRET_KEY": DEMO_SECRET_KEY})
    assert "SECRET_KEY is the demo store's public key" in message


def test_production_refuses_the_demo_encryption_key_even_beside_a_real_one(production_settings):
    message = refusal({**production_settings, "TOKEN_ENCRYPTION_KEY": f"{TEST_KEY},{DEMO_TOKEN_ENCRYPTION_KEY}"})
    assert "TOKEN_ENCRYPTION_KEY holds the demo store's public key" in message


def test_production_never_waives_missing_secrets(production_settings):
    message = refusal({**production_settings, "TESTING": False, "SHOPIFY_API_SECRET": "", "TOKEN_ENCRYPTION_KEY": ""})
    assert "missing settings: SHOPIFY_API_SECRET, TOKEN_ENCRYPTION_KEY" in message


def test_a_session_token_minted_by_the_demo_store_does_not_open_a_production_admin(client, production_settings):
    token = client.get(f"/devstore/session-token?shop={DEMO_SHOP}").get_json()["token"]
    production = create_app(production_settings)
    try:
        page = production.test_client().get(f"/?shop={DEMO_SHOP}", headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 401
        assert production.test_client().get(f"/devstore/session-token?shop={SHOP}").status_code == 404
    finally:
        production.extensions["tessera"].db.engine.dispose()


def test_the_demo_store_mints_no_session_token_for_another_shop(client):
    response = client.get(f"/devstore/session-token?shop={SHOP}")
    assert response.status_code == 403 and "token" not in response.get_json()


def test_the_storefront_preview_that_browses_as_any_customer_exists_only_in_the_demo(production_settings):
    outside_tests = create_app({**production_settings, "TESTING": False, "STOREFRONT_PREVIEW": True})
    try:
        client = outside_tests.test_client()
        assert client.get("/devstore/storefront?customer=7412583020571").status_code == 404
        assert client.get("/devstore/storefront/login").status_code == 404
    finally:
        outside_tests.extensions["tessera"].db.engine.dispose()


def flask_cli(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`flask --app wsgi ARGS` in a clean environment (no settings of the suite's own)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPIFY_", "DEVSTORE", "APP_URL", "TOKEN_"))}
    base.update(FLASK_SKIP_DOTENV="1", DATABASE_URL=f"sqlite:///{tmp_path}/guard.db", REDIS_URL="",
                SHOPIFY_API_KEY="demo-api-key", **env)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=PROJECT_ROOT, env=base,
                          capture_output=True, text=True, timeout=120)


def test_flask_devstore_on_a_public_app_url_exits_with_the_reason(tmp_path):
    result = flask_cli(tmp_path, "devstore", "seed", DEVSTORE="1", APP_URL="https://tessera.example.com")
    assert result.returncode != 0
    assert "APP_URL=https://tessera.example.com is not a loopback address" in result.stderr
    assert "Traceback" not in result.stderr


def test_flask_devstore_help_works_on_loopback_without_an_admin_url(tmp_path):
    # What the contract checker runs: DEVSTORE on, APP_URL on loopback, SHOPIFY_ADMIN_BASE_URL unset,
    # and the settings of an ordinary app (ignored by the demo) still in the environment.
    result = flask_cli(tmp_path, "devstore", "--help", DEVSTORE="1", APP_URL="http://127.0.0.1:5999",
                       SHOPIFY_API_SECRET="contract-secret", TOKEN_ENCRYPTION_KEY=TEST_KEY)
    assert result.returncode == 0, result.stderr
    assert {"seed", "trigger", "reset"} <= set(result.stdout.split())


def test_gunicorn_with_devstore_on_a_public_app_url_does_not_serve(tmp_path):
    gunicorn = PROJECT_ROOT / ".venv" / "bin" / "gunicorn"
    if not gunicorn.exists():
        pytest.skip("gunicorn is not installed in .venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPIFY_", "DEVSTORE", "APP_URL", "TOKEN_"))}
    env.update(FLASK_SKIP_DOTENV="1", DATABASE_URL=f"sqlite:///{tmp_path}/guard.db", REDIS_URL="", DEVSTORE="1",
               APP_URL="https://tessera.example.com", SHOPIFY_API_KEY="demo-api-key")
    result = subprocess.run([str(gunicorn), "--bind", "127.0.0.1:0", "--workers", "1", "wsgi:app"],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "APP_URL=https://tessera.example.com is not a loopback address" in result.stderr
