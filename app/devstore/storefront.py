"""Storefront preview: a plain shop page with the theme app extension rendered as Shopify would
render it (python-liquid, with the few Shopify filters and objects the blocks use), plus local
stand-ins for the storefront routes the widget calls:

- `/apps/tessera/<path>`: the App Proxy. Forwards to the app's `/proxy/<path>` adding `shop`,
  `logged_in_customer_id`, `path_prefix`, `timestamp` and `signature` exactly as Shopify does,
  so the real signature check runs;
- `/discount/<code>` and `/cart/update.js`: record what the widget asked for (tests read
  `app.extensions["storefront_preview"].calls`), and `/cart` shows it.

Used by `make run` (DEVSTORE) and the browser tests (STOREFRONT_PREVIEW with TESTING); registers
nothing otherwise. Who is browsing (a member or a guest) is kept in a signed cookie, as a storefront
session would be: `/devstore/storefront?customer=<customer id>|guest&locale=it`. `embed=0` renders the
same page as if the merchant had switched the app embed off (bench/storefront_weight.py compares both).
"""
from __future__ import annotations

import html
import json
import re
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, redirect, render_template_string, request, \
    send_from_directory, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from liquid import Environment, FileSystemLoader
from sqlalchemy import select
from werkzeug.test import Client

from app import PROJECT_ROOT
from app.merge import deep_merge
from app.models import Member, Shop
from app.runtime import tessera
from app.services.shops import find_shop
from app.shopify.signatures import proxy_signature

EXTENSION_DIR = PROJECT_ROOT / "theme_extension"
PROXY_PREFIX = "/apps/tessera"
COOKIE = "tessera_storefront_preview"
# Parameters only Shopify sets on a proxied request; a shopper's own copies are dropped.
SHOPIFY_PROXY_PARAMS = {"shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature", "hmac"}
MONEY_FORMATS = {"USD": "${{amount}}", "CAD": "${{amount}}", "AUD": "${{amount}}", "GBP": "£{{amount}}",
                 "EUR": "€{{amount_with_comma_separator}}", "PLN": "{{amount_with_comma_separator}} zł",
                 "RON": "{{amount_with_comma_separator}} lei", "CHF": "CHF {{amount_with_apostrophe_separator}}"}
SCHEMA_TAG = re.compile(r"{%-?\s*schema\s*-?%}(.*?){%-?\s*endschema\s*-?%}", re.DOTALL)

bp = Blueprint("storefront_preview", __name__)


def init_app(app: Flask) -> None:
    # It browses as any customer and lists members: the demo (loopback only) and tests only.
    if not (app.config.get("DEVSTORE") or (app.config.get("STOREFRONT_PREVIEW") and app.config.get("TESTING"))):
        return
    app.extensions["storefront_preview"] = StorefrontPreview(ThemeExtension(EXTENSION_DIR))
    app.register_blueprint(bp)


@dataclass
class StorefrontPreview:
    extension: "ThemeExtension"
    calls: list[dict[str, Any]] = field(default_factory=list)
    cart_attributes: dict[str, str] = field(default_factory=dict)
    discount_code: str | None = None
    cart_items: dict[int, int] = field(default_factory=dict)  # variant id -> quantity


def preview() -> StorefrontPreview:
    return current_app.extensions["storefront_preview"]


# ---- the theme app extension, rendered like Shopify ----

