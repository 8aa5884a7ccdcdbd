"""MAIL_URL against real SMTP servers on 127.0.0.1: plain (loopback only), STARTTLS with a
login, implicit TLS, and the errors a sender must tell apart (retry later or give up)."""
from __future__ import annotations

from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from app import ConfigError, create_app
from app.mail.transport import (MailConfigError, PermanentMailError, SmtpTransport, TemporaryMailError,
                                parse_mail_url)
from tests.mail.conftest import PASSWORD, USER, Inbox, check_login, free_port


def a_message(to: str = "ana@example.com") -> EmailMessage:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = "Hello", "rewards@maple-pine.example", to
    message.set_content("Your points are waiting.")
    return message


@pytest.fixture
def tls_servers(certificate):
    server_context, _ = certificate
    started = []

    def start(**kwargs):
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **kwargs)
        controller.start()
        started.append(controller)
        inbox.port = controller.port
        return inbox
    yield start, server_context
    for controller in started:
        controller.stop()


def test_plain_smtp_to_a_loopback_server_delivers_the_message(smtp_server):
    SmtpTransport(parse_mail_url(f"smtp+plain://127.0.0.1:{smtp_server.port}")).send(a_message())
    [received] = smtp_server.received
    assert received.rcpt_tos == ["ana@example.com"] and received.message["Subject"] == "Hello"
    assert not received.tls


def test_smtp_upgrades_with_starttls_before_logging_in(tls_servers, certificate):
    start, server_context = tls_servers
    inbox = start(tls_context=server_context, require_starttls=True, authenticator=check_login,
                  auth_require_tls=True)
    server = parse_mail_url(f"smtp://{USER}:{PASSWORD}@127.0.0.1:{inbox.port}")
    SmtpTransport(server, ssl_context=certificate[1]).send(a_message())
    [received] = inbox.received
    assert received.tls and received.login == USER


def test_smtps_speaks_tls_from_the_first_byte(tls_servers, certificate):
    start, server_context = tls_servers
    inbox = start(ssl_context=server_context)
    SmtpTransport(parse_mail_url(f"smtps://127.0.0.1:{inbox.port}"), ssl_context=certificate[1]).send(a_message())
    assert [r.tls for r in inbox.received] == [True]


def test_a_certificate_the_client_does_not_trust_is_refused(tls_servers):
    start, server_context = tls_servers
    inbox = start(ssl_context=server_context)
    with pytest.raises(TemporaryMailError, match="CERTIFICATE_VERIFY_FAILED"):
        SmtpTransport(parse_mail_url(f"smtps://127.0.0.1:{inbox.port}")).send(a_message())
    assert inbox.received == []


def test_a_5xx_reply_is_permanent_and_a_4xx_reply_temporary(smtp_server):
    transport = SmtpTransport(parse_mail_url(f"smtp+plain://127.0.0.1:{smtp_server.port}"))
    smtp_server.refusals = ["550 5.1.1 Mailbox unavailable", "451 4.3.0 Try again later"]
    with pytest.raises(PermanentMailError, match="550"):
        transport.send(a_message())
    with pytest.raises(TemporaryMailError, match="451"):
        transport.send(a_message())


def test_a_server_that_is_not_there_is_a_temporary_failure():
    with pytest.raises(TemporaryMailError):
        SmtpTransport(parse_mail_url(f"smtp+plain://127.0.0.1:{free_port()}"), timeout=2).send(a_message())


@pytest.mark.parametrize("url, problem", [
    ("smtp+plain://smtp.example.com:25", "only allowed for a server on this machine"),
    ("http://smtp.example.com", "must start with smtp://"),
    ("smtp://:587", "names no host"),
])
def test_mail_urls_that_cannot_work_are_refused_with_the_reason(url, problem):
    with pytest.raises(MailConfigError, match=problem):
        parse_mail_url(url)


def test_the_app_refuses_to_start_with_plain_smtp_to_a_remote_host(app_settings):
    with pytest.raises(ConfigError, match="smtp\\+plain"):
        create_app({**app_settings, "MAIL_URL": "smtp+plain://mail.example.com:25"})


def test_the_app_refuses_to_start_with_mail_url_but_no_sender(app_settings):
    with pytest.raises(ConfigError, match="MAIL_FROM"):
        create_app({**app_settings, "MAIL_FROM": ""})


def test_mail_url_credentials_may_hold_escaped_characters():
    server = parse_mail_url("smtps://apikey:p%40ss%2Fword@smtp.example.com")
    assert (server.username, server.password, server.port) == ("apikey", "p@ss/word", 465)


def test_mail_needs_an_https_app_url_for_its_unsubscribe_links(app_settings):
    with pytest.raises(ConfigError, match="APP_URL must be an https"):
        create_app({**app_settings, "APP_URL": "http://loyalty.example.com"})
