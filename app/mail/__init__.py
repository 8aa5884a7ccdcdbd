"""Email: SMTP transport (transport.py), rendering (render.py, templates/, texts/ in the 7
storefront languages) and the public one-click unsubscribe page (unsubscribe.py). What to send
and when is decided in app/loyalty/emails.py and app/services/member_emails.py."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.mail.unsubscribe import bp
    app.register_blueprint(bp)