class ThemeExtension:
    """Blocks, snippets and locales of theme_extension/, with Shopify's filters stubbed."""

    def __init__(self, root: Path):
        self.root = root

    @cached_property
    def locales(self) -> list[str]:
        names = [p.name.removesuffix(".json") for p in (self.root / "locales").glob("*.json")
                 if not p.name.endswith(".schema.json")]
        return sorted(n.removesuffix(".default") for n in names)

    def translations(self, locale: str) -> dict:
        """The locale's strings over the default ones: Shopify falls back to the default locale."""
        default = json.loads((self.root / "locales" / "en.default.json").read_text())
        path = self.root / "locales" / f"{locale}.json"
        return deep_merge(default, json.loads(path.read_text())) if path.is_file() else default

    def block(self, name: str) -> tuple[str, dict]:
        """(Liquid without its schema tag, the schema)."""
        source = (self.root / "blocks" / f"{name}.liquid").read_text()
        schema = json.loads(SCHEMA_TAG.search(source).group(1))
        return SCHEMA_TAG.sub("", source), schema

    def render_block(self, name: str, locale: str, objects: dict[str, Any],
                     settings: dict[str, Any] | None = None) -> tuple[str, dict]:
        """The block as the theme editor leaves it: schema defaults, unless `settings` says otherwise."""
        source, schema = self.block(name)
        settings = {**{s["id"]: s.get("default") for s in schema["settings"] if "id" in s}, **(settings or {})}
        block = {"id": f"preview-{name}", "settings": settings, "shopify_attributes": ""}
        html = self.environment(locale).from_string(source).render(**objects, block=block)
        return html, schema

    def environment(self, locale: str) -> Environment:
        # Built per render: edits to the extension show on the next reload, as with `shopify app dev`.
        env = Environment(loader=FileSystemLoader(self.root / "snippets", ext=".liquid"))
        env.filters.update(t=_translate_filter(locale, self.translations(locale)), json=_json_filter,
                           asset_url=lambda name: url_for("storefront_preview.asset", filename=name))
        return env


def _translate_filter(locale: str, strings: dict):
    """Shopify's `t`: interpolates {{ name }}, and HTML-escapes the result unless the key ends in _html."""
    def t(key: str, **variables: Any) -> str:
        value: Any = strings
        for part in str(key).split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if not isinstance(value, str):
            return f"translation missing: {locale}.{key}"
        text = re.sub(r"{{\s*(\w+)\s*}}", lambda m: str(variables.get(m.group(1), "")), value)
        return text if str(key).endswith("_html") else html.escape(text)
    return t


def _json_filter(value: Any) -> str:
    # Like Shopify's `json`: safe inside <script> (no way to close the tag from a string).
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")


# ---- who is browsing: shop + customer, kept like a storefront session ----

@dataclass(frozen=True)
class Visitor:
    shop: str
    customer_id: int | None


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="storefront-preview")


def current_visitor() -> Visitor | None:
    try:
        data = _serializer().loads(request.cookies.get(COOKIE, ""))
    except BadSignature:
        return None
    return Visitor(shop=data["shop"], customer_id=data["customer_id"])


def _installed_shops(session) -> list[Shop]:
    shops = session.scalars(select(Shop).order_by(Shop.id)).all()
    return [s for s in shops if s.is_installed]


def _visitor_from_request(session) -> Visitor:
    """`shop` and `customer` query parameters win, then the cookie, then the first installed shop as a guest."""
    remembered = current_visitor()
    domain = request.args.get("shop") or (remembered.shop if remembered else None)
    shop = find_shop(session, domain) if domain else None
    if shop is None or not shop.is_installed:
        shop = next(iter(_installed_shops(session)), None)
    if shop is None:
        abort(404, "No shop is installed yet: install one (see README) to preview its storefront.")
    customer = request.args.get("customer")
    if customer is None:
        customer_id = remembered.customer_id if remembered and remembered.shop == shop.domain else None
    else:
        customer_id = int(customer) if customer.isdigit() else None
    return Visitor(shop=shop.domain, customer_id=customer_id)


# ---- pages ----

@bp.get("/devstore/storefront")
@bp.get("/devstore/storefront/")
def storefront():
    extension = preview().extension
    locale = request.args.get("locale") if request.args.get("locale") in extension.locales else "en"
    page = "rewards" if request.args.get("page") == "rewards" else "home"
    with tessera().db.scope(read_only=True) as session:
        visitor = _visitor_from_request(session)
        shop, members = _shop_and_members(session, visitor.shop)
        customer = next((m for m in members if m.customer_id == visitor.customer_id), None)
        objects = _liquid_objects(shop, visitor, customer, locale, page)
    # Shopify renders the enabled app embed on every page, and the app block where it was placed.
    with_embed = request.args.get("embed") != "0"
    embed = extension.render_block("launcher", locale, objects) if with_embed else ("", {})
    section = extension.render_block("rewards-page", locale, objects) if page == "rewards" else ("", {})
    page_html = render_template_string(
        STOREFRONT_PAGE, shop=objects["shop"], locale=locale, locales=extension.locales, members=members,
        visitor=visitor, page=page, embed=embed[0], section=section[0],
        scripts=_assets([embed[1], section[1]], "javascript"), stylesheets=_assets([embed[1], section[1]], "stylesheet"))
    response = Response(page_html)
    response.set_cookie(COOKIE, _serializer().dumps({"shop": visitor.shop, "customer_id": visitor.customer_id}),
                        httponly=True, samesite="Lax")
    return response


