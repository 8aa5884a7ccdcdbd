"""Money as integer minor units of a currency: exact, and comparable across orders."""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents that are not 2 (Shopify's currencies).
_EXPONENTS = {"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
              "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3,
              "LYD": 3, "OMR": 3, "TND": 3}
_SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "NZD": "$", "SGD": "$", "HKD": "$", "MXN": "$", "EUR": "€",
            "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩", "BRL": "R$", "PLN": "zł", "RON": "lei", "CHF": "CHF"}
_SUFFIX_SYMBOLS = {"PLN", "RON", "CHF"}


class InvalidAmount(ValueError):
    pass


def exponent(currency: str) -> int:
    return _EXPONENTS.get((currency or "").upper(), 2)


def to_minor(amount: str | int | float | Decimal | None, currency: str) -> int:
    """'135.00' CAD -> 13500. Shopify sends money as strings (and a few fields as JSON numbers)."""
    if amount is None or amount == "":
        return 0
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise InvalidAmount(f"not an amount: {amount!r}") from exc
    return int((value * (10 ** exponent(currency))).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def to_decimal(amount_minor: int, currency: str) -> Decimal:
    places = exponent(currency)
    return (Decimal(amount_minor) / (10 ** places)).quantize(Decimal(1).scaleb(-places))


def format_money(amount_minor: int, currency: str) -> str:
    """Human text for reasons: '$54.00', '€12.50', '120.00 zł', '1,200 JPY'-style fallbacks."""
    amount = f"{to_decimal(amount_minor, currency):,}"
    symbol = _SYMBOLS.get(currency.upper())
    if symbol is None:
        return f"{amount} {currency.upper()}"
    return f"{amount} {symbol}" if currency.upper() in _SUFFIX_SYMBOLS else f"{symbol}{amount}"
