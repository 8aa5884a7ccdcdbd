"""The App Proxy storefront API: the blueprint and its checks (app/storefront/proxy.py) and the
widget's routes (app/storefront/routes.py)."""
from __future__ import annotations

from flask import Flask

from app.storefront.proxy import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    from app.storefront import routes  # noqa: F401 - registers the routes on bp
    from app.storefront import games  # noqa: F401 - the games and giving routes (issue 18)
    app.register_blueprint(bp)
