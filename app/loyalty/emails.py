"""Emails to members and notices to the owner: which messages exist, who may get them, how a
burst is cut down to one, when a failed send is tried again, and the owner's settings for all
of it (a section of the program, app/loyalty/program.py).

Plain rules, no plumbing: app/services/member_emails.py loads the facts and writes the log rows,
app/mail renders and sends.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The storefront locales of the widget (theme_extension/locales); emails speak the same ones.
LOCALES = ("en", "de", "es", "fr", "it", "pl", "ro")
DEFAULT_LOCALE = "en"
Locale = Literal["en", "de", "es", "fr", "it", "pl", "ro"]


class MessageKind(StrEnum):
    REWARD_READY = "reward_ready"
    CODE_ISSUED = "code_issued"
    TIER_REACHED = "tier_reached"
    TIER_LOSS_WARNING = "tier_loss_warning"
    POINTS_EXPIRING = "points_expiring"
    BIRTHDAY = "birthday"
    REFERRAL_COMPLETED = "referral_completed"
    POINTS_EARNED = "points_earned"
    # Issue 18: after a paid order, ask the member for feedback (the widget's form).
    FEEDBACK_REQUEST = "feedback_request"


class OwnerNoticeKind(StrEnum):
    WEEKLY_SUMMARY = "weekly_summary"
    ACCESS_LOST = "access_lost"
    WEBHOOKS_FAILING = "webhooks_failing"
    DATA_REQUEST = "data_request"
    IMPORT_FINISHED = "import_finished"


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


# Messages the member asked for by their own action: sent even without marketing consent.
SELF_TRIGGERED = frozenset({MessageKind.CODE_ISSUED})
# Kept over others when the daily cap cuts a burst down; the most useful to the member first.
PRIORITY = (MessageKind.CODE_ISSUED, MessageKind.POINTS_EXPIRING, MessageKind.TIER_LOSS_WARNING,
            MessageKind.REWARD_READY, MessageKind.TIER_REACHED, MessageKind.REFERRAL_COMPLETED,
            MessageKind.BIRTHDAY, MessageKind.FEEDBACK_REQUEST, MessageKind.POINTS_EARNED)
OFF_BY_DEFAULT = frozenset({MessageKind.POINTS_EARNED})
# What each message's text may name ({{ first_name }} ...); the same in every language.
COMMON_FIELDS = ("first_name", "program_name", "points_name", "balance", "shop_name", "rewards_url")
FIELDS = {
    MessageKind.REWARD_READY: ("reward_name", "reward_points"),
    MessageKind.CODE_ISSUED: ("reward_name", "code", "code_expires_on"),
    MessageKind.TIER_REACHED: ("tier_name",),
    MessageKind.TIER_LOSS_WARNING: ("tier_name", "period_ends_on"),
    MessageKind.POINTS_EXPIRING: ("points", "expires_on"),
    MessageKind.BIRTHDAY: (),
    MessageKind.REFERRAL_COMPLETED: ("points",),
    MessageKind.POINTS_EARNED: ("points",),
    MessageKind.FEEDBACK_REQUEST: ("order_name", "points", "feedback_url"),
}
EMAIL_ADDRESS = re.compile(r"[^@\s<>\"',;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
PLACEHOLDER = re.compile(r"{{\s*([a-z_]+)\s*}}")

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
# A feedback request waits a day after payment (not in the same hour as the order confirmation)
# and is not sent for orders paid more than three days ago (an import of old orders asks nobody).
FEEDBACK_REQUEST_AFTER = timedelta(days=1)
FEEDBACK_REQUEST_UNTIL = timedelta(days=3)
# Messages wait this long before going out, so what one order or one job sets off (points,
# a reward within reach, a new tier) arrives as one email rather than three.
GATHER_DELAY = timedelta(minutes=5)


def member_locale(shopify_locale: str | None) -> str:
    """Shopify's customer locale (`pt-BR`, `fr-CA`, `de`) -> one of the emails' languages."""
    language = (shopify_locale or "").replace("_", "-").split("-")[0].lower()
    return language if language in LOCALES else DEFAULT_LOCALE


def suppression_reason(kind: MessageKind, *, accepts_marketing: bool, unsubscribed: bool,
                       has_email: bool) -> str | None:
    """Why a member must not get this message, or None. Unsubscribing stops everything; withdrawn
    marketing consent leaves only what the member set off themselves."""
    if not has_email:
        return "The member has no email address."
    if unsubscribed:
        return "The member unsubscribed from loyalty emails."
    if not accepts_marketing and kind not in SELF_TRIGGERED:
        return "The member has not agreed to receive marketing emails."
    return None


OUTSIDE_AUDIENCE = "The member is outside the audience of this message."


def retry_at(attempts: int, now: datetime) -> datetime | None:
    """Exponential backoff after the `attempts`-th failure (1, 2, 4 ... minutes, at most 6 hours
    apart); None once the attempts are used up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)


def choose_within_cap(kinds: Iterable[MessageKind], sent_today: int, cap: int) -> tuple[list[int], list[int]]:
    """Of one member's due messages (by position), those to send and those the daily cap drops:
    the most important first; what the member set off themselves is never dropped."""
    ranked = sorted(enumerate(kinds), key=lambda item: PRIORITY.index(item[1]))
    room = max(cap - sent_today, 0)
    send, drop = [], []
    for position, kind in ranked:
        if kind in SELF_TRIGGERED:
            send.append(position)
        elif room > 0:
            send.append(position)
            room -= 1
        else:
            drop.append(position)
    return send, drop


