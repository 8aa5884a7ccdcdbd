"""The storefront preview (app/devstore/storefront.py): the theme extension rendered from its
Liquid, and an App Proxy stand-in that signs requests exactly as Shopify does."""
import re
from html import unescape

import pytest

from app import create_app
from app.devstore.storefront import Visitor, signed_proxy_query
from tests.support import API_KEY, CUSTOMER_ID, SECRET, SHOP
from tests.support.ledger import adjust, member_of


@pytest.fixture
def app_settings(app_settings):
    return {**app_settings, "STOREFRONT_PREVIEW": True}


def root_attributes(html: str, mode: str = "embed") -> dict[str, str]:
    tag = re.search(rf'<[a-z]+\s[^>]*data-tessera="{mode}"[^>]*>', html, re.DOTALL).group(0)
    return {k: unescape(v) for k, v in re.findall(r'(data-[a-z-]+)="([^"]*)"', tag)}


def strings(html: str) -> dict[str, str]:
    """What the browser reads from the strings <template>: text, with entities decoded."""
    template = re.search(r"<template data-tessera-strings>(.*?)</template>", html, re.DOTALL).group(1)
    return {key: unescape(text) for key, text in re.findall(r'<i data-key="([a-z_.]+)">([^<]*)</i>', template)}


def test_the_preview_is_off_unless_the_demo_store_or_the_preview_is_enabled(app_settings, shop):
    app = create_app({**app_settings, "STOREFRONT_PREVIEW": False, "DEVSTORE": False})
    client = app.test_client()
    assert client.get("/devstore/storefront").status_code == 404
    assert client.get("/apps/tessera/program").status_code == 404
    assert client.post("/cart/update.js", json={}).status_code == 404
    app.extensions["tessera"].db.engine.dispose()


def test_a_member_page_passes_the_widget_its_data_and_no_secrets(client, t, shop):
    html = client.get(f"/devstore/storefront?customer={CUSTOMER_ID}&locale=it").get_data(as_text=True)
    attributes = root_attributes(html)
    assert attributes["data-shop"] == SHOP and attributes["data-customer-id"] == str(CUSTOMER_ID)
    assert attributes["data-locale"] == "it" and attributes["data-proxy-path"] == "/apps/tessera"
    assert attributes["data-money-format"] == "${{amount}}"
    assert attributes["data-panel-src"].endswith("/tessera-panel.js")
    assert strings(html)["rewards.redeem"] == "Riscatta" and ">Premi</span>" in html
    assert '<html lang="it">' in html and re.search(r'<script src="[^"]+/tessera\.js" defer>', html)
    for secret in (SECRET, API_KEY, "shpat_"):
        assert secret not in html


def test_a_guest_page_has_no_customer_and_english_by_default(client, t, shop):
    html = client.get("/devstore/storefront?customer=guest").get_data(as_text=True)
    assert root_attributes(html)["data-customer-id"] == ""
    assert strings(html)["guest.join"] == "Create an account" and ">Rewards</span>" in html


def test_translations_are_html_escaped_like_shopify_does_and_reach_the_script_intact(client, t, shop):
    html = client.get("/devstore/storefront?locale=fr").get_data(as_text=True)
    assert "S&#x27;abonner à la newsletter" in html
    assert strings(html)["earn.newsletter"] == "S'abonner à la newsletter"


def test_the_rewards_page_renders_the_app_block_with_reserved_space(client, t, shop):
    html = client.get("/devstore/storefront?page=rewards&locale=de").get_data(as_text=True)
    attributes = root_attributes(html, "inline")
    assert attributes["data-locale"] == "de" and 'aria-busy="true"' in html
    assert "Deine Prämien werden geladen" in html


def test_the_merchants_proxy_path_reaches_the_widget(app, shop):
    extension = app.extensions["storefront_preview"].extension
    objects = {"shop": {"permanent_domain": SHOP, "money_format": "<span>€{{amount_with_comma_separator}}</span>"},
               "customer": None, "request": {"locale": {"iso_code": "fr"}}, "routes": {}}
    with app.test_request_context():
        html, schema = extension.render_block("launcher", "fr", objects, settings={
            "proxy_path": "/a/loyalty", "launcher_text": "Mes <points>"})
    attributes = root_attributes(html)
    assert attributes["data-proxy-path"] == "/a/loyalty" and schema["target"] == "body"
    assert attributes["data-money-format"] == "€{{amount_with_comma_separator}}"
    assert "Mes &lt;points&gt;" in html  # the owner's text is escaped, like every setting


def test_the_proxy_signature_matches_shopifys_documented_example():
    """Shopify's documented App Proxy example with a repeated key (shopify.dev, app proxies)."""
    query = signed_proxy_query([("view", "balance"), ("tier", "gold"), ("tier", "silver")],
                               Visitor(shop=SHOP, customer_id=7412583020571), SECRET,
                               path_prefix="/apps/loyalty", now=1739543462)
    assert query.endswith("&signature=8bc994db767dde46b4795cfff13007a38b9635385d800a81190eb0027e717055")


def test_the_proxy_forwards_as_the_previewed_member_with_a_valid_signature(client, t, shop):
    adjust(t, shop, 250)
    client.get(f"/devstore/storefront?customer={CUSTOMER_ID}")
    response = client.get("/apps/tessera/member")
    # 250 adjusted + 100 signup points: the previewed member is a signed-in customer
    assert response.status_code == 200 and response.json["balance"] == 350
    assert response.headers["Cache-Control"] == "private, no-store"


def test_the_proxy_forwards_post_bodies(client, t, shop):
    client.get(f"/devstore/storefront?customer={CUSTOMER_ID}")
    response = client.post("/apps/tessera/claim", json={"action": "birthday", "birthday": "1990-12-31"})
    assert response.status_code == 200
    assert str(member_of(t, shop).birthday) == "1990-12-31"


def test_a_shopper_cannot_pose_as_a_customer_through_the_proxy(client, t, shop):
    adjust(t, shop, 250)
    client.get("/devstore/storefront?customer=guest")
    smuggled = client.get(f"/apps/tessera/member?logged_in_customer_id={CUSTOMER_ID}&shop={SHOP}")
    assert smuggled.status_code == 200 and smuggled.json["guest"] is True
    client.set_cookie("tessera_storefront_preview", "forged-value")
    assert client.get("/apps/tessera/member").json["guest"] is True


def test_discount_links_and_cart_updates_are_recorded(app, client, t, shop):
    response = client.get("/discount/5OFF-K7QX2M4PZH?redirect=/cart")
    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    assert client.get("/discount/X?redirect=//evil.example").headers["Location"] == "/cart"
    cart = client.post("/cart/update.js", json={"attributes": {"tessera_ref": "ABCD2345"}}).json
    assert cart["attributes"] == {"tessera_ref": "ABCD2345"}
    calls = app.extensions["storefront_preview"].calls
    assert [c["path"] for c in calls] == ["/discount/5OFF-K7QX2M4PZH", "/discount/X", "/cart/update.js"]
    assert "5OFF-K7QX2M4PZH" not in client.get("/cart").get_data(as_text=True)  # the last code wins
