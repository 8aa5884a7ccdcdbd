"""The demo store in tests: the app with DEVSTORE on, Shopify's URLs pointing at the stand-in,
and APP_URL reached in-process (nothing listens on it), as `flask devstore ...` does."""
from __future__ import annotations

import socket
import threading

import pytest
from werkzeug.serving import make_server

from app import create_app

from app.devstore import DEMO_SHOP
from app.devstore.demo import DemoShop
from app.devstore.transport import mount_in_process
from app.services.shops import find_shop

APP_URL = "http://127.0.0.1:5000"


def demo_settings(settings: dict, app_url: str, tmp_path) -> dict:
    """The suite's settings, minus its secrets: the demo store brings its own demo-only ones."""
    return {**settings, "DEVSTORE": True, "APP_URL": app_url, "SHOPIFY_API_SECRET": "", "TOKEN_ENCRYPTION_KEY": "",
            "SHOPIFY_ADMIN_BASE_URL": f"{app_url}/devstore/shopify/{{shop}}",
            "DEVSTORE_STATE_PATH": str(tmp_path / "devstore.json")}


@pytest.fixture
def app_settings(app_settings, tmp_path):
    return demo_settings(app_settings, APP_URL, tmp_path)


@pytest.fixture
def demo(app, t):
    mount_in_process(t.http, app, t.app_url)
    with app.app_context():
        yield DemoShop(app)


@pytest.fixture
def installed(demo, t):
    """Tessera installed on the demo shop through OAuth; its Shop row."""
    demo.install()
    with t.db.scope(read_only=True) as session:
        return find_shop(session, DEMO_SHOP)


def access_token(t, shop) -> str:
    return t.cipher.decrypt(shop.access_token_ciphertext)


@pytest.fixture
def served_demo(app_settings, tmp_path):
    """The demo app on a real port, with APP_URL and the admin base URL on that port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(demo_settings(app_settings, f"http://127.0.0.1:{port}", tmp_path))
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["tessera"].db.engine.dispose()
