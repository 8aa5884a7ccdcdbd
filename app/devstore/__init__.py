"""The local demo store: a simulated Shopify for `make run` (only when DEVSTORE=1)."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    if not app.config.get("DEVSTORE"):
        return
