"""The storefront preview with the app embed switched off (`embed=0`): the page the storefront
benchmark compares against, so it must differ from the usual page by the embed alone."""
import re

import pytest

from tests.support import CUSTOMER_ID

# What the app embed adds to a page: its stylesheet and deferred loader in <head>, and the block.
EMBED_ASSETS = re.compile(r'<link rel="stylesheet" href="[^"]+/tessera\.css">\n|<script src="[^"]+/tessera\.js" defer>'
                          r'</script>\n')
EMBED_BLOCK = re.compile(r'<div\s+class="tessera tessera--embed.*?</template>\s*</div>', re.DOTALL)


@pytest.fixture
def app_settings(app_settings):
    return {**app_settings, "STOREFRONT_PREVIEW": True}


def page(client, query: str) -> tuple[str, str]:
    response = client.get(f"/devstore/storefront?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True), response.headers["Set-Cookie"]


def without_blank_lines(html: str) -> str:
    return re.sub(r"\n\s*\n", "\n", html)


@pytest.mark.parametrize("customer", ["guest", str(CUSTOMER_ID)])
def test_embed_0_is_the_same_page_minus_the_embed_block_and_its_assets(client, t, shop, customer):
    with_embed, with_cookie = page(client, f"customer={customer}&locale=de")
    without_embed, without_cookie = page(client, f"customer={customer}&locale=de&embed=0")
    assert len(EMBED_ASSETS.findall(with_embed)) == 2 and len(EMBED_BLOCK.findall(with_embed)) == 1
    stripped = EMBED_BLOCK.sub("", EMBED_ASSETS.sub("", with_embed))
    assert without_blank_lines(stripped) == without_blank_lines(without_embed)
    assert with_cookie == without_cookie


def test_without_the_embed_the_home_page_loads_no_widget_code(client, t, shop):
    html, _ = page(client, "customer=guest&embed=0")
    assert "data-tessera" not in html and "/assets/tessera" not in html


def test_the_rewards_page_keeps_its_app_block_when_the_embed_is_off(client, t, shop):
    html, _ = page(client, "page=rewards&embed=0")
    assert 'data-tessera="inline"' in html and 'data-tessera="embed"' not in html
    assert len(EMBED_ASSETS.findall(html)) == 2  # the app block brings the same loader and stylesheet


def test_any_other_embed_value_keeps_the_embed(client, t, shop):
    html, _ = page(client, "customer=guest&embed=1")
    assert 'data-tessera="embed"' in html