def _shop_and_members(session, domain: str) -> tuple[Shop, list[Member]]:
    shop = find_shop(session, domain)
    return shop, session.scalars(select(Member).where(Member.shop_id == shop.id).order_by(Member.id)).all()


def _assets(schemas: list[dict], kind: str) -> list[str]:
    """Shopify adds each block's `javascript`/`stylesheet` once per page (scripts deferred)."""
    names = dict.fromkeys(s[kind] for s in schemas if s.get(kind))
    return [url_for("storefront_preview.asset", filename=name) for name in names]


def _liquid_objects(shop: Shop, visitor: Visitor, customer: Member | None, locale: str, page: str) -> dict[str, Any]:
    storefront_url = url_for("storefront_preview.storefront")
    signed_in = visitor.customer_id is not None
    return {
        "shop": {"permanent_domain": shop.domain, "name": shop.name or shop.domain.split(".")[0].replace("-", " ").title(),
                 "currency": shop.currency,
                 "money_format": shop.money_format or MONEY_FORMATS.get(shop.currency, "{{amount}} " + shop.currency)},
        "customer": {"id": visitor.customer_id, "email": customer.email if customer else None,
                     "first_name": customer.first_name if customer else None} if signed_in else None,
        "request": {"locale": {"iso_code": locale, "primary": locale == "en"}, "design_mode": False,
                    "page_type": "page" if page == "rewards" else "index",
                    "host": request.host, "path": request.path},
        "routes": {"root_url": storefront_url, "account_login_url": url_for("storefront_preview.login"),
                   "account_register_url": url_for("storefront_preview.login", register=1),
                   "cart_url": url_for("storefront_preview.cart"), "cart_update_url": "/cart/update",
                   "cart_add_url": "/cart/add"},
    }


@bp.get("/devstore/storefront/assets/<path:filename>")
def asset(filename: str):
    return send_from_directory(EXTENSION_DIR / "assets", filename)


@bp.get("/devstore/storefront/login")
def login():
    """The preview's "customer accounts": pick who to be."""
    with tessera().db.scope(read_only=True) as session:
        shop, members = _shop_and_members(session, _visitor_from_request(session).shop)
    return render_template_string(LOGIN_PAGE, members=members, shop=shop)


# ---- stand-ins for Shopify's storefront routes ----

@bp.route(PROXY_PREFIX, defaults={"path": ""}, methods=["GET", "POST"])
@bp.route(f"{PROXY_PREFIX}/<path:path>", methods=["GET", "POST"])
def app_proxy(path: str):
    """Forward like Shopify's App Proxy: same method, body and query, plus the signed parameters."""
    visitor = current_visitor() or _default_visitor()
    query = signed_proxy_query(list(request.args.items(multi=True)), visitor, current_app.config["SHOPIFY_API_SECRET"])
    headers = {"Content-Type": request.content_type} if request.content_type else {}
    # Shopify's app proxy adds the shopper's address (and the storefront host) as forwarded headers.
    headers.update({"X-Forwarded-For": request.remote_addr or "127.0.0.1", "X-Forwarded-Host": request.host})
    answer = Client(current_app._get_current_object()).open(
        f"/proxy/{path}", method=request.method, query_string=query, data=request.get_data(), headers=headers)
    # Shopify strips Set-Cookie from proxied answers.
    kept = [(k, v) for k, v in answer.headers.items() if k.lower() not in ("set-cookie", "content-length")]
    return Response(answer.get_data(), status=answer.status_code, headers=kept)


def _default_visitor() -> Visitor:
    with tessera().db.scope(read_only=True) as session:
        shop = next(iter(_installed_shops(session)), None)
    if shop is None:
        abort(404, "No shop is installed yet.")
    return Visitor(shop=shop.domain, customer_id=None)


