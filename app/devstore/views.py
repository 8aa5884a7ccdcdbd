"""HTTP face of the demo store (registered only when DEVSTORE=1):

- /devstore/shopify/<shop>/admin/...  the stand-in for Shopify that SHOPIFY_ADMIN_BASE_URL
  points at: OAuth authorize and token endpoints, the Admin GraphQL API, and the admin's
  "open app" link (into Tessera's embedded admin with a fresh session token);
- /devstore/session-token?shop=...    a fresh session token, for admin pages outside an iframe;
- /devstore/ and /devstore/webhooks   the demo store's start page and its webhook deliveries
  (the start page also answers a bare GET /, the address `make run` prints).
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for

from app.devstore import billing, oauth
from app.devstore.demo import DemoShop
from app.devstore.admin_api import admin_graphql
from app.devstore.bulk import file_path
from app.devstore.catalog import DEMO_SHOP
from app.devstore.discounts import status as discount_status
from app.devstore.schema import AdminSchemaMissing
from app.devstore.seed import SHOPPERS
from app.devstore.stand_in import credentials, stand_in
from app.errors import ApiError
from app.runtime import tessera
from app.shopify.domains import InvalidShopDomain, normalize_shop_domain

bp = Blueprint("demo_store", __name__, url_prefix="/devstore", template_folder="templates")

# Shopify's answer to a missing, revoked or expired access token.
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


def _domain(shop: str | None) -> str:
    try:
        return normalize_shop_domain(shop)
    except InvalidShopDomain as exc:
        raise ApiError(400, "invalid_shop_domain", str(exc)) from exc


@bp.get("/shopify/<shop>/admin/oauth/authorize")
def oauth_authorize(shop: str):
    domain = _domain(shop)
    try:
        with stand_in().state.shop(domain) as state:
            url = oauth.authorize(state, request.args.to_dict(), credentials(current_app.config), tessera().clock())
    except oauth.OAuthRefused as exc:
        return exc.body, exc.status
    return redirect(url)


@bp.post("/shopify/<shop>/admin/oauth/access_token")
def oauth_access_token(shop: str):
    domain = _domain(shop)
    body = request.get_json(silent=True) or request.form.to_dict()
    try:
        with stand_in().state.shop(domain) as state:
            if oauth.rate_limited(state):
                return oauth.RATE_LIMITED, 429, {"Retry-After": "1"}
            return oauth.token(state, body, credentials(current_app.config), tessera().clock())
    except oauth.OAuthRefused as exc:
        return exc.body, exc.status


@bp.get("/shopify/<shop>/admin/apps/<api_key>", defaults={"path": ""})
@bp.get("/shopify/<shop>/admin/apps/<api_key>/<path:path>")
def open_app(shop: str, api_key: str, path: str):
    """The admin's Apps > Tessera (or a deep link into it): the embedded app with a session
    token, or its install."""
    domain, app = _domain(shop), credentials(current_app.config)
    if api_key != app.api_key:
        return {"errors": f"No app with client id {api_key} on {domain} (the demo app is {app.api_key})."}, 404
    if not stand_in().state.snapshot(domain)["installed"]:
        return redirect(oauth.install_url(domain, app))
    return redirect(oauth.embedded_app_url(domain, app, path))


@bp.post("/shopify/<shop>/admin/api/<version>/graphql.json")
def admin_api(shop: str, version: str):
    domain, demo = _domain(shop), stand_in()
    if version != demo.api_version:
        return {"errors": f"The demo store serves Admin API {demo.api_version} (the schema it validates against); "
                          f"set SHOPIFY_API_VERSION={demo.api_version}."}, 404
    try:
        schema = demo.schema()
    except AdminSchemaMissing as exc:
        return {"errors": str(exc)}, 503
    now = tessera().clock()
    with demo.state.shop(domain) as state:
        scopes = oauth.token_scopes(state, request.headers.get("X-Shopify-Access-Token"), now)
        if scopes is None:
            return {"errors": INVALID_TOKEN}, 401
        fault = demo.fault_for(request.get_json(silent=True))
        if fault is not None and not fault.applied:
            return {"errors": "Bad gateway"}, fault.status
        answer = admin_graphql(state, request.get_json(silent=True), schema=schema, now=now, scopes=scopes,
                               throttle=demo.throttle, bulk_files=demo.bulk_files,
                               bulk_file_url=lambda token: url_for("demo_store.bulk_file", token=token, _external=True))
        return ({"errors": "Bad gateway"}, fault.status) if fault is not None else answer


@bp.route("/shopify/<shop>/admin/charges/<charge_id>/confirm", methods=["GET", "POST"])
def confirm_charge(shop: str, charge_id: str):
    """Shopify's page where the owner approves or declines an app's recurring charge; either
    way they land on the app's return URL with the charge id."""
    domain = _domain(shop)
    record = billing.subscriptions(stand_in().state.snapshot(domain)).get(charge_id)
    if record is None:
        abort(404)
    if request.method == "GET" or record["status"] != "PENDING":
        return render_template("devstore/charge.html", charge=record, shop=domain)
    DemoShop(current_app._get_current_object(), domain).answer_subscription(
        charge_id, approved=request.form.get("decision") == "approve")
    separator = "&" if "?" in record["return_url"] else "?"
    return redirect(f"{record['return_url']}{separator}charge_id={charge_id}")


