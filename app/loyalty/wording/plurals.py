"""CLDR plural categories for the storefront's locales (https://cldr.unicode.org, plural rules),
for whole numbers and decimals as written in a sentence ("1.5 points")."""
from __future__ import annotations

from decimal import Decimal


def plural_category(locale: str, number: int | Decimal | str) -> str:
    value = Decimal(str(number))
    if value != value.to_integral_value():
        return "other"  # "1.5 punti", "1,5 punktu": every locale here uses its fraction form
    n = abs(int(value))
    rule = _RULES.get(locale, _one_other)
    return rule(n)


def _one_other(n: int) -> str:
    return "one" if n == 1 else "other"


def _french(n: int) -> str:
    return "one" if n in (0, 1) else "other"  # "0 point", "1 point", "2 points"


def _polish(n: int) -> str:
    if n == 1:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"  # 2 punkty, 22 punkty
    return "many"  # 5 punktów, 12 punktów


def _romanian(n: int) -> str:
    if n == 1:
        return "one"
    if n == 0 or 1 <= n % 100 <= 19:
        return "few"  # 0 puncte, 19 puncte
    return "other"  # 20 de puncte


_RULES = {"en": _one_other, "de": _one_other, "es": _one_other, "it": _one_other, "fr": _french, "pl": _polish,
          "ro": _romanian}
