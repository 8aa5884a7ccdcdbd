"""Who may run the demo store, and with which secrets.

`DEVSTORE=1` turns on a stand-in for Shopify that mints session tokens for its shop and lets
anyone browse the storefront as any customer. That is only safe where nobody else can reach it,
so Tessera starts in demo mode only when APP_URL is a loopback address and the Admin API is the
stand-in inside this app; and whatever the demo signs, it signs with public demo-only values
(never the real ones, even when set) that a real deployment refuses to start with. create_app() applies both rules, so every entry
point (flask commands, `flask run`, gunicorn) does.
"""
from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit

# Public on purpose (they are in the repository): the demo store plays Shopify and signs its
# webhooks, OAuth redirects, App Proxy calls and session tokens with this "app secret", and the
# demo database's access tokens are encrypted with this key. Production refuses both.
DEMO_API_KEY = "demo-api-key"
DEMO_API_SECRET = "demo-api-secret-not-for-production"
DEMO_SECRET_KEY = "demo-secret-key-not-for-production"  # OAuth state and preview cookies
DEMO_TOKEN_ENCRYPTION_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"tessera-devstore-only").digest()).decode()

log = logging.getLogger(__name__)

STAND_IN_PATH = "/devstore/shopify/{shop}"
LOOPBACK_EXAMPLES = "http://127.0.0.1:5000, http://localhost:5000 or http://[::1]:5000"


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs on 127.0.0.0/8, ::1 or localhost: only this machine reaches them."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def stand_in_admin_base_url(app_url: str) -> str:
    return app_url.rstrip("/") + STAND_IN_PATH


def settle_demo_store_settings(settings: MutableMapping[str, Any]) -> list[str]:
    """With DEVSTORE on: fill in the demo-only secrets and the stand-in's Admin URL, and return
    what forbids starting (empty if nothing does)."""
    app_url = settings["APP_URL"].rstrip("/")
    refusals = []
    if not is_loopback_url(app_url):
        refusals.append(f"APP_URL={app_url} is not a loopback address. DEVSTORE=1 runs the demo store, which "
                        f"mints session tokens and lets anyone browse as any customer, so it only starts on this "
                        f"machine: set APP_URL to {LOOPBACK_EXAMPLES}, or unset DEVSTORE for a real deployment.")
    expected = stand_in_admin_base_url(app_url)
    if not settings.get("SHOPIFY_ADMIN_BASE_URL"):
        # Unset can only mean "the demo store": it is where a demo app must talk to.
        settings["SHOPIFY_ADMIN_BASE_URL"] = expected
    elif settings["SHOPIFY_ADMIN_BASE_URL"].rstrip("/") != expected:
        refusals.append(f"SHOPIFY_ADMIN_BASE_URL={settings['SHOPIFY_ADMIN_BASE_URL']} is not the demo store. With "
                        f"DEVSTORE=1 Tessera talks only to the stand-in inside this app: set it to {expected} or "
                        f"unset it, or unset DEVSTORE to talk to real Shopify.")
    _replace_real_secrets(settings)
    return refusals


def _replace_real_secrets(settings: MutableMapping[str, Any]) -> None:
    """A real app secret never signs demo credentials (a demo session token would then open the
    real app), nor does a real key encrypt demo data: the demo's own values replace them. Set
    ones are ignored with a warning rather than refused, so a shell that has the real settings
    can still run `flask devstore --help` or the demo."""
    ignored = [name for name in ("SHOPIFY_API_SECRET", "SHOPIFY_API_SECRET_PREVIOUS", "TOKEN_ENCRYPTION_KEY",
                                 "SECRET_KEY")
               if settings.get(name) not in ("", None, DEMO_API_SECRET, DEMO_TOKEN_ENCRYPTION_KEY, DEMO_SECRET_KEY)]
    if ignored:
        log.warning("DEVSTORE=1 ignores %s: the demo store signs and encrypts only with its own demo-only values.",
                    ", ".join(ignored))
    settings.update(SHOPIFY_API_SECRET=DEMO_API_SECRET, SHOPIFY_API_SECRET_PREVIOUS="",
                    TOKEN_ENCRYPTION_KEY=DEMO_TOKEN_ENCRYPTION_KEY, SECRET_KEY=DEMO_SECRET_KEY)
    settings["SHOPIFY_API_KEY"] = settings.get("SHOPIFY_API_KEY") or DEMO_API_KEY


def demo_values_in_production(settings: MutableMapping[str, Any]) -> list[str]:
    """Without DEVSTORE: the demo's public secret and key must not be the real ones, or anyone
    could sign session tokens, webhooks and proxy calls Tessera would accept."""
    refusals = [f"{name} is the demo store's public secret: set your app's client secret (Partner Dashboard > "
                f"Apps > Tessera > Client credentials)."
                for name in ("SHOPIFY_API_SECRET", "SHOPIFY_API_SECRET_PREVIOUS")
                if settings.get(name) == DEMO_API_SECRET]
    if settings.get("SECRET_KEY") == DEMO_SECRET_KEY:
        refusals.append("SECRET_KEY is the demo store's public key: unset it (it is then derived from the API "
                        "secret) or set your own.")
    keys = [k.strip() for k in str(settings.get("TOKEN_ENCRYPTION_KEY") or "").split(",")]
    if DEMO_TOKEN_ENCRYPTION_KEY in keys:
        refusals.append("TOKEN_ENCRYPTION_KEY holds the demo store's public key: generate your own (see README, "
                        "'Configuration').")
    return refusals
