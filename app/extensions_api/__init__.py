"""The endpoints Shopify UI extensions call from customer accounts and checkout
(`/extensions/customer-account/...`, `/extensions/checkout/...`).

The extensions run in Shopify's sandbox on Shopify's origin and send the session token
`shopify.sessionToken.get()` gives them as `Authorization: Bearer`; app/extensions_api/access.py
verifies it and applies the App Proxy's shop and customer checks. The admin extensions use
/api/v1 instead (the admin session token is an App Bridge token); admin_cors.py lets their
cross-origin calls through the browser.
"""
from __future__ import annotations

from flask import Flask

from app.extensions_api.access import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    from app.extensions_api import admin_cors, checkout, customer_account  # noqa: F401 - routes on bp
    app.register_blueprint(bp)
    admin_cors.init_app(app)