def rewards_newly_within_reach(spendable: int, costs: Mapping[int, int], marked: set[int]) -> tuple[list[int], list[int]]:
    """Reward-ready crossings: rewards the balance now reaches that were not marked yet (tell the
    member once), and marked ones the balance fell below again (re-armed for the next crossing)."""
    reached = sorted((rid for rid, cost in costs.items() if spendable >= cost and rid not in marked),
                     key=lambda rid: (-costs[rid], rid))
    rearmed = sorted(rid for rid in marked if rid not in costs or spendable < costs[rid])
    return reached, rearmed


def tier_rises(levels: list[str], tier_from: str | None, tier_to: str | None) -> bool:
    """A move up the program's ladder (a new member's first tier counts; a downgrade does not)."""
    if tier_to not in levels:
        return False
    return tier_from not in levels or levels.index(tier_to) > levels.index(tier_from)


def fill_placeholders(text: str, values: Mapping[str, object]) -> str:
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), "")), text)


def unknown_placeholders(kind: MessageKind, text: str) -> list[str]:
    allowed = set(COMMON_FIELDS) | set(FIELDS[kind])
    return sorted({name for name in PLACEHOLDER.findall(text) if name not in allowed})


def birthday_today(birthday: date | None, today: date) -> bool:
    if birthday is None:
        return False
    if (birthday.month, birthday.day) == (today.month, today.day):
        return True
    # Leap-day birthdays are celebrated on the 28th in other years (as the birthday points are).
    leap_day_elsewhere = (birthday.month, birthday.day) == (2, 29) and (today.month, today.day) == (2, 28)
    return leap_day_elsewhere and not _is_leap(today.year)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class MessageSettings(_Settings):
    """One message kind: on or off, and the owner's own wording per language (a language left
    out uses Tessera's default text for it)."""

    enabled: bool = True
    subject: dict[Locale, str] = Field(default_factory=dict)
    body: dict[Locale, str] = Field(default_factory=dict)
    # The audience (empty: everyone), as for rewards and campaigns: members of any of these
    # segments or lifecycle stages. A code the member asked for ignores it (SELF_TRIGGERED).
    segment_ids: list[int] | None = None
    lifecycle_stages: list[Literal["awareness", "engagement", "conversion", "loyalty", "at_risk", "lapsed"]] | None = None

    @field_validator("segment_ids", "lifecycle_stages")
    @classmethod
    def _empty_is_everyone(cls, value: list | None) -> list | None:
        return list(dict.fromkeys(value)) or None if value else None

    @property
    def has_audience(self) -> bool:
        return bool(self.segment_ids or self.lifecycle_stages)

    @field_validator("subject")
    @classmethod
    def _short_subjects(cls, value: dict[str, str]) -> dict[str, str]:
        for locale, text in value.items():
            if len(text) > 150 or "\n" in text:
                raise ValueError(f"{locale}: a subject is one line of at most 150 characters")
        return {k: v.strip() for k, v in value.items() if v.strip()}

    @field_validator("body")
    @classmethod
    def _bounded_bodies(cls, value: dict[str, str]) -> dict[str, str]:
        for locale, text in value.items():
            if len(text) > 5000:
                raise ValueError(f"{locale}: the text is longer than 5000 characters")
        return {k: v.strip() for k, v in value.items() if v.strip()}


def _default_messages() -> dict[str, MessageSettings]:
    return {kind: MessageSettings(enabled=kind not in OFF_BY_DEFAULT) for kind in MessageKind}


class OwnerNotices(_Settings):
    weekly_summary: bool = True
    access_lost: bool = True
    webhooks_failing: bool = True
    data_request: bool = True
    import_finished: bool = True


class MailSettings(_Settings):
    # Shown as the sender ("Maple & Pine Rewards"); empty: the program's name.
    sender_name: str = Field("", max_length=80)
    # Where members' replies go; empty: the shop's email address.
    reply_to: str = Field("", max_length=254)
    daily_cap: int = Field(1, ge=1, le=10, description="emails per member per day, besides codes they asked for")
    tier_warning_days: int = Field(14, ge=1, le=90)
    messages: dict[MessageKind, MessageSettings] = Field(default_factory=_default_messages)
    owner_notices: OwnerNotices = OwnerNotices()

    @field_validator("sender_name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(ch in value for ch in "\r\n<>\"@"):
            raise ValueError("the sender name is a plain name: no line breaks, quotes, < > or @")
        return value.strip()

    @field_validator("reply_to")
    @classmethod
    def _an_address(cls, value: str) -> str:
        value = value.strip()
        if value and not EMAIL_ADDRESS.fullmatch(value):
            raise ValueError("enter one email address, e.g. help@your-store.com (or leave it empty)")
        return value

    @field_validator("messages")
    @classmethod
    def _every_kind(cls, value: dict[MessageKind, MessageSettings]) -> dict[MessageKind, MessageSettings]:
        return {**_default_messages(), **value}

    @model_validator(mode="after")
    def _known_placeholders(self):
        for kind, message in self.messages.items():
            for text in (*message.subject.values(), *message.body.values()):
                unknown = unknown_placeholders(MessageKind(kind), text)
                if unknown:
                    allowed = ", ".join(f"{{{{ {n} }}}}" for n in (*COMMON_FIELDS, *FIELDS[MessageKind(kind)]))
                    raise ValueError(f"{kind}: unknown placeholder(s) {', '.join(unknown)}; use {allowed}")
        return self

    def message(self, kind: MessageKind) -> MessageSettings:
        return self.messages.get(kind) or MessageSettings(enabled=kind not in OFF_BY_DEFAULT)
