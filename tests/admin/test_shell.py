"""The embedded shell: session-token access to every page, sign-in without shop data, CSP
frame-ancestors, App Bridge from the CDN (not in the demo store), CSRF on every form."""
import re
import shutil
import subprocess
import time

import pytest

from tests.admin.helpers import HOST, csrf_token, get_page, post_form, token
from tests.support import API_KEY, OTHER_SHOP, PROJECT_ROOT, SHOP
from tests.support.ledger import adjust

PAGES = ["/", "/program", "/members", "/analytics", "/import", "/activity"]
CSP = f"frame-ancestors https://{SHOP} https://admin.shopify.com;"


def test_every_page_renders_for_a_valid_session_token_framed_only_by_the_shop(client, shop):
    for path in PAGES:
        response = get_page(client, path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert response.headers["Content-Security-Policy"] == CSP
        assert response.headers["Cache-Control"] == "no-store"
        assert f'data-shop="{SHOP}"' in html and 'data-csrf="' in html
        assert '<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>' in html
        assert html.index('name="shopify-api-key"') < html.index("app-bridge.js") < html.index("admin.js")
        assert f'content="{API_KEY}"' in html and "<ui-nav-menu>" in html


def test_pages_without_a_session_token_show_a_sign_in_page_and_no_shop_data(client, t, shop):
    adjust(t, shop, 10)
    for path in PAGES:
        response = client.get(f"{path}?shop={SHOP}&host={HOST}&embedded=1")
        html = response.get_data(as_text=True)
        assert response.status_code == 401, path
        assert 'data-sign-in="retry"' in html  # the script fetches a token and loads the page again
        assert SHOP not in html and "data-csrf" not in html
        assert response.headers["Content-Security-Policy"] == CSP


def test_a_rejected_token_is_not_retried_in_a_loop(client, shop):
    response = client.get(f"/members?shop={SHOP}&id_token={token(nbf=int(time.time()) + 600)}")
    assert response.status_code == 401
    assert 'data-sign-in="rejected"' in response.get_data(as_text=True)


def test_sign_in_page_for_an_invalid_shop_parameter_may_not_be_framed(client, shop):
    response = client.get("/program?shop=evil.example.com")
    assert response.status_code == 401
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none';"


def test_the_demo_store_gets_no_cdn_script(client, t, shop):
    t.config["DEVSTORE"] = True
    html = get_page(client, "/program").get_data(as_text=True)
    assert "cdn.shopify.com" not in html and "admin.js" in html


def test_each_shop_sees_only_its_own_data(client, t, shop, other_shop):
    adjust(t, shop, 10, customer_id=7788990011, reason="for shop one")
    html = get_page(client, "/members", shop=OTHER_SHOP).get_data(as_text=True)
    assert "7788990011" not in html and "No members yet" in html
    assert get_page(client, "/members/7788990011", shop=OTHER_SHOP).status_code == 404
    assert get_page(client, "/members/7788990011").status_code == 200


def test_another_shops_member_page_is_a_not_found_page(client, shop):
    response = get_page(client, "/members/424242")
    assert response.status_code == 404
    assert "No member with customer id 424242" in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"] == CSP


class TestCsrf:
    FORM = ("/program/widget", {"widget.program_name": "Club", "widget.points_name": "stars",
                                "widget.accent_color": "#112233", "widget.launcher_text": "Club",
                                "widget.position": "bottom-left"})

    def test_a_form_with_the_pages_csrf_token_is_accepted(self, client, shop):
        response = post_form(client, *self.FORM)
        assert response.status_code == 200, response.json

    def test_a_form_without_a_csrf_token_is_refused(self, client, shop):
        response = post_form(client, *self.FORM, csrf="")
        assert response.status_code == 403
        assert response.json["error"]["code"] == "csrf_token_missing"
        assert "Reload the page" in response.json["error"]["message"]

    def test_a_forged_csrf_token_is_refused(self, client, shop):
        response = post_form(client, *self.FORM, csrf="forged.token.value")
        assert response.status_code == 403 and response.json["error"]["code"] == "csrf_token_invalid"

    def test_a_csrf_token_from_another_session_is_refused(self, client, shop):
        other_session = csrf_token(client, sid="another-session-id")
        response = post_form(client, *self.FORM, csrf=other_session)
        assert response.status_code == 403 and response.json["error"]["code"] == "csrf_token_invalid"

    def test_a_csrf_token_from_another_shop_is_refused(self, client, shop, other_shop):
        other = csrf_token(client, shop=OTHER_SHOP)
        response = post_form(client, *self.FORM, csrf=other)
        assert response.status_code == 403 and response.json["error"]["code"] == "csrf_token_invalid"

    def test_a_csrf_token_in_the_header_works_too(self, client, shop):
        csrf = csrf_token(client)
        response = client.post(self.FORM[0], data=self.FORM[1], headers={
            "Authorization": f"Bearer {token()}", "X-CSRF-Token": csrf})
        assert response.status_code == 200

    def test_a_form_without_a_session_token_is_401_even_with_a_csrf_token(self, client, shop):
        response = client.post(self.FORM[0], data={**self.FORM[1], "csrf_token": csrf_token(client)})
        assert response.status_code == 401

    def test_cookies_play_no_part(self, client, shop):
        response = get_page(client, "/program")
        assert "Set-Cookie" not in response.headers


def test_committed_stylesheet_contains_the_current_component_source():
    static = PROJECT_ROOT / "app/static/admin"
    built = (static / "tessera.css").read_text()
    assert built.startswith("/* Generated by scripts/build-admin-css.mjs from @shopify/polaris-tokens")
    assert built.endswith((static / "src/components.css").read_text())
    # Every Polaris variable the components use has a value in the built file.
    used = set(re.findall(r"var\((--p-[a-z0-9-]+)\)", built))
    defined = set(re.findall(r"^  (--p-[a-z0-9-]+):", built, re.M))
    assert used <= defined


def test_committed_stylesheet_is_what_the_build_script_produces_from_polaris_tokens():
    node = shutil.which("node")
    if node is None or not (PROJECT_ROOT / "node_modules/@shopify/polaris-tokens").is_dir():
        pytest.skip("node or node_modules missing (make test installs them)")
    result = subprocess.run([node, "scripts/build-admin-css.mjs", "--check"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
