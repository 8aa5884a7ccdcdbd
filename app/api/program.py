"""The program settings and the reward catalog."""
from __future__ import annotations

from flask import jsonify

from app.admin.access import shop_session, staff_user_id
from app.api.blueprint import bp, json_body
from app.merge import deep_merge
from app.models import ProgramVersion
from app.runtime import tessera
from app.services.program import current_program, update_program
from app.services.rewards import catalog, create_reward, delete_reward, find_reward, reward_json, update_reward

# Returned with the settings, ignored when they are sent back.
READ_ONLY_KEYS = ("version", "updated_at", "updated_by")


def program_json(version: ProgramVersion, settings: dict) -> dict:
    return {**settings, "version": version.version, "updated_at": version.created_at.isoformat(),
            "updated_by": version.created_by}


@bp.get("/program")
def get_program():
    """The settings (earning, actions, campaigns, tiers, referrals, expiry, clawback, widget)
    plus the version number."""
    with shop_session(read_only=True) as (session, shop):
        version, program = current_program(session, shop)
        return jsonify(program_json(version, program.as_settings()))


@bp.put("/program")
def put_program():
    """Replace the settings (sections left out get their defaults), saved as a new version.
    The body may be the settings themselves or `{"program": settings}`."""
    t = tessera()
    body = json_body()
    settings = body["program"] if set(body) == {"program"} and isinstance(body["program"], dict) else body
    settings = {k: v for k, v in settings.items() if k not in READ_ONLY_KEYS}
    with shop_session() as (session, shop):
        version = update_program(session, shop, settings, staff_user_id=staff_user_id(), now=t.clock(),
                                 queue=t.queue)
        return jsonify(program_json(version, version.settings))


@bp.patch("/program")
def patch_program():
    """Change only what the body names, e.g. `{"earning": {"points_per_unit": "2"}}`; saved as a
    new version."""
    t = tessera()
    changes = {k: v for k, v in json_body().items() if k not in READ_ONLY_KEYS}
    with shop_session() as (session, shop):
        _, program = current_program(session, shop)
        version = update_program(session, shop, deep_merge(program.as_settings(), changes),
                                 staff_user_id=staff_user_id(), now=t.clock(), queue=t.queue)
        return jsonify(program_json(version, version.settings))


@bp.get("/rewards")
def rewards():
    with shop_session(read_only=True) as (session, shop):
        return jsonify({"rewards": [reward_json(r, shop.currency)
                                    for r in catalog(session, shop, include_disabled=True)]})


@bp.post("/rewards")
def add_reward():
    body = json_body()
    with shop_session() as (session, shop):
        return jsonify(reward_json(create_reward(session, shop, body), shop.currency)), 201


@bp.get("/rewards/<int:reward_id>")
def get_reward(reward_id: int):
    with shop_session(read_only=True) as (session, shop):
        return jsonify(reward_json(find_reward(session, shop, reward_id), shop.currency))


@bp.put("/rewards/<int:reward_id>")
def change_reward(reward_id: int):
    body = json_body()
    with shop_session() as (session, shop):
        return jsonify(reward_json(update_reward(session, shop, reward_id, body), shop.currency))


@bp.delete("/rewards/<int:reward_id>")
def remove_reward(reward_id: int):
    t = tessera()
    with shop_session() as (session, shop):
        delete_reward(session, shop, reward_id, now=t.clock(), queue=t.queue)
        return "", 204
