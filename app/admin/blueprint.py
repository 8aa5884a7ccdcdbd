"""The embedded admin: pages rendered inside the Shopify admin iframe.

Every page load needs a valid session token (the `id_token` query parameter Shopify adds, or
the one admin.js adds when it navigates); without one the answer is a sign-in page with no
shop data (401). Every form post needs the session token (Authorization: Bearer) and the
page's CSRF token. The pages' scripts never use cookies.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask_login import current_user

from app.admin.access import (asset_version, check_csrf, embedded_page, page_url,
                              require_session_token, sign_in_page)
from app.errors import error_body
from app.loyalty.errors import NotFound

bp = Blueprint("admin", __name__)


@bp.before_request
def _authenticate():
    if request.method in ("GET", "HEAD"):
        if not current_user.is_authenticated:
            return sign_in_page()
        return None
    require_session_token()
    check_csrf()
    return None


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound):
    """A page for something outside the shop (or gone) reads as a page, not as JSON."""
    if request.method != "GET":
        return jsonify(error_body(exc.code, str(exc))), 404
    html = render_template("admin/not_found.html", message=str(exc), home_url=page_url("admin.home"),
                           asset_version=asset_version())
    return embedded_page(html, current_user.shop_domain, status=404)