def signed_proxy_query(params: list[tuple[str, str]], visitor: Visitor, secret: str, *,
                       path_prefix: str = PROXY_PREFIX, now: float | None = None) -> str:
    """The query Shopify sends to the app: the shopper's own parameters (minus any it sets itself),
    then shop, logged_in_customer_id (empty for a guest), path_prefix, timestamp, and signature."""
    pairs = [(k, v) for k, v in params if k not in SHOPIFY_PROXY_PARAMS]
    pairs += [("shop", visitor.shop), ("logged_in_customer_id", str(visitor.customer_id or "")),
              ("path_prefix", path_prefix), ("timestamp", str(int(now if now is not None else time.time())))]
    query = urlencode(pairs)
    return f"{query}&signature={proxy_signature(query, secret)}"


@bp.get("/discount/<code>")
def apply_discount(code: str):
    """Shopify applies the code to the cart, then follows `redirect` (a path on the store)."""
    state = preview()
    state.calls.append({"method": "GET", "path": f"/discount/{code}", "code": code})
    state.discount_code = code
    target = request.args.get("redirect", "")
    return redirect(target if re.match(r"^/(?![/\\])", target) else url_for("storefront_preview.cart"))


@bp.post("/cart/update.js")
def update_cart():
    body = request.get_json(silent=True) or {}
    state = preview()
    state.calls.append({"method": "POST", "path": "/cart/update.js", "body": body})
    attributes = body.get("attributes") if isinstance(body.get("attributes"), dict) else {}
    state.cart_attributes.update({str(k): str(v) for k, v in attributes.items()})
    return jsonify(_cart_json(state))


@bp.post("/cart/add.js")
def add_to_cart():
    """The Ajax Cart API: `{"items": [{"id": variant_id, "quantity": n}]}`; an unknown variant is
    a 422 with Shopify's `description`, and nothing is added."""
    from app.devstore.catalog import by_variant
    body = request.get_json(silent=True) or {}
    state = preview()
    state.calls.append({"method": "POST", "path": "/cart/add.js", "body": body})
    items = body.get("items") if isinstance(body.get("items"), list) else []
    wanted = [(i.get("id"), i.get("quantity", 1)) for i in items if isinstance(i, dict)]
    if not wanted or any(not isinstance(v, int) or by_variant(v) is None or not isinstance(q, int) or q < 1
                         for v, q in wanted):
        return jsonify({"status": 422, "message": "Cart Error",
                        "description": "Cannot find variant"}), 422
    for variant_id, quantity in wanted:
        state.cart_items[variant_id] = state.cart_items.get(variant_id, 0) + quantity
    return jsonify({"items": [{"id": v, "variant_id": v, "quantity": q} for v, q in wanted]})


@bp.get("/cart")
def cart():
    state = preview()
    return render_template_string(CART_PAGE, cart=_cart_json(state))


@bp.get("/cart.js")
def cart_js():
    """The cart as Shopify's Ajax API reads it (the widget's guest estimate)."""
    return jsonify(_cart_json(preview()))


def _cart_json(state: StorefrontPreview) -> dict[str, Any]:
    from app.devstore.catalog import by_variant
    # Shopify's Ajax cart gives amounts in cents; the demo catalog's prices are in USD.
    items = [{"id": v, "variant_id": v, "quantity": q, "product_id": product.product_id if product else None,
              "final_line_price": int(product.price * 100) * q if product else 0}
             for v, q in state.cart_items.items() for product in [by_variant(v)]]
    return {"token": "preview-cart", "items": items, "item_count": sum(state.cart_items.values()),
            "currency": "USD", "total_price": sum(i["final_line_price"] for i in items),
            "attributes": dict(state.cart_attributes),
            "discount_codes": [{"code": state.discount_code, "applicable": True}] if state.discount_code else []}


# ---- page templates (Jinja, autoescaped; the extension's HTML is already rendered Liquid) ----

