"""The App Proxy API the storefront widget talks to (Shopify forwards /apps/tessera/* here)."""
from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("storefront", __name__, url_prefix="/proxy")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
