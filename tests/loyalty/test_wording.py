"""Every ledger reason and every storefront message renders in each of the 7 storefront locales,
with no English left in the other six and no parameter missing."""
import re

import pytest

from app.loyalty.settlement import with_shortfall
from app.loyalty.clawback import ClawbackSplit
from app.loyalty.wording import (LOCALES, MissingWording, Reason, best_locale, catalogue, entry_reason, reason,
                                 render_reason, translate_message)
from app.loyalty.wording.plurals import plural_category

OTHER_LOCALES = [locale for locale in LOCALES if locale != "en"]
PLACEHOLDER = re.compile(r"\{(\w+)(?:\|\w+)?\}")

# Parameters that are reasons themselves, with a sample of each.
NESTED = {
    "earning": reason("earning.calculation", parts=[reason("earning.rate", rate="1", unit="$1", base="$54.00",
                                                           base_kind=reason("base.subtotal"))], points=54),
    "parts": [reason("earning.rate", rate="1.5", unit="$1", base="$54.00", base_kind=reason("base.total")),
              reason("earning.campaign_bonus", campaign="Spring", bonus=2)],
    "base_kind": reason("base.subtotal_with_shipping"),
    "rounding": reason("rounding.nearest"),
    "taken": reason("order.refund", order="#1001", refunded="$10.00", base="$50.00", points=10),
    "what": reason("redemption.what_store_credit"),
    "action": reason("action.newsletter"),
    "goal": reason("challenge.referrals_within", count=3, days=30),
    "redemption": reason("redemption.code", reward="Gift card 10", code="TESSERA-1"),
}
# Words no translation here uses, so finding one means English leaked ("point"/"points" are French too).
ENGLISH_WORDS = re.compile(r"\b(the|and|your|with|without|order|refund|refunded|cancelled|expired|please|store|"
                           r"friend|earned|spent|back|welcome|redeemed|adjusted|staff|starting|balance|within|"
                           r"months|days|try|again|must|least|between|whole|number|characters|available|points?)\b")


# Words that are the same in some of the languages ("subtotal" in Spanish and Romanian).
COGNATES = {"base.subtotal", "base.total"}


def sample(code: str) -> Reason:
    names = PLACEHOLDER.findall(catalogue("en")["reasons"][code])
    return reason(code, **{name: NESTED.get(name, 7) for name in names})


def english_left(text: str, locale: str) -> set[str]:
    words = set(ENGLISH_WORDS.findall(text))
    return words - {"point", "points"} if locale == "fr" else words


@pytest.mark.parametrize("locale", OTHER_LOCALES)
def test_every_reason_code_renders_in_every_locale_without_english(locale):
    for code in catalogue("en")["reasons"]:
        text = render_reason(code, sample(code).params, locale)
        assert "{" not in text and "}" not in text, (code, text)
        assert not english_left(text, locale), (code, text)
        if PLACEHOLDER.sub("", catalogue("en")["reasons"][code]).strip(" =+-x()#;:,") and code not in COGNATES:
            assert text != render_reason(code, sample(code).params, "en"), f"{code} is not translated in {locale}"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_locale_has_the_same_codes_messages_and_parameters_as_english(locale):
    english, words = catalogue("en"), catalogue(locale)
    assert words["reasons"].keys() == english["reasons"].keys()
    assert words["messages"].keys() == english["messages"].keys()
    for code, template in english["reasons"].items():
        assert set(PLACEHOLDER.findall(words["reasons"][code])) == set(PLACEHOLDER.findall(template)), code
    for template, translated in words["messages"].items():
        assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(template)), template


@pytest.mark.parametrize("locale", OTHER_LOCALES)
def test_every_storefront_message_is_translated_without_english(locale):
    for template in catalogue("en")["messages"]:
        message = PLACEHOLDER.sub(lambda m: "Gift card 10", template)
        translated = translate_message(message, locale)
        assert translated != message, f"{template!r} is not translated in {locale}"
        assert not english_left(translated.replace("Gift card 10", ""), locale), (template, translated)


def test_english_sentences_stay_exactly_as_before_codes_existed():
    earned = reason("order.earned", order="#1042", earning=NESTED["earning"])
    assert earned.text == "Order #1042: 1 point per $1 on $54.00 subtotal = 54 points"
    split = ClawbackSplit(taken=3, shortfall=2)
    assert with_shortfall(NESTED["taken"], split).text == (
        "Refund on order #1001: $10.00 of $50.00 refunded = -10 points; 2 already spent, not taken back")


def test_an_earn_reason_reads_in_italian_with_the_owners_names_kept():
    earned = reason("order.earned", order="#1042", earning=reason(
        "earning.calculation", parts=NESTED["parts"], points=83))
    assert render_reason(earned.code, earned.params, "it") == (
        "Ordine #1042: 1.5 punti ogni $1 su $54.00 di totale, Spring +2 punti = 83 punti")


@pytest.mark.parametrize(("locale", "number", "text"), [
    ("pl", 1, "1 punkt"), ("pl", 3, "3 punkty"), ("pl", 5, "5 punktów"), ("pl", 22, "22 punkty"),
    ("pl", 12, "12 punktów"), ("ro", 1, "1 punct"), ("ro", 19, "19 puncte"), ("ro", 20, "20 de puncte"),
    ("fr", 0, "0 point"), ("fr", 2, "2 points"), ("de", 1, "1 Punkt"), ("it", 1, "1 punto"), ("en", 0, "0 points"),
])
def test_points_take_the_plural_form_of_the_locale(locale, number, text):
    assert render_reason("tier.welcome", {"tier": "Gold", "points": number}, locale).endswith(text)


def test_fractions_take_the_fraction_form():
    assert plural_category("pl", "1.5") == "other" and plural_category("en", "1.5") == "other"


def test_a_missing_parameter_is_an_error_not_a_half_sentence():
    with pytest.raises(MissingWording):
        render_reason("order.cancelled", {"order": "#1"}, "de")


def test_entries_without_a_code_read_as_their_stored_sentence():
    assert entry_reason(None, None, "Legacy sentence", "it", points=5) == "Legacy sentence"
    assert entry_reason("gone.code", {}, "Legacy sentence", "it", points=5) == "Legacy sentence"


def test_set_based_entries_take_their_points_from_the_entry():
    assert entry_reason("expiry.inactivity", {"months": 12}, "", "it", points=-80) == (
        "80 punti scaduti dopo 12 mesi senza guadagni né spese")


@pytest.mark.parametrize(("asked", "locale"), [("it", "it"), ("fr-CA", "fr"), ("pt-BR", "en"), (None, "en"),
                                               ("", "en"), ("PL", "pl"), ("de_AT", "de")])
def test_unknown_locales_fall_back_to_english(asked, locale):
    assert best_locale(asked) == locale


def test_unknown_messages_stay_as_written_and_nested_problems_are_translated():
    assert translate_message("Something nobody catalogued.", "de") == "Something nobody catalogued."
    assert translate_message("'points' must be a whole number from 1 to 100.", "it") == (
        "'points' deve essere un numero intero da 1 a 100.")
