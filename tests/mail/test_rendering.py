"""Every message in every storefront language: no English left in a non-English email, the
owner's wording wins over the default, and values are escaped in the HTML."""
from __future__ import annotations

import re
from datetime import date

import pytest

from app.loyalty.emails import LOCALES, MessageKind, MessageSettings
from app.mail.render import Branding, render_member_email, texts

BRAND = Branding(shop_name="Maple & Pine", program_name="Rewards", points_name="points", accent_color="#1f6f43",
                 rewards_url="https://maple-pine-goods.myshopify.com/")
FACTS = {"first_name": "Ana", "balance": 640, "reward_name": "X-5", "reward_points": 500, "code": "MPG7Q2KX9A",
         "code_expires_on": date(2025, 3, 16), "tier_name": "Gold", "period_ends_on": date(2025, 3, 1),
         "points": 120, "expires_on": date(2025, 3, 16)}
# Words of three letters or more from every English text (names and values above excluded).
ENGLISH = {w.lower() for text in [*texts("en")["messages"].values()] for part in text.values()
           for w in re.findall(r"[A-Za-z']{3,}", re.sub(r"{{.*?}}", " ", part))} | {
    w.lower() for key in ("cta", "footer", "unsubscribe", "balance_line")
    for w in re.findall(r"[A-Za-z']{3,}", re.sub(r"{.*?}", " ", texts("en")[key]))}
# Words that are the same in English and the language itself (French "points" and "code",
# German "Status" and "Code", Italian "email"): theirs as much as English's.
SHARED = {"fr": {"points", "code"}, "de": {"status", "code"}, "es": set(), "it": {"email"}, "pl": set(),
          "ro": set()}


def render(kind: MessageKind, locale: str, settings: MessageSettings | None = None):
    return render_member_email(kind, locale, FACTS, BRAND, settings or MessageSettings(),
                               unsubscribe_url="https://tessera.example.com/mail/unsubscribe/t")


def words_of(text: str) -> set[str]:
    text = re.sub(r"https?://\S+", " ", text)
    return {w.lower() for w in re.findall(r"[^\W\d_][^\W\d_']{2,}", text)}


@pytest.mark.parametrize("locale", [code for code in LOCALES if code != "en"])
@pytest.mark.parametrize("kind", list(MessageKind))
def test_no_english_leaks_into_a_message_in_another_language(kind, locale):
    email = render(kind, locale)
    names = {"ana", "maple", "pine", "gold", "mpg7q2kx9a"}
    for part in (email.subject, email.text, re.sub(r"<[^>]+>", " ", email.html)):
        leaked = (words_of(part) & ENGLISH) - SHARED[locale] - names
        assert not leaked, f"{locale} {kind}: English words {sorted(leaked)}"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_language_has_every_message_with_the_same_placeholders(locale):
    english = texts("en")["messages"]
    for kind in MessageKind:
        for part in ("subject", "body"):
            ours = set(re.findall(r"{{\s*(\w+)\s*}}", texts(locale)["messages"][kind][part]))
            theirs = set(re.findall(r"{{\s*(\w+)\s*}}", english[kind][part]))
            assert ours == theirs, f"{locale} {kind} {part}"


def test_the_program_default_names_are_said_in_the_members_language():
    email = render(MessageKind.POINTS_EARNED, "de")
    assert email.subject == "Sie haben 120 Punkte gesammelt" and "Prämien" in email.html


def test_the_owners_wording_wins_and_other_languages_keep_the_default():
    settings = MessageSettings(subject={"it": "{{ points }} {{ points_name }} per te"})
    assert render(MessageKind.POINTS_EARNED, "it", settings).subject == "120 punti per te"
    assert render(MessageKind.POINTS_EARNED, "pl", settings).subject == "Zdobyto 120 pkt"


def test_values_are_text_never_markup_in_the_html_part():
    email = render_member_email(MessageKind.BIRTHDAY, "en", {**FACTS, "first_name": "<b>Ana</b>"},
                                Branding("<i>Shop</i>", "Club", "points", "#1f6f43", "https://x.myshopify.com/"),
                                MessageSettings(), unsubscribe_url="https://tessera.example.com/mail/unsubscribe/t")
    assert "<b>Ana</b>" not in email.html and "&lt;b&gt;Ana&lt;/b&gt;" in email.html
    assert "<i>Shop</i>" not in email.html
    assert "Happy birthday, <b>Ana</b>!" == email.subject


def test_an_empty_first_name_leaves_no_dangling_comma():
    email = render_member_email(MessageKind.TIER_REACHED, "en", {**FACTS, "first_name": ""}, BRAND,
                                MessageSettings(), unsubscribe_url="https://tessera.example.com/mail/unsubscribe/t")
    assert email.text.startswith("Hi,\n")


def test_dates_are_written_the_way_each_language_writes_them():
    assert "16.03.2025" in render(MessageKind.POINTS_EXPIRING, "de").subject
    assert "16/03/2025" in render(MessageKind.POINTS_EXPIRING, "es").subject
    assert "March 16, 2025" in render(MessageKind.POINTS_EXPIRING, "en").subject
