"""The Emails page in headless Chromium: the preview shows a real member's email in the page,
and a test send reaches the SMTP server, both with the session and CSRF tokens."""
from __future__ import annotations

import pytest

from tests.mail.helpers import make_member
from tests.support import SHOP, session_token

HOST = "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvbWFwbGUtcGluZS1nb29kcw"
APP_BRIDGE = "window.shopify = {idToken: async () => %r, toast: {show: (m) => { window.lastToast = m; }}};"


@pytest.fixture
def emails_page(browser, live_server, t, shop):
    make_member(t, shop, locale="pl", first_name="Zofia")
    token = session_token(lifetime=900)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.route("https://cdn.shopify.com/**", lambda route: route.fulfill(
        status=200, content_type="application/javascript", body=APP_BRIDGE % token))
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server}/emails?shop={SHOP}&host={HOST}&embedded=1&id_token={token}")
    yield page
    page.close()
    assert errors == []


def test_the_preview_shows_the_members_email_in_the_page(emails_page):
    form = emails_page.locator("form[data-email-preview]")
    form.locator('select[name="kind"]').select_option("birthday")
    form.get_by_role("button", name="Preview").click()
    subject = emails_page.locator("[data-preview-subject]")
    subject.wait_for(state="visible")
    assert subject.inner_text() == "Wszystkiego najlepszego, Zofia!"
    frame = emails_page.frame_locator("iframe[data-preview-html]")
    assert "Zofia" in frame.locator("body").inner_text()


def test_a_test_send_from_the_page_reaches_the_mail_server(emails_page, smtp_server):
    form = emails_page.locator("form[data-email-preview]")
    form.locator('input[name="to"]').fill("owner@maple-pine.example")
    form.get_by_role("button", name="Send test").click()
    status = form.locator("[data-email-status]")
    status.filter(has_text="sent to owner@maple-pine.example").wait_for()
    assert [r.rcpt_tos for r in smtp_server.received] == [["owner@maple-pine.example"]]
