"""SMTP delivery of one message (stdlib smtplib), configured by MAIL_URL and MAIL_FROM.

- smtp://user:pass@host:587: plain connection upgraded with STARTTLS whenever the server offers
  it (and credentials are only ever sent over TLS, or to a loopback test server).
- smtps://user:pass@host:465: TLS from the first byte (implicit TLS, RFC 8314).
- smtp+plain://127.0.0.1:2525: no TLS at all, accepted only for loopback hosts (the demo store's
  and the tests' local servers); anything else is refused at start-up.
"""
from __future__ import annotations

import ipaddress
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"smtp": 587, "smtps": 465, "smtp+plain": 25}
TIMEOUT_SECONDS = 30


class MailConfigError(ValueError):
    """MAIL_URL or MAIL_FROM cannot work; the message says what to set instead."""


class PermanentMailError(Exception):
    """The server refused the message for good (5xx): retrying would not help."""


class TemporaryMailError(Exception):
    """The server could not take the message now (connection, 4xx): try again later."""


@dataclass(frozen=True)
class MailServer:
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def uses_tls(self) -> bool:
        return self.scheme != "smtp+plain"


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_mail_url(url: str) -> MailServer:
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise MailConfigError(f"MAIL_URL must start with smtp://, smtps:// or smtp+plain:// (got {parts.scheme}://).")
    if not parts.hostname:
        raise MailConfigError("MAIL_URL names no host, e.g. smtp://user:password@smtp.example.com:587.")
    if parts.scheme == "smtp+plain" and not is_loopback_host(parts.hostname):
        raise MailConfigError(f"MAIL_URL smtp+plain:// sends mail and passwords unencrypted, so it is only allowed "
                              f"for a server on this machine (127.0.0.1); use smtp:// (STARTTLS) or smtps:// for "
                              f"{parts.hostname}.")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise MailConfigError("MAIL_URL has a port that is not a number between 1 and 65535.") from None
    return MailServer(parts.scheme, parts.hostname, port, unquote(parts.username) if parts.username else None,
                      unquote(parts.password) if parts.password else None)


def parse_mail_from(value: str) -> Address:
    name, address = parseaddr(value)
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise MailConfigError(f"MAIL_FROM must be an email address such as rewards@your-store.com (got {value!r}).")
    username, domain = address.rsplit("@", 1)
    return Address(display_name=name, username=username, domain=domain)


def check_mail_settings(settings: dict) -> None:
    """Start-up check: a MAIL_URL that cannot work stops the app with the reason."""
    if not settings.get("MAIL_URL"):
        return
    parse_mail_url(settings["MAIL_URL"])
    if not settings.get("MAIL_FROM"):
        raise MailConfigError("MAIL_URL is set but MAIL_FROM is not: set the address emails are sent from, "
                              "e.g. MAIL_FROM=rewards@your-store.com.")
    parse_mail_from(settings["MAIL_FROM"])
    app_url = urlsplit(settings.get("APP_URL") or "")
    if app_url.scheme != "https" and not is_loopback_host(app_url.hostname or ""):
        # RFC 8058: the one-click unsubscribe link every email carries must be HTTPS.
        raise MailConfigError(f"APP_URL must be an https:// address to send email (the unsubscribe link in every "
                              f"email is built from it); got {settings.get('APP_URL')!r}.")


class SmtpTransport:
    """Sends one message per connection: mail goes out from a background job a few at a time,
    and a fresh connection never trips over a server's idle timeout."""

    def __init__(self, server: MailServer, *, ssl_context: ssl.SSLContext | None = None,
                 timeout: float = TIMEOUT_SECONDS):
        self.server = server
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        try:
            with self._connect() as smtp:
                self._secure(smtp)
                if self.server.username:
                    smtp.login(self.server.username, self.server.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise _classified(next(iter(exc.recipients.values()), (550, b"refused"))) from exc
        except smtplib.SMTPResponseException as exc:
            raise _classified((exc.smtp_code, exc.smtp_error)) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryMailError(f"{type(exc).__name__}: {exc}") from exc

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        if server.scheme == "smtps":
            return smtplib.SMTP_SSL(server.host, server.port, timeout=self.timeout, context=self.ssl_context)
        return smtplib.SMTP(server.host, server.port, timeout=self.timeout)

    def _secure(self, smtp: smtplib.SMTP) -> None:
        smtp.ehlo()
        if self.server.scheme != "smtp":
            return
        if smtp.has_extn("starttls"):
            smtp.starttls(context=self.ssl_context)
            smtp.ehlo()
        elif self.server.username and not is_loopback_host(self.server.host):
            # Never hand a password to a server that would read it in the clear.
            raise PermanentMailError(f"{self.server.host} does not offer STARTTLS; refusing to send the "
                                     "password unencrypted. Use smtps:// or a server with STARTTLS.")


def _classified(reply: tuple[int, bytes | str]) -> Exception:
    code, text = reply
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    error = f"SMTP {code}: {text}"
    return PermanentMailError(error) if 500 <= code < 600 else TemporaryMailError(error)


def transport_from_config(config: dict) -> SmtpTransport | None:
    """None when MAIL_URL is unset: mail then stays queued and the admin says why."""
    if not config.get("MAIL_URL"):
        return None
    return SmtpTransport(parse_mail_url(config["MAIL_URL"]))
