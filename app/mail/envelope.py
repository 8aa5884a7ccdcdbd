"""What every outgoing message shares: the configured sender and public URL (MailContext), the
shop's sender name on it, and the outcome of preparing one message for sending."""
from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage

from itsdangerous import BadSignature, URLSafeSerializer

from app.loyalty.emails import MailStatus
from app.loyalty.program import Program
from app.mail.render import RenderedEmail

UNSUBSCRIBE_SALT = "tessera-mail-unsubscribe"


def unsubscribe_token(secret_key: str, shop_id: int, member_id: int) -> str:
    # No expiry: an unsubscribe link in a years-old email must still work (RFC 8058: no login).
    return URLSafeSerializer(secret_key, salt=UNSUBSCRIBE_SALT).dumps([shop_id, member_id])


def read_unsubscribe_token(secret_key: str, token: str) -> tuple[int, int] | None:
    try:
        shop_id, member_id = URLSafeSerializer(secret_key, salt=UNSUBSCRIBE_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return (shop_id, member_id) if isinstance(shop_id, int) and isinstance(member_id, int) else None


@dataclass(frozen=True)
class MailContext:
    """What every message needs from the configuration (MAIL_FROM, APP_URL, SECRET_KEY)."""

    mail_from: Address
    app_url: str
    secret_key: str

    def unsubscribe_url(self, shop_id: int, member_id: int) -> str:
        return f"{self.app_url}/mail/unsubscribe/{unsubscribe_token(self.secret_key, shop_id, member_id)}"


def sender_address(context: MailContext, program: Program) -> Address:
    """MAIL_FROM's address under the shop's sender name (or its program's name)."""
    name = program.mail.sender_name or program.widget.program_name
    return Address(display_name=name, username=context.mail_from.username, domain=context.mail_from.domain)


@dataclass
class Outcome:
    """One message made ready to send (status SENT until the server says otherwise), or why not."""

    status: MailStatus
    error: str | None = None
    message: EmailMessage | None = None
    rendered: RenderedEmail | None = None
    recipient: str | None = None


def mail_context_from_config(config: dict) -> MailContext:
    from app.mail.transport import parse_mail_from
    mail_from = parse_mail_from(config.get("MAIL_FROM") or "rewards@localhost.localdomain")
    return MailContext(mail_from=mail_from, app_url=config["APP_URL"], secret_key=config["SECRET_KEY"])
