"""The embedded admin: pages rendered inside the Shopify admin iframe."""
from __future__ import annotations

from flask import Blueprint, Flask, render_template, request
from flask_login import current_user

from app.auth import ensure_installed_from_session_token
from app.errors import ApiError
from app.models import Shop
from app.runtime import tessera

bp = Blueprint("admin", __name__)


def frame_ancestors(shop_domain: str | None) -> str:
    """CSP for embedded pages: only this shop's admin may frame them (auth.md §6)."""
    if not shop_domain:
        return "frame-ancestors 'none';"
    return f"frame-ancestors https://{shop_domain} https://admin.shopify.com;"


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        raise ApiError(401, "session_token_required",
                       "Open Tessera from your Shopify admin (Apps > Tessera) to sign in.")
    shop_id = ensure_installed_from_session_token(current_user)
    t = tessera()
    with t.db.scope(read_only=True) as session:
        shop = session.get(Shop, shop_id)
        response = tessera_response(render_template("admin/home.html", shop=shop, api_key=t.api_key,
                                                    host=request.args.get("host", "")), shop.domain)
    return response


def tessera_response(html: str, shop_domain: str):
    from flask import make_response
    response = make_response(html)
    response.headers["Content-Security-Policy"] = frame_ancestors(shop_domain)
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
