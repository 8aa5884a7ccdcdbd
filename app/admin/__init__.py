"""The embedded admin: the blueprint (app/admin/blueprint.py) and the pages that add routes to it."""
from __future__ import annotations

from flask import Flask

from app.admin.access import frame_ancestors
from app.admin.blueprint import bp

__all__ = ["bp", "frame_ancestors", "init_app"]


def init_app(app: Flask) -> None:
    from app.admin import (activity, analytics, billing, emails, games, home, imports, integrations,  # noqa: F401
                           members, privacy, program, segments)
    app.register_blueprint(bp)
    app.register_blueprint(billing.shopify_return)
