"""Errors as HTTP: every error answer is JSON `{"error": {"code", "message", "fields"?}}`.

Domain errors from app/loyalty are mapped to a status here and nowhere else.
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from app.loyalty import errors as domain
from app.parsing import InvalidField

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict[str, str] | None = None, *,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}


STATUS_BY_DOMAIN_ERROR: dict[type[domain.LoyaltyError], int] = {
    domain.NotFound: 404,
    domain.InvalidInput: 422,
    domain.InsufficientPoints: 409,
    domain.RewardUnavailable: 409,
    domain.MemberBlocked: 403,
    domain.ActionNotAllowed: 409,
    domain.RedemptionFailed: 502,
    domain.Gone: 410,
}


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict:
    error: dict = {"code": code, "message": message}
    if fields:
        error["fields"] = [{"field": k, "problem": v} for k, v in fields.items()]
    return {"error": error}


def status_for(exc: domain.LoyaltyError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_DOMAIN_ERROR:
            return STATUS_BY_DOMAIN_ERROR[cls]
    return 400


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(error_body(exc.code, exc.message, exc.fields)), exc.status, exc.headers

    @app.errorhandler(domain.LoyaltyError)
    def _domain_error(exc: domain.LoyaltyError):
        fields = getattr(exc, "fields", None)
        return jsonify(error_body(exc.code, str(exc), fields)), status_for(exc)

    @app.errorhandler(InvalidField)
    def _invalid_field(exc: InvalidField):
        return jsonify(error_body("invalid", f"'{exc.field}' must be {exc.problem}.", {exc.field: exc.problem})), \
            exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return jsonify(error_body(code, exc.description or exc.name)), exc.code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return jsonify(error_body("internal_error", "Something went wrong on our side; it has been logged. "
                                  "Please try again.")), 500
