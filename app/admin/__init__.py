"""The embedded admin: the blueprint (app/admin/blueprint.py) and the pages that add routes to it."""
from __future__ import annotations

from flask import Flask

from app.admin.access import frame_ancestors
from app.admin.blueprint import bp

__all__ = ["bp", "frame_ancestors", "init_app"]


def init_app(app: Flask) -> None:
    from app.admin import activity, analytics, home, imports, members, privacy, program  # noqa: F401 - routes on bp
    from app.admin import segments  # noqa: F401 - routes on bp
    app.register_blueprint(bp)
