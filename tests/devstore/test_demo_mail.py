"""The demo store's mail server and its Mail page: what Tessera sends in `make run` can be read
in the browser (HTML, plain text, headers)."""
from __future__ import annotations

import re

import pytest

from app.devstore.mailbox import serves_demo_mail, start_mail_server
from tests.mail.conftest import free_port
from tests.mail.helpers import dispatch, event, make_member, send


@pytest.fixture
def app_settings(app_settings):
    return {**app_settings, "MAIL_URL": f"smtp+plain://127.0.0.1:{free_port()}", "MAIL_FROM": "rewards@demo.example"}


@pytest.fixture
def mail_server(app):
    controller = start_mail_server(app)
    yield controller
    controller.stop()


def test_the_demo_serves_mail_only_for_plain_smtp_on_loopback(app_settings):
    assert serves_demo_mail(app_settings)
    assert not serves_demo_mail({**app_settings, "MAIL_URL": "smtps://smtp.example.com"})
    assert not serves_demo_mail({**app_settings, "DEVSTORE": False})


def test_mail_tessera_sends_in_the_demo_is_listed_and_shown(app, t, client, shop, mail_server):
    member = make_member(t, shop, locale="ro")
    dispatch(t, event(shop, member, "tier.changed", 0, tier_to="gold"))
    assert send(t) == 1

    listing = client.get("/devstore/mail").get_data(as_text=True)
    assert "Bun venit la nivelul Gold" in listing
    key = re.search(r'href="/devstore/mail/([^"]+)"', listing).group(1)
    page = client.get(f"/devstore/mail/{key}").get_data(as_text=True)
    assert "<iframe" in page and "List-Unsubscribe-Post" in page and "ana@example.com" in page
    assert client.get("/devstore/mail/no-such-message").status_code == 404
