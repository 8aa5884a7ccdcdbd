"""Games & giving: the owner's settings for badges, challenges, the leaderboard, feedback and
charity (each saved as a new program version, validated like the API's), with their figures:
NPS and CSAT per month, comments, donations owed per cause, badges and challenges earned."""
from __future__ import annotations

import json
from datetime import timedelta

from flask import jsonify, request
from sqlalchemy import func, select

from app.admin.access import render_page, shop_session, staff_user_id
from app.admin.blueprint import bp
from app.loyalty.errors import InvalidInput
from app.models import ChallengeCompletion, MemberBadge
from app.queries.feedback_report import donation_totals, feedback_comments, feedback_report
from app.queries.leaderboard import leaderboard
from app.runtime import tessera
from app.services.program import current_program, update_program
from app.services.segments import all_segments, segment_member_ids

MODULES = {"badges": "Badges", "challenges": "Challenges", "leaderboard": "Leaderboard", "feedback": "Feedback",
           "charity": "Charity"}


@bp.get("/games")
def games():
    now = tessera().clock()
    since = now - timedelta(days=366)
    segment_id = request.args.get("segment_id") or ""
    with shop_session(read_only=True) as (session, shop):
        _, rules = current_program(session, shop)
        settings = rules.as_settings()
        # The feedback figures can be narrowed to one segment (?segment_id=, as the API's report).
        members = segment_member_ids(session, shop, segment_id, now)
        return render_page(
            "admin/games.html", shop, modules=MODULES,
            settings_json={k: json.dumps(settings[k], indent=2) for k in MODULES},
            enabled={k: settings[k].get("enabled") for k in MODULES},
            feedback=feedback_report(session, shop, since=since, members=members),
            comments=feedback_comments(session, shop, since=since, members=members, limit=50),
            segments=[(str(s.id), s.name) for s in all_segments(session, shop)], segment_id=segment_id,
            donations=donation_totals(session, shop, since=since),
            board=leaderboard(session, shop, None, now=now),
            badge_counts=_counts(session, shop.id, MemberBadge.badge_key, MemberBadge),
            challenge_counts=_counts(session, shop.id, ChallengeCompletion.challenge_key, ChallengeCompletion))


def _counts(session, shop_id: int, column, model) -> list[tuple[str, int]]:
    return session.execute(select(column, func.count()).where(model.shop_id == shop_id).group_by(column)
                           .order_by(func.count().desc())).tuples().all()


@bp.post("/games/settings/<module>")
def save_games_settings(module: str):
    if module not in MODULES:
        raise InvalidInput("Unknown module.", {"module": ", ".join(MODULES)})
    t = tessera()
    try:
        section = json.loads(request.form.get("settings") or "")
    except ValueError:
        raise InvalidInput("The settings are not valid JSON.", {"settings": "a JSON object"}) from None
    with shop_session() as (session, shop):
        _, rules = current_program(session, shop)
        settings = {**rules.as_settings(), module: section}
        try:
            saved = update_program(session, shop, settings, staff_user_id=staff_user_id(), now=t.clock(),
                                   queue=t.queue)
        except InvalidInput as exc:
            # The form has one field: each problem is shown there with its path in the section.
            problems = "; ".join(f"{k.removeprefix(module + '.')}: {v}" for k, v in exc.fields.items())
            raise InvalidInput(str(exc), {"settings": problems}) from None
        return jsonify({"message": f"{MODULES[module]} saved (version {saved.version}).", "version": saved.version})