STOREFRONT_PAGE = """<!doctype html>
<html lang="{{ locale }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{{ shop.name }} - storefront preview</title>
<style>
  body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1a1a1a; background: #faf9f7; }
  header, main, footer { max-width: 960px; margin: 0 auto; padding: 16px; }
  header { display: flex; flex-wrap: wrap; gap: 16px; align-items: center; justify-content: space-between; }
  nav a { margin-right: 12px; color: #1a1a1a; }
  form.preview { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; padding: 8px 12px;
                 border: 1px dashed #8a6d00; border-radius: 8px; background: #fff8e1; font-size: 14px; }
  .products { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 16px; padding: 0; }
  .products li { list-style: none; padding: 16px; border-radius: 12px; background: #fff; }
  .swatch { height: 120px; border-radius: 8px; background: linear-gradient(135deg, #d7e8dc, #f3e2c7); }
</style>
{% for href in stylesheets %}<link rel="stylesheet" href="{{ href }}">
{% endfor %}{% for src in scripts %}<script src="{{ src }}" defer></script>
{% endfor %}</head>
<body>
<header>
  <a href="{{ url_for('storefront_preview.storefront') }}"><strong>{{ shop.name }}</strong></a>
  <nav aria-label="Store">
    <a href="{{ url_for('storefront_preview.storefront', locale=locale) }}">Home</a>
    <a href="{{ url_for('storefront_preview.storefront', locale=locale, page='rewards') }}">Rewards</a>
    <a href="{{ url_for('storefront_preview.cart') }}">Cart</a>
  </nav>
  <form class="preview" method="get" action="{{ url_for('storefront_preview.storefront') }}" aria-label="Preview settings">
    <input type="hidden" name="shop" value="{{ visitor.shop }}">
    {% if page == 'rewards' %}<input type="hidden" name="page" value="rewards">{% endif %}
    <label>Browse as
      <select name="customer">
        <option value="guest">Guest (not logged in)</option>
        {% for m in members %}<option value="{{ m.customer_id }}"{% if m.customer_id == visitor.customer_id %} selected{% endif %}>
          {{ m.first_name or '' }} {{ m.last_name or '' }} {{ m.email or '' }} #{{ m.customer_id }}</option>
        {% endfor %}
      </select>
    </label>
    <label>Language
      <select name="locale">{% for code in locales %}<option{% if code == locale %} selected{% endif %}>{{ code }}</option>{% endfor %}</select>
    </label>
    <button type="submit">Show</button>
  </form>
</header>
<main>
  {% if page == 'rewards' %}{{ section | safe }}{% else %}
  <h1>{{ shop.name }}</h1>
  <ul class="products">
    {% for name in ['Maple cutting board', 'Pine candle', 'Wool throw'] %}
    <li><div class="swatch"></div><h2>{{ name }}</h2><p>Handmade in small batches.</p></li>
    {% endfor %}
  </ul>
  {% endif %}
</main>
{{ embed | safe }}
</body>
</html>
"""

LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Log in - {{ shop.domain }} preview</title></head>
<body><main>
<h1>Log in to the preview</h1>
<p>A real store asks for a password; in the preview, pick who you are.</p>
<ul>
  {% for m in members %}<li><a href="{{ url_for('storefront_preview.storefront', shop=shop.domain, customer=m.customer_id) }}">
    {{ m.first_name or '' }} {{ m.last_name or '' }} {{ m.email or '' }} #{{ m.customer_id }}</a></li>{% endfor %}
  <li><a href="{{ url_for('storefront_preview.storefront', shop=shop.domain, customer='guest') }}">Stay a guest</a></li>
</ul>
</main></body></html>
"""

CART_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Cart - storefront preview</title></head>
<body><main>
<h1>Cart</h1>
<p>Discount code: <strong data-discount-code>{{ cart.discount_codes[0].code if cart.discount_codes else 'none' }}</strong></p>
<ul>{% for item in cart["items"] %}<li data-cart-item="{{ item.variant_id }}">{{ item.quantity }} x variant {{ item.variant_id }}</li>{% endfor %}</ul>
<p>Cart attributes: <code data-cart-attributes>{{ cart.attributes | tojson }}</code></p>
<p><a href="{{ url_for('storefront_preview.storefront') }}">Continue shopping</a></p>
</main></body></html>
"""
