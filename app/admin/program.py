"""Program settings: earning rules and actions, campaigns, rewards, tiers, referrals, expiry and
the widget, each section saved as a new program version; with a preview of the widget."""
from __future__ import annotations

from flask import jsonify, request

from app.admin.access import render_page, shop_session, staff_user_id
from app.admin.blueprint import bp
from app.admin.forms import (blank_fields, explain_blanks, local_input_value, program_settings,
                             reward_data, shop_zone)
from app.loyalty.errors import InvalidInput
from app.loyalty.program import NETWORKS
from app.loyalty.rewards import KIND_LABELS, KINDS as REWARD_KINDS
from app.queries.program_summary import program_summary
from app.runtime import tessera
from app.services.program import current_program, update_program
from app.services.rewards import catalog, create_reward, delete_reward, reward_json, update_reward

SECTION_LABELS = {"earning": "Earning rules", "actions": "Actions", "campaigns": "Campaigns", "tiers": "VIP tiers",
                  "referrals": "Referral program", "expiry": "Expiry and take-backs", "widget": "Widget",
                  "mail": "Email sender", "cashback": "Cashback", "membership": "Paid membership",
                  "households": "Households", "lifecycle": "Lifecycle and win-back"}


@bp.get("/program")
def program():
    t = tessera()
    with shop_session(read_only=True) as (session, shop):
        version, rules = current_program(session, shop)
        rewards = catalog(session, shop, include_disabled=True)
        zone = shop_zone(shop.iana_timezone)
        return render_page("admin/program.html", shop, version=version, settings=rules.as_settings(),
                           rewards=[(r, reward_json(r, shop.currency)) for r in rewards],
                           reward_kinds=[(k, KIND_LABELS[k]) for k in REWARD_KINDS],
                           networks=NETWORKS, preview=program_summary(session, shop, now=t.clock()),
                           zone=zone.key, local_time=lambda value: local_input_value(value, zone),
                           tier_choices=[(t.key, t.name) for t in rules.tiers.levels],
                           reward_choices=[(r.id, r.name) for r in rewards if r.kind != "points_slider"])


@bp.post("/program/<section>")
def save_program_section(section: str):
    t = tessera()
    with shop_session() as (session, shop):
        version, rules = current_program(session, shop)
        settings = program_settings(section, request.form, rules.as_settings(), iana_timezone=shop.iana_timezone)
        try:
            saved = update_program(session, shop, settings, staff_user_id=staff_user_id(), now=t.clock(),
                                   queue=t.queue)
        except InvalidInput as exc:
            raise explain_blanks(exc, blank_fields(request.form)) from None
        return jsonify({"message": f"{SECTION_LABELS.get(section, 'Program')} saved (version {saved.version}).",
                        "version": saved.version})


@bp.post("/program/rewards")
def add_reward():
    with shop_session() as (session, shop):
        reward = _with_blanks_explained(lambda: create_reward(session, shop, reward_data(request.form)))
        return jsonify({"message": f"Reward “{reward.name}” added.", "reward": reward_json(reward, shop.currency)})


@bp.post("/program/rewards/<int:reward_id>")
def change_reward(reward_id: int):
    with shop_session() as (session, shop):
        reward = _with_blanks_explained(lambda: update_reward(session, shop, reward_id, reward_data(request.form)))
        return jsonify({"message": f"Reward “{reward.name}” saved.", "reward": reward_json(reward, shop.currency)})


@bp.post("/program/rewards/<int:reward_id>/delete")
def remove_reward(reward_id: int):
    t = tessera()
    with shop_session() as (session, shop):
        delete_reward(session, shop, reward_id, now=t.clock(), queue=t.queue)
        return jsonify({"message": "Reward deleted. Its unused codes are being deactivated and their points "
                                   "returned."})


def _with_blanks_explained(save):
    try:
        return save()
    except InvalidInput as exc:
        raise explain_blanks(exc, blank_fields(request.form)) from None

