"""The admin JSON API (`/api/v1/...`), authenticated with session tokens or owner API keys.

Used by the admin pages' scripts and by owners' scripts: `Authorization: Bearer <session
token>` on every request, JSON in and out, errors as `{"error": {"code", "message", "fields"}}`
(401 without a valid token, 404 for anything outside the signed-in shop, 422 with the field and
the problem for an invalid body). No CSRF token is needed here: browsers never attach a Bearer
header by themselves, so another site cannot make these requests in the owner's name.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from app.admin.access import require_session_token
from app.api.key_auth import sign_in_with_api_key
from app.errors import ApiError

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def _authenticate():
    if not sign_in_with_api_key():
        require_session_token()


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(422, "invalid", "Send a JSON object body (Content-Type: application/json).",
                       {"body": "must be a JSON object"})
    return body
