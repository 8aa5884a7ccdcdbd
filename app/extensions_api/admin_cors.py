"""CORS for the admin UI extensions' calls to /api/v1.

Admin UI extensions run in a web worker on Shopify's extension origin, and their fetch() to the
app (relative URLs resolve against application_url; shopify.dev, "Admin UI extensions: App
authentication") is cross-origin: the browser preflights it because of the Authorization header.
/api/v1 grants nothing without a valid session token and never reads cookies, so any origin may
ask; the preflight itself carries no token and must not meet the API's 401.
"""
from __future__ import annotations

from flask import Flask, request

from app.extensions_api.access import CORS_HEADERS

API_PREFIX = "/api/v1/"
API_CORS_HEADERS = {**CORS_HEADERS, "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key"}


def _is_api_call() -> bool:
    return request.path.startswith(API_PREFIX)


def _answer_api_preflight():
    if request.method == "OPTIONS" and _is_api_call():
        return "", 204, API_CORS_HEADERS
    return None


def _allow_extension_origin(response):
    if _is_api_call():
        response.headers.update(API_CORS_HEADERS)
        response.headers["Vary"] = "Authorization"
    return response


def init_app(app: Flask) -> None:
    # App-level hooks run before the API blueprint's authentication, so a preflight gets its 204.
    app.before_request(_answer_api_preflight)
    app.after_request(_allow_extension_origin)
