"""The App Proxy storefront API: the blueprint and its checks (app/storefront/proxy.py) and the
widget's routes (app/storefront/routes.py)."""
from __future__ import annotations

from flask import Flask

from app.storefront.proxy import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    from app.storefront import games, language, pooled_routes, routes  # noqa: F401 - registers the routes and hooks on bp
    app.register_blueprint(bp)
