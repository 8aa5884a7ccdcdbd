"""Owner API keys: mint (shown once), list, revoke."""
from __future__ import annotations

from flask import jsonify, request

from app.admin.access import shop_session, staff_user_id
from app.api.blueprint import bp
from app.api.key_auth import require_owner_session
from app.runtime import tessera
from app.services.api_keys import api_key_json, api_key_label, api_keys_of, mint_api_key, revoke_api_key


@bp.post("/api-keys")
def create_api_key():
    """201 `{"id", "key", ...}`: the key is in this answer and nowhere else, ever."""
    require_owner_session()
    body = request.get_json(silent=True)
    label = api_key_label(body.get("label") if isinstance(body, dict) else None)
    with shop_session() as (session, shop):
        row, key = mint_api_key(session, shop, label=label, created_by=staff_user_id(), now=tessera().clock())
        return jsonify({**api_key_json(row), "key": key}), 201


@bp.get("/api-keys")
def list_api_keys():
    with shop_session(read_only=True) as (session, shop):
        return jsonify({"api_keys": [api_key_json(row) for row in api_keys_of(session, shop)]})


@bp.delete("/api-keys/<int:key_id>")
def delete_api_key(key_id: int):
    with shop_session() as (session, shop):
        revoke_api_key(session, shop, key_id, now=tessera().clock())
        return "", 204
