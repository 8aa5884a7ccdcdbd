"""The browser test setup works: Chromium loads a page the app serves."""


def test_chromium_renders_a_page_from_the_live_app(browser, live_server, shop):
    page = browser.new_page()
    response = page.goto(f"{live_server}/auth/install?shop=not-a-shop")
    assert response.status == 400
    assert "myshopify.com" in page.content()
    page.close()
