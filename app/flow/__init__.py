"""Shopify Flow: the trigger lifecycle callback and the action endpoints (app/flow/routes.py),
with the triggers and actions Tessera declares (app/flow/definitions.py)."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.flow.routes import bp
    app.register_blueprint(bp)
