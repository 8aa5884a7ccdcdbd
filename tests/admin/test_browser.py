"""The admin in headless Chromium: settings and analytics pages render real content (PNG
screenshots under the test's tmp dir), and the page script saves a form with the session token
and CSRF token, showing a validation message next to its field."""
import re
import struct

import pytest

from tests.support import SHOP, session_token

HOST = "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvbWFwbGUtcGluZS1nb29kcw"
# Stands in for Shopify's CDN App Bridge (no internet in tests): the session-token API only.
APP_BRIDGE = "window.shopify = {idToken: async () => %r, toast: {show: (m) => { window.lastToast = m; }}};"


@pytest.fixture
def admin_page(browser, live_server, seeded):
    token = session_token(lifetime=900)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.route("https://cdn.shopify.com/**", lambda route: route.fulfill(
        status=200, content_type="application/javascript", body=APP_BRIDGE % token))
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def open_page(path: str):
        page.goto(f"{live_server}{path}?shop={SHOP}&host={HOST}&embedded=1&id_token={token}")
        return page

    yield open_page
    page.close()
    assert errors == []


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_settings_page_screenshot_shows_the_program_and_the_preview(admin_page, tmp_path):
    page = admin_page("/program")
    assert page.locator("h1").first.inner_text() == "Program"
    assert page.locator(".Preview-launcher").inner_text() == "Rewards"
    # Polaris tokens are applied: surface cards on the admin background.
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(241, 241, 241)"
    assert page.evaluate("getComputedStyle(document.querySelector('.Card')).backgroundColor") == "rgb(255, 255, 255)"
    assert "id_token" not in page.url  # the spent token is dropped from the address
    page.screenshot(path=tmp_path / "program-first-screen.png")
    path = tmp_path / "program.png"
    page.screenshot(path=path, full_page=True)
    width, height = png_size(path)
    assert width == 1280 and height > 3000 and path.stat().st_size > 100_000


def test_analytics_page_screenshot_shows_charts_with_data(admin_page, tmp_path):
    page = admin_page("/analytics")
    charts = page.locator("svg.Chart")
    assert charts.count() == 7
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box["width"] > 300 and box["height"] > 60
    assert page.locator("svg.Chart rect").count() > 20
    assert page.locator('[data-figure="liability"] .Figure-value').inner_text() == "$15.15"
    page.locator('[data-figure="liability"] summary').click()
    assert "0.01 USD per point" in page.locator('[data-figure="liability"] details p').inner_text()
    page.screenshot(path=tmp_path / "analytics-first-screen.png")
    path = tmp_path / "analytics.png"
    page.screenshot(path=path, full_page=True)
    width, height = png_size(path)
    assert width == 1280 and height > 1500 and path.stat().st_size > 80_000


def test_saving_a_section_uses_the_session_and_csrf_tokens(admin_page, t, seeded):
    page = admin_page("/program")
    form = page.locator('form[action="/program/widget"]')
    form.locator('input[name="widget.program_name"]').fill("Maple Points")
    assert page.locator('[data-preview] [data-preview-target="program_name"]').inner_text() == "Maple Points"
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()
    assert page.locator('[data-preview] [data-preview-target="program_name"]').inner_text() == "Maple Points"
    with t.db.scope(read_only=True) as session:
        from app.services.program import current_program
        version, program = current_program(session, session.get(type(seeded), seeded.id))
    assert program.widget.program_name == "Maple Points" and version.created_by == "84512345678"


def test_an_invalid_value_shows_its_message_next_to_the_field(admin_page):
    page = admin_page("/program")
    form = page.locator('form[action="/program/earning"]')
    form.locator('input[name="earning.points_per_unit"]').fill("-1")
    form.locator('button[type="submit"]').click()
    error = form.locator('[data-error-for="earning.points_per_unit"]')
    error.wait_for(state="visible")
    assert "greater than or equal to 0" in error.inner_text()
    assert form.locator('input[name="earning.points_per_unit"]').get_attribute("aria-invalid") == "true"


