"""The admin JSON API (`/api/v1/...`): the blueprint (app/api/blueprint.py) and its routes."""
from __future__ import annotations

from flask import Flask

from app.api.blueprint import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    from app.api import members, privacy, program, reports  # noqa: F401 - routes on bp
    from app.api import games  # noqa: F401 - games and giving reports (issue 18)
    from app.api import api_keys, webhook_endpoints  # noqa: F401 - routes on bp
    from app.api import order_points  # noqa: F401 - the admin order block's route
    from app.api import emails  # noqa: F401 - routes on bp
    from app.api import segments  # noqa: F401 - routes on bp
    from app.api import pos  # noqa: F401 - staff redemptions from the POS extension
    app.register_blueprint(bp)
