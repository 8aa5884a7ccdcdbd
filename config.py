"""Settings, read from the environment (a `.env` file is loaded by the `flask` command).

`settings_from_env()` is the only place that knows the variable names; `create_app` takes the
resulting mapping, so tests pass their own values instead of patching the environment.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

# The one place that names the Admin API version (Shopify serves a version for about a year,
# then answers with the oldest supported one). Its schema ships in app/devstore/ and every GraphQL
# document is validated against it; moving on means adding that version's schema and re-validating.
DEFAULT_API_VERSION = "2026-10"

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
    "read_locations",  # the store location named in a POS order's history line
])


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _count(name: str, value: str | None, default: int, *, minimum: int = 1) -> int:
    if value is None or value.strip() == "":
        return default
    if not (value.strip().isascii() and value.strip().isdigit()) or int(value) < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum} (got {value!r}); "
                         f"the default is {default}")
    return int(value)


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
        # How shops get their webhook subscriptions: auto, api or toml (README, 'Configuration').
        "WEBHOOK_REGISTRATION": env.get("WEBHOOK_REGISTRATION") or "auto",
        # The local demo store; starts only with APP_URL on loopback (app/devstore/guard.py).
        "DEVSTORE": _flag(env.get("DEVSTORE")),
        # Demo store only: where the Shopify stand-in keeps its state, and the Admin schema it
        # validates against (default: the version's schema shipped in app/devstore/).
        "DEVSTORE_STATE_PATH": env.get("DEVSTORE_STATE_PATH", ""),
        "DEVSTORE_ADMIN_SCHEMA": env.get("DEVSTORE_ADMIN_SCHEMA", ""),
        # Total time /proxy/redeem may spend on Shopify, retries included: well inside gunicorn's
        # 30 s worker timeout. Past it the shopper gets 202 and the worker finishes the redemption.
        "REDEEM_DEADLINE_SECONDS": float(env.get("REDEEM_DEADLINE_SECONDS") or 15),
        "SQLITE_SYNCHRONOUS": env.get("SQLITE_SYNCHRONOUS") or "FULL",
        # Processed webhook bodies (personal data) are blanked after this many days.
        "WEBHOOK_BODY_RETENTION_DAYS": _count("WEBHOOK_BODY_RETENTION_DAYS", env.get("WEBHOOK_BODY_RETENTION_DAYS"), 30),
        "LOG_LEVEL": env.get("LOG_LEVEL") or "INFO",
        # Largest request body accepted (413 above it, before reading it); the CSV import has its own.
        "MAX_CONTENT_LENGTH": _count("MAX_CONTENT_LENGTH", env.get("MAX_CONTENT_LENGTH"), 5 * 1024 * 1024),
        # /proxy/referral mints discount codes: per shopper address and per shop, each hour.
        "REFERRAL_LANDINGS_PER_CLIENT_PER_HOUR": _count("REFERRAL_LANDINGS_PER_CLIENT_PER_HOUR",
                                                        env.get("REFERRAL_LANDINGS_PER_CLIENT_PER_HOUR"), 10),
        "REFERRAL_LANDINGS_PER_SHOP_PER_HOUR": _count("REFERRAL_LANDINGS_PER_SHOP_PER_HOUR",
                                                      env.get("REFERRAL_LANDINGS_PER_SHOP_PER_HOUR"), 500),
        # Proxies of ours between Shopify's app proxy and the app (each appends to X-Forwarded-For).
        "APP_PROXY_TRUSTED_HOPS": _count("APP_PROXY_TRUSTED_HOPS", env.get("APP_PROXY_TRUSTED_HOPS"), 0, minimum=0),
        # Plans and Shopify recurring charges for the hosted app; self-hosted installations keep it off.
        "BILLING": _billing_mode(env.get("BILLING")),
        # Charges created as test charges (no money moves): development stores need them, and a
        # forgotten setting should never bill an owner by mistake. Set BILLING_TEST=0 in production.
        "BILLING_TEST": _flag(env.get("BILLING_TEST"), default=True),
        # Outbound webhooks may go to http:// and private addresses (local use and tests only).
        "OUTBOUND_WEBHOOKS_ALLOW_PRIVATE": _flag(env.get("OUTBOUND_WEBHOOKS_ALLOW_PRIVATE")),
        # Klaviyo's API; tests point it at a stand-in.
        "KLAVIYO_API_URL": (env.get("KLAVIYO_API_URL") or "https://a.klaviyo.com").rstrip("/"),
        # Member emails and owner notifications (app/mail): smtp://user:pass@host:587 (STARTTLS
        # when offered), smtps://host:465, or smtp+plain://127.0.0.1:2525 (loopback only).
        # Unset: nothing is sent and the admin's Emails page says so.
        "MAIL_URL": env.get("MAIL_URL", ""),
        "MAIL_FROM": env.get("MAIL_FROM", ""),
    }


def _billing_mode(value: str | None) -> bool:
    mode = (value or "off").strip().lower()
    if mode not in {"on", "off"}:
        raise ValueError(f"BILLING must be 'on' or 'off' (got {value!r}); the default, for self-hosting, is off")
    return mode == "on"
