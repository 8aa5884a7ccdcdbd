"""The local demo store: a stand-in for Shopify (OAuth, Admin GraphQL, webhooks) that
`make run` points SHOPIFY_ADMIN_BASE_URL at, plus the `flask devstore` commands.

Registered only when DEVSTORE=1. Tessera's own code has no demo branches: it reaches the
stand-in through SHOPIFY_ADMIN_BASE_URL and is reached by it through its real endpoints.
"""
from __future__ import annotations

from flask import Flask

from app.devstore.catalog import DEMO_SHOP

__all__ = ["DEMO_SHOP", "init_app"]


def init_app(app: Flask) -> None:
    if not app.config.get("DEVSTORE"):
        return
    from app.devstore.cli import devstore_group
    from app.devstore.stand_in import StandIn
    from app.devstore.views import bp

    app.extensions["devstore"] = StandIn.from_config(app.config, app.instance_path)
    app.register_blueprint(bp)
    from app.devstore.extension_previews import bp as extension_previews
    app.register_blueprint(extension_previews)
    app.cli.add_command(devstore_group)
    from app.devstore.mailbox import init_mailbox
    init_mailbox(app)