@bp.get("/bulk/<token>.jsonl")
def bulk_file(token: str):
    """A bulk operation's result, like Shopify's signed storage link: the unguessable token is the
    credential, and Range requests are honoured (a resumed import asks for the rest only)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", token):
        abort(404)
    path = file_path(stand_in().bulk_files, token)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="application/jsonl", conditional=True, max_age=0)


@bp.get("/session-token")
def session_token():
    """Signed with the demo-only secret, and only for the demo store's own shop: the demo plays
    the admin of one shop, never of another shop this database may know."""
    domain = _domain(request.args.get("shop") or DEMO_SHOP)
    if domain != DEMO_SHOP:
        raise ApiError(403, "not_the_demo_shop", f"The demo store mints session tokens for {DEMO_SHOP} only.")
    return {"token": oauth.mint_session_token(domain, credentials(current_app.config))}, 200, \
        {"Cache-Control": "no-store"}


@bp.get("/")
def home():
    state = stand_in().state.snapshot(DEMO_SHOP)
    now = tessera().clock()
    discounts = [dict(d, status=discount_status(d, now)) for d in reversed(list(state["discounts"].values()))]
    named = {shopper.email for shopper in SHOPPERS.values()}
    customers = list(state["customers"].values())
    return render_template("devstore/home.html", shop=state, discounts=discounts, orders=len(state["orders"]),
                           story_customers=[c for c in customers if c["email"] in named],
                           other_customers=[c for c in customers if c["email"] not in named],
                           admin_url=_admin_path(), inbox_url=_admin_path("activity"))


@bp.before_app_request
def start_page_at_root():
    """`make run` prints APP_URL: opened as typed (no shop, no session token) it shows the demo
    store's start page instead of the admin's sign-in error. The admin's own loads of / carry a
    shop or an id_token and pass through."""
    if request.path == "/" and request.method in ("GET", "HEAD") and not (
            request.args.get("shop") or request.args.get("id_token") or request.headers.get("Authorization")):
        return home()
    return None


@bp.get("/webhooks")
def webhook_deliveries():
    """What the demo store delivered, and how each address answered (Tessera's side of it, the
    inbox, is its admin's Activity page)."""
    sent = list(reversed(stand_in().state.snapshot(DEMO_SHOP)["deliveries"]))
    return render_template("devstore/webhooks.html", sent=sent, shop=DEMO_SHOP, inbox_url=_admin_path("activity"))


def _admin_path(path: str = "") -> str:
    return f"/devstore/shopify/{DEMO_SHOP}/admin/apps/{current_app.config['SHOPIFY_API_KEY']}" + \
        (f"/{path}" if path else "")


@bp.get("/metafields-and-flow")
def metafields_and_flow():
    """What Tessera wrote on the demo store's customers ($app:loyalty metafields, their
    definitions) and the Flow triggers it sent."""
    state = stand_in().state.snapshot(DEMO_SHOP)
    customers = state["customers"]
    written = [(customers.get(owner.rsplit("/", 1)[-1]), sorted(values.values(), key=lambda v: v["key"]))
               for owner, values in sorted(state.get("metafields", {}).items())]
    return render_template("devstore/metafields_and_flow.html", shop=DEMO_SHOP, written=written,
                           definitions=state.get("metafield_definitions", []),
                           triggers=list(reversed(state.get("flow_triggers", []))))
