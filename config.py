"""Settings, read from the environment (a `.env` file is loaded by the `flask` command).

`settings_from_env()` is the only place that knows the variable names; `create_app` takes the
resulting mapping, so tests pass their own values instead of patching the environment.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

# The Admin API version whose schema ships in shared/shopify-reference (and that our GraphQL
# documents are validated against). Moving on means re-validating the documents.
DEFAULT_API_VERSION = "2025-01"

DEFAULT_SCOPES = ",".join([
    "read_orders",
    "read_customers",
    "write_customers",
    "read_discounts",
    "write_discounts",
    "write_app_proxy",
    "read_products",
    "read_store_credit_accounts",
    "write_store_credit_account_transactions",
])


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    return {
        "SHOPIFY_API_KEY": env.get("SHOPIFY_API_KEY", ""),
        "SHOPIFY_API_SECRET": env.get("SHOPIFY_API_SECRET", ""),
        # Accepted for webhook/proxy signatures during a secret rotation (Shopify keeps signing
        # with the old secret for up to an hour).
        "SHOPIFY_API_SECRET_PREVIOUS": env.get("SHOPIFY_API_SECRET_PREVIOUS", ""),
        "SHOPIFY_API_VERSION": env.get("SHOPIFY_API_VERSION") or DEFAULT_API_VERSION,
        # Unset: https://{shop} (Shopify), or with DEVSTORE the demo store inside this app.
        "SHOPIFY_ADMIN_BASE_URL": env.get("SHOPIFY_ADMIN_BASE_URL", ""),
        "APP_URL": (env.get("APP_URL") or "http://127.0.0.1:5000").rstrip("/"),
        "DATABASE_URL": env.get("DATABASE_URL", ""),
        "REDIS_URL": env.get("REDIS_URL", ""),
        "SCOPES": env.get("SCOPES") or DEFAULT_SCOPES,
        "TOKEN_ENCRYPTION_KEY": env.get("TOKEN_ENCRYPTION_KEY", ""),
        "SECRET_KEY": env.get("SECRET_KEY", ""),
        # Public apps created after 2026-04-01 must use expiring offline tokens (auth.md §4).
        "EXPIRING_OFFLINE_TOKENS": _flag(env.get("EXPIRING_OFFLINE_TOKENS"), default=True),
        "INPROCESS_WORKER": _flag(env.get("INPROCESS_WORKER"), default=False),
        # The local demo store; starts only with APP_URL on loopback (app/devstore/guard.py).
        "DEVSTORE": _flag(env.get("DEVSTORE")),
        # Demo store only: where the Shopify stand-in keeps its state, and the Admin schema it
        # validates against (default: shared/shopify-reference beside the project).
        "DEVSTORE_STATE_PATH": env.get("DEVSTORE_STATE_PATH", ""),
        "DEVSTORE_ADMIN_SCHEMA": env.get("DEVSTORE_ADMIN_SCHEMA", ""),
        "SQLITE_SYNCHRONOUS": env.get("SQLITE_SYNCHRONOUS") or "FULL",
        "LOG_LEVEL": env.get("LOG_LEVEL") or "INFO",
    }
