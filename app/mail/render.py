"""Emails as members and owners read them: the owner's (or Tessera's default) wording in the
member's language, in an HTML layout with the shop's colour and a plain-text twin, wrapped in a
MIME message with the one-click unsubscribe headers (RFC 8058)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.loyalty.emails import DEFAULT_LOCALE, LOCALES, MessageKind, MessageSettings, fill_placeholders

HERE = Path(__file__).resolve().parent
DEFAULT_POINTS_NAME = "points"
DEFAULT_PROGRAM_NAME = "Rewards"


@dataclass(frozen=True)
class Branding:
    """What makes an email look like the shop's: from the program's widget settings."""

    shop_name: str
    program_name: str
    points_name: str
    accent_color: str
    rewards_url: str


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    locale: str


@lru_cache(maxsize=len(LOCALES))
def texts(locale: str) -> dict[str, Any]:
    code = locale if locale in LOCALES else DEFAULT_LOCALE
    return json.loads((HERE / "texts" / f"{code}.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Autoescape for .html: every value (names, the owner's text, codes) is text, never markup.
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                       keep_trailing_newline=True)


def default_wording(kind: MessageKind, locale: str) -> dict[str, str]:
    return texts(locale)["messages"][kind]


def localized_branding(branding: Branding, locale: str) -> Branding:
    """The program's default names are English words; a member reading another language gets
    that language's word unless the owner chose a name of their own."""
    words = texts(locale)
    points = words["points_word"] if branding.points_name == DEFAULT_POINTS_NAME else branding.points_name
    program = words["program_word"] if branding.program_name == DEFAULT_PROGRAM_NAME else branding.program_name
    return Branding(branding.shop_name, program, points, branding.accent_color, branding.rewards_url)


def format_fact(value: Any, locale: str) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.strftime(texts(locale)["date_format"])
    return "" if value is None else str(value)


def _tidy(text: str) -> str:
    # An empty first name must not leave "Hi ," behind.
    return re.sub(r"[ \t]+([,:!?])", r"\1", text).strip()


def render_member_email(kind: MessageKind, locale: str, facts: dict[str, Any], branding: Branding,
                        settings: MessageSettings, *, unsubscribe_url: str) -> RenderedEmail:
    words = texts(locale)
    brand = localized_branding(branding, locale)
    facts = _with_localized_gaps(kind, facts, words)
    values = {"program_name": brand.program_name, "points_name": brand.points_name, "shop_name": brand.shop_name,
              "rewards_url": brand.rewards_url,
              **{k: format_fact(v, locale) for k, v in facts.items()}}
    wording = default_wording(kind, locale)
    subject = _tidy(fill_placeholders(settings.subject.get(locale) or wording["subject"], values))
    body = _tidy(fill_placeholders(settings.body.get(locale) or wording["body"], values))
    footer = {"footer": words["footer"].format(program_name=brand.program_name, shop_name=brand.shop_name),
              "balance_line": words["balance_line"].format(balance=values.get("balance", ""),
                                                           points_name=brand.points_name)
              if values.get("balance") not in (None, "") else "",
              "unsubscribe": words["unsubscribe"], **_call_to_action(kind, values, words, brand)}
    context = {"subject": subject, "paragraphs": _paragraphs(body), "body": body, "brand": brand, "locale": locale,
               "code": values.get("code") if kind == MessageKind.CODE_ISSUED and facts.get("code") != words["store_credit"]
               else "",
               "unsubscribe_url": unsubscribe_url, **footer}
    env = _environment()
    return RenderedEmail(subject, env.get_template("mail/member.txt").render(context),
                         env.get_template("mail/member.html").render(context), locale)


def _call_to_action(kind: MessageKind, values: dict[str, Any], words: dict[str, Any], brand) -> dict[str, str]:
    """The button: a feedback request opens the widget's feedback form; the rest, the rewards."""
    if kind == MessageKind.FEEDBACK_REQUEST and values.get("feedback_url"):
        return {"cta": words["feedback_cta"], "cta_url": values["feedback_url"]}
    return {"cta": words["cta"], "cta_url": brand.rewards_url}


def _with_localized_gaps(kind: MessageKind, facts: dict[str, Any], words: dict[str, Any]) -> dict[str, Any]:
    """Store credit has no code, and some codes never expire: say so in the member's language."""
    if kind != MessageKind.CODE_ISSUED:
        return facts
    facts = dict(facts)
    if facts.pop("store_credit", False):
        facts["code"] = words["store_credit"]
    if not facts.get("code_expires_on"):
        facts["code_expires_on"] = words["no_expiry"]
    return facts


def _paragraphs(body: str) -> list[list[str]]:
    return [block.splitlines() for block in re.split(r"\n\s*\n", body) if block.strip()]


def render_owner_notice(subject: str, lines: list[str], *, shop_name: str, admin_url: str,
                        accent_color: str = "#1f6f43") -> RenderedEmail:
    """Notices to the owner are in English, like the admin they point to."""
    context = {"subject": subject, "paragraphs": [[line] for line in lines], "body": "\n\n".join(lines),
               "shop_name": shop_name, "admin_url": admin_url, "accent_color": accent_color}
    env = _environment()
    return RenderedEmail(subject, env.get_template("mail/owner.txt").render(context),
                         env.get_template("mail/owner.html").render(context), "en")


def compose(rendered: RenderedEmail, *, sender: Address, to: str, reply_to: str | None, sent_at: datetime,
            unsubscribe_url: str | None) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = make_msgid(domain=sender.domain)
    if unsubscribe_url:
        # RFC 8058: mailbox providers POST "List-Unsubscribe=One-Click" to the URL, no login.
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    # After the parts exist: turning a message multipart moves its Content-* headers into a part.
    message["Content-Language"] = rendered.locale
    return message
