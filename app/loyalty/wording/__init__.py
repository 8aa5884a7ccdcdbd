"""What a shopper reads, in their language: ledger reasons and storefront messages.

A ledger entry stores its reason as a code plus parameters (`Reason`) and, as a fallback for
readers that know no locale (exports, the admin, rows written before codes existed), the
English sentence. The sentences live in one catalogue per storefront locale
(catalogue/<locale>.json, the same 7 locales as theme_extension/locales):

- "reasons": code -> template. `{name}` is a parameter; `{name|points}` is the number `name`
  with its plural noun from "plurals" ("1 punto", "5 punktów"); a parameter that is itself a
  reason ({"code", "params"}) is rendered in place, a list of them joined by "list_separator".
- "messages": English message template -> translation, for the errors and notices the
  storefront answers with (see translate_message).

Parameters are facts (numbers, money already formatted, the owner's own names for tiers,
rewards and campaigns), never words of a language, so any locale can render any entry.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.loyalty.wording.plurals import plural_category

LOCALES = ("en", "de", "es", "fr", "it", "pl", "ro")
DEFAULT_LOCALE = "en"
_PLACEHOLDER = re.compile(r"\{(\w+)(?:\|(\w+))?\}")


class MissingWording(LookupError):
    """A code, parameter or plural form the catalogue cannot render (a bug, caught by tests)."""


@dataclass(frozen=True)
class Reason:
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The English sentence stored next to the code."""
        return render_reason(self.code, self.params, DEFAULT_LOCALE)

    def as_param(self) -> dict[str, Any]:
        return {"code": self.code, "params": dict(self.params)}


def reason(code: str, /, **params: Any) -> Reason:
    """A reason whose nested reasons are stored as plain JSON ({"code", "params"})."""
    return Reason(code, {k: _plain(v) for k, v in params.items() if v is not None})


def _plain(value: Any) -> Any:
    if isinstance(value, Reason):
        return value.as_param()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def reason_fields(worded: Reason) -> dict[str, Any]:
    """The ledger columns of a reason: the English fallback, the code and its parameters."""
    return {"reason": worded.text, "reason_code": worded.code, "reason_params": dict(worded.params)}


def best_locale(requested: str | None, fallback: str | None = None) -> str:
    """The catalogue for a storefront locale ("pt-BR" -> none, "fr-CA" -> fr), else the
    shop's primary locale, else English."""
    for candidate in (requested, fallback):
        language = (candidate or "").strip().lower().replace("_", "-").split("-")[0]
        if language in LOCALES:
            return language
    return DEFAULT_LOCALE


@lru_cache(maxsize=len(LOCALES))
def catalogue(locale: str) -> dict[str, Any]:
    return json.loads((Path(__file__).parent / "catalogue" / f"{locale}.json").read_text(encoding="utf-8"))


def render_reason(code: str, params: Mapping[str, Any], locale: str, *, points: int | None = None) -> str:
    """The sentence of a reason in a locale. `points` is the entry's own points, the default of
    a `points` parameter (set-based writers store only what the row does not already say)."""
    words = catalogue(locale)
    template = words["reasons"].get(code)
    if template is None:
        raise MissingWording(f"no wording for reason {code!r} in {locale}")
    values = {"points": abs(points)} if points is not None else {}
    values.update(params)
    return _PLACEHOLDER.sub(lambda m: _fill(words, locale, values, code, *m.groups()), template)


def _fill(words: dict, locale: str, values: Mapping[str, Any], code: str, name: str, noun: str | None) -> str:
    if name not in values:
        raise MissingWording(f"reason {code!r} needs the parameter {name!r}")
    value = values[name]
    if isinstance(value, Mapping) and "code" in value:
        return render_reason(value["code"], value.get("params") or {}, locale)
    if isinstance(value, list):
        return words["list_separator"].join(render_reason(v["code"], v.get("params") or {}, locale) for v in value)
    if noun:
        return counted(value, noun, locale)
    return str(value)


def counted(number: Any, noun: str, locale: str) -> str:
    """"3 points" in the locale's plural form for that number."""
    forms = catalogue(locale)["plurals"][noun]
    form = forms.get(plural_category(locale, number)) or forms["other"]
    return form.replace("{n}", str(number))


def entry_reason(code: str | None, params: Mapping[str, Any] | None, stored: str, locale: str,
                 *, points: int) -> str:
    """What a member reads for a ledger entry: its reason in their locale, or the stored
    sentence for an entry without a code (written before codes, or scrubbed for privacy)."""
    if not code or code not in catalogue(locale)["reasons"]:
        return stored
    try:
        return render_reason(code, params or {}, locale, points=points)
    except (MissingWording, KeyError, TypeError):
        return stored  # a history row the catalogue no longer fits still reads as it did


# ---- storefront messages: errors and notices --------------------------------------------------

@lru_cache(maxsize=1)
def _message_patterns() -> tuple[tuple[str, re.Pattern], ...]:
    """English templates as patterns: "{name} is not available any more." matches any name."""
    patterns = []
    for template in catalogue(DEFAULT_LOCALE)["messages"]:
        pieces = re.split(r"(\{\w+\})", template)
        regex = "".join(f"(?P<{p[1:-1]}>.+?)" if _PLACEHOLDER.fullmatch(p) else re.escape(p) for p in pieces)
        patterns.append((template, re.compile(regex + r"\Z", re.DOTALL)))
    return tuple(patterns)


def translate_message(message: str, locale: str) -> str:
    """A storefront message (an error or notice written in English where it is raised) in the
    shopper's locale; a message the catalogue does not know stays as written."""
    if locale == DEFAULT_LOCALE:
        return message
    translations = catalogue(locale)["messages"]
    for template, pattern in _message_patterns():
        found = pattern.match(message)
        if found and template in translations:
            # A parameter may itself be a message ("'points' must be {problem}.").
            return _PLACEHOLDER.sub(lambda m: translate_message(found.group(m.group(1)), locale),
                                    translations[template])
    return message
