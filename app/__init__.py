"""Tessera: a loyalty and rewards app for Shopify stores."""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from config import settings_from_env

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    pass


def _complete_settings(settings: dict[str, Any], instance_path: str) -> None:
    _apply_demo_store_guard(settings)
    missing = [k for k in ("SHOPIFY_API_KEY", "SHOPIFY_API_SECRET", "TOKEN_ENCRYPTION_KEY") if not settings.get(k)]
    if missing:  # the demo store has filled in its own by now; nothing else is waived
        raise ConfigError(f"missing settings: {', '.join(missing)}. Set them in the environment or a .env file "
                          "(see README, 'Configuration').")
    if not settings.get("SHOPIFY_ADMIN_BASE_URL"):
        settings["SHOPIFY_ADMIN_BASE_URL"] = "https://{shop}"
    if not settings.get("DATABASE_URL"):
        settings["DATABASE_URL"] = f"sqlite:///{Path(instance_path) / 'tessera.db'}"
    if not settings.get("SECRET_KEY"):
        # Stable across restarts without another secret to manage; distinct from the API secret.
        settings["SECRET_KEY"] = hmac.new(settings["SHOPIFY_API_SECRET"].encode(), b"tessera-secret-key",
                                          hashlib.sha256).hexdigest()
    settings.setdefault("WEBHOOK_REGISTRATION", "auto")
    _check_mail_settings(settings)


def _check_mail_settings(settings: dict[str, Any]) -> None:
    from app.mail.transport import MailConfigError, check_mail_settings
    try:
        check_mail_settings(settings)
    except MailConfigError as exc:
        raise ConfigError(f"Tessera refuses to start: {exc}") from None


def _apply_demo_store_guard(settings: dict[str, Any]) -> None:
    """The demo store starts only on loopback with demo-only secrets; production never with those."""
    from app.devstore.guard import demo_values_in_production, settle_demo_store_settings

    refusals = settle_demo_store_settings(settings) if settings.get("DEVSTORE") else \
        demo_values_in_production(settings)
    if refusals:
        raise ConfigError("Tessera refuses to start: " + " ".join(refusals))


def _configure_logging(level: str) -> None:
    from app.request_logs import redact_werkzeug_log
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact_werkzeug_log()


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The application factory. `config` overrides settings read from the environment."""
    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "instance"))
    settings = settings_from_env()
    settings.update(config or {})
    _complete_settings(settings, app.instance_path)
    app.config.update(settings)
    _configure_logging(settings["LOG_LEVEL"])
    os.makedirs(app.instance_path, exist_ok=True)
    tessera = _build_runtime(settings)
    app.extensions["tessera"] = tessera
    _register_http(app)
    from app.cli import register_cli
    register_cli(app)
    if settings.get("INPROCESS_WORKER") and hasattr(tessera.queue, "start"):
        _start_worker_on_first_request(app)
    return app


def _build_runtime(settings: dict[str, Any]):
    from app.crypto import TokenCipher
    from app.db import Database, make_engine
    from app.jobs.queues import InProcessQueue, RQQueue
    from app.runtime import Tessera
    from app.shopify.oauth import ShopifyEndpoints

    engine = make_engine(settings["DATABASE_URL"], sqlite_synchronous=settings["SQLITE_SYNCHRONOUS"])
    queue = RQQueue(settings["REDIS_URL"]) if settings.get("REDIS_URL") else InProcessQueue()
    tessera = Tessera(config=settings, db=Database(engine), cipher=TokenCipher(settings["TOKEN_ENCRYPTION_KEY"]),
                      endpoints=ShopifyEndpoints(settings["SHOPIFY_ADMIN_BASE_URL"], settings["SHOPIFY_API_VERSION"]),
                      queue=queue)
    return tessera


def _register_http(app: Flask) -> None:
    from app import auth, request_limits
    from app.errors import register_error_handlers
    from app.parsing import StoredIdConverter
    from webhooks import bp as webhooks_bp

    register_error_handlers(app)
    request_limits.init_app(app)
    app.url_map.converters["int"] = StoredIdConverter
    auth.init_app(app)
    app.register_blueprint(webhooks_bp)
    for module_name in ("app.storefront", "app.flow", "app.admin", "app.api", "app.integrations", "app.devstore",
                        "app.devstore.storefront", "app.mail"):
        module = __import__(module_name, fromlist=["init_app"])
        module.init_app(app)
    from app import extensions_api  # customer account and checkout UI extensions' endpoints
    extensions_api.init_app(app)


def _start_worker_on_first_request(app: Flask) -> None:
    """The in-process worker starts with the first request, so CLI commands (migrations,
    `shops add`) never start one, while `flask run` and gunicorn do."""
    lock = threading.Lock()

    @app.before_request
    def _start_worker():
        tessera = app.extensions["tessera"]
        if getattr(tessera.queue, "_thread", True) is None:
            with lock:
                tessera.queue.start(tessera)
