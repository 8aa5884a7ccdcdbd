"""The demo store's mail server: MAIL_URL in `make run` points at an SMTP server on
127.0.0.1 (aiosmtpd) that this process runs and that keeps every message in a Maildir under
instance/; /devstore/mail lists them and shows each one (HTML, plain text, headers).

Started with the first request, like the in-process worker, so `flask db upgrade` and the other
commands never bind the port; only for smtp+plain:// on loopback with DEVSTORE (a real MAIL_URL
is never answered by the demo)."""
from __future__ import annotations

import logging
import mailbox
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, render_template

from app.mail.transport import MailConfigError, is_loopback_host, parse_mail_url

log = logging.getLogger(__name__)
bp = Blueprint("demo_mail", __name__, url_prefix="/devstore/mail", template_folder="templates")


def mail_folder(app: Flask) -> Path:
    """Beside the demo store's state (so a test's demo keeps its mail in its own folder)."""
    state = app.config.get("DEVSTORE_STATE_PATH")
    return (Path(state).parent if state else Path(app.instance_path)) / "demo-mail"


def serves_demo_mail(config) -> bool:
    try:
        server = parse_mail_url(config.get("MAIL_URL") or "")
    except MailConfigError:
        return False
    return bool(config.get("DEVSTORE")) and server.scheme == "smtp+plain" and is_loopback_host(server.host)


def init_mailbox(app: Flask) -> None:
    app.register_blueprint(bp)
    if not serves_demo_mail(app.config) or app.config.get("TESTING"):
        return
    lock, started = threading.Lock(), []

    @app.before_request
    def _start_mail_server():
        if not started:
            with lock:
                if not started:
                    started.append(start_mail_server(app))


def start_mail_server(app: Flask):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Mailbox

    server = parse_mail_url(app.config["MAIL_URL"])
    folder = mail_folder(app)
    folder.parent.mkdir(parents=True, exist_ok=True)  # the Maildir makes its own folders, if missing
    controller = Controller(Mailbox(str(folder)), hostname=server.host, port=server.port)
    try:
        controller.start()
    except (OSError, RuntimeError) as exc:  # another demo (or anything else) holds the port
        log.warning("demo mail server not started on %s:%s: %s", server.host, server.port, exc)
        return None
    log.info("demo mail server on %s:%s, messages at /devstore/mail", server.host, server.port)
    return controller


def _messages() -> list[tuple[str, EmailMessage]]:
    folder = mail_folder(current_app)
    if not (folder / "cur").exists():
        return []
    box = mailbox.Maildir(str(folder), factory=None, create=False)
    found = [(key, message_from_bytes(box.get_bytes(key), policy=policy.default)) for key in box.keys()]
    return sorted(found, key=lambda item: _sent_at(item[1]), reverse=True)


def _sent_at(message: EmailMessage):
    from email.utils import parsedate_to_datetime
    try:
        return parsedate_to_datetime(message["Date"]).timestamp()
    except (TypeError, ValueError):
        return 0.0


@bp.get("")
def mail_list():
    return render_template("devstore/mail.html", messages=_messages(), mail_url=current_app.config.get("MAIL_URL"),
                           serving=serves_demo_mail(current_app.config))


@bp.get("/<key>")
def mail_message(key: str):
    message = dict(_messages()).get(key)
    if message is None:
        abort(404)
    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    return render_template("devstore/mail_message.html", key=key, message=message, headers=list(message.items()),
                           html=html.get_content() if html else None, text=text.get_content() if text else None)
