"""The shopper's language on the App Proxy: the widget sends the storefront locale
(`?locale=it`, from `request.locale.iso_code`), and every sentence the shopper reads - activity
reasons, notices and error messages - comes back in it (catalogues in app.loyalty.wording)."""
from __future__ import annotations

import json

from flask import Response, request

from app.loyalty.wording import DEFAULT_LOCALE, best_locale, translate_message
from app.storefront.proxy import bp


def shopper_locale() -> str:
    """The catalogue for the storefront locale; an unknown or missing one falls back to English."""
    return best_locale(request.args.get("locale"))


def in_shopper_language(message: str | None) -> str | None:
    return translate_message(message, shopper_locale()) if message else message


@bp.after_request
def localise_error(response: Response) -> Response:
    """Errors are written in English where they are raised (services, domain, parsing) and
    translated here, once, for every storefront route."""
    locale = shopper_locale()
    if response.status_code < 400 or locale == DEFAULT_LOCALE or not response.is_json:
        return response
    body = response.get_json(silent=True)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return response
    error["message"] = translate_message(error["message"], locale)
    for field in error.get("fields") or []:
        field["problem"] = translate_message(str(field.get("problem", "")), locale)
    response.set_data(json.dumps(body))
    return response