def test_in_the_demo_store_pages_get_tokens_from_the_demo_store_and_links_carry_fresh_ones(browser, live_server, t,
                                                                                           seeded):
    t.config["DEVSTORE"] = True  # no App Bridge: the page script asks /devstore/session-token
    asked = []

    def demo_token(route):
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="application/json",
                      body='{"token": "%s"}' % session_token(lifetime=900))

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.route("**/devstore/session-token?**", demo_token)
    page.route("https://cdn.shopify.com/**", lambda route: route.abort())
    try:
        # No token in the address: the sign-in page fetches one and loads the page again.
        page.goto(f"{live_server}/members?shop={SHOP}")
        page.wait_for_selector("h1.Page-title >> text=Members")
        assert asked and f"shop={SHOP}" in asked[0]
        # Wait for the member's page itself: the sign-in reload's own address clean-up is a
        # navigation too, and under load it can be the one a bare expect_navigation catches.
        page.get_by_role("link", name="Avery Quinn").click()
        page.wait_for_url(re.compile(r"/members/\d+"))
        page.wait_for_selector("h1.Page-title >> text=Avery Quinn")
        assert page.locator("h1.Page-title").inner_text().startswith("Avery Quinn")
        assert page.locator("[data-balance]").inner_text() == "265"
        page.goto(f"{live_server}/members?shop={SHOP}")  # a reload without a token signs in again
        page.wait_for_selector("h1.Page-title >> text=Members")
        page.fill('input[name="query"]', "rivera")
        with page.expect_navigation():
            page.get_by_role("button", name="Search").click()
        page.wait_for_selector("tbody a")
        assert page.locator("tbody a").all_inner_texts() == ["Blake Rivera"]
    finally:
        page.close()


def test_an_import_runs_from_the_page_with_its_progress(admin_page):
    import responses

    from tests.admin.test_imports import count, customer_node, customers_page
    from tests.support.shopify_stub import AdminStub
    page = admin_page("/import")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")
        AdminStub(rsps).then(count("customers", 2), customers_page(customer_node(11, "ana@example.com"), cursor="c1"),
                             customers_page(customer_node(12, "bo@example.com")))
        with page.expect_navigation():
            page.get_by_role("button", name="Import customers").click()
    page.wait_for_selector("h1.Page-title >> text=Import & export")
    history = page.locator("table").last.inner_text()
    assert "Customers" in history and "Done" in history and "2 / 2" in history


def test_deleting_a_reward_asks_for_confirmation_in_the_page(admin_page, t, seeded):
    page = admin_page("/program")
    delete = page.locator('form[action$="/delete"]').first
    delete.get_by_role("button").click()
    assert "Press again to confirm" in delete.inner_text()
    with page.expect_navigation():
        delete.get_by_role("button", name="Confirm").click()
    assert "No rewards yet" in page.locator("#rewards").inner_text()


def test_a_new_api_key_is_shown_once_in_the_form_and_works(admin_page, client, tmp_path):
    page = admin_page("/integrations")
    page.fill("#f-label", "Nightly export")
    page.click("text=Create API key")
    secret = page.locator("[data-secret]").first
    secret.wait_for(state="visible")
    key = secret.inner_text()
    assert key.startswith("tsk_") and page.evaluate("document.activeElement.hasAttribute('data-secret')")
    page.screenshot(path=tmp_path / "integrations.png", full_page=True)
    assert client.get("/api/v1/api-keys", headers={"Authorization": f"Bearer {key}"}).json["api_keys"][0][
        "label"] == "Nightly export"
    page.reload()
    assert key not in page.content() and "Nightly export" in page.content()


def test_the_member_page_adjusts_points_through_the_members_api(admin_page, t, seeded):
    from tests.admin.seed import A
    from tests.support.ledger import balance, entries
    before = balance(t, seeded, A).balance
    page = admin_page(f"/members/{A}")
    form = page.locator(f'form[action="/api/v1/members/{A}/adjustments"]')
    form.locator('input[name="points"]').fill("+25")
    form.locator('input[name="reason"]').fill("Goodwill for a late parcel")
    with page.expect_response(f"**/api/v1/members/{A}/adjustments") as answer:
        form.locator('button[type="submit"]').click()
    assert answer.value.status == 201 and answer.value.request.post_data_json["points"] == 25
    page.wait_for_function("window.lastToast === 'Adjustment saved.'")
    assert balance(t, seeded, A).balance == before + 25
    assert entries(t, seeded, A)[-1].reason == "Adjusted by staff: Goodwill for a late parcel"


def test_a_refused_adjustment_shows_the_apis_message_next_to_the_field(admin_page, t, seeded):
    from tests.admin.seed import A
    page = admin_page(f"/members/{A}")
    form = page.locator(f'form[action="/api/v1/members/{A}/adjustments"]')
    form.locator('input[name="points"]').fill("25")
    form.locator('button[type="submit"]').click()
    error = form.locator('[data-error-for="reason"]')
    error.wait_for(state="visible")
    assert "say why" in error.inner_text()
