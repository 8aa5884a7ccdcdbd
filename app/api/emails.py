"""The email log for owners' scripts: `GET /api/v1/emails?status=failed&kind=reward_ready&before=ID`."""
from __future__ import annotations

from flask import jsonify, request

from app.admin.access import shop_session
from app.api.blueprint import bp
from app.errors import ApiError
from app.loyalty.emails import MailStatus, MessageKind, OwnerNoticeKind
from app.queries.member_emails import email_json, email_log, members_by_id


def _filter(name: str, allowed: set[str]) -> str | None:
    value = request.args.get(name)
    if value and value not in allowed:
        raise ApiError(422, "invalid", f"'{name}' must be one of {', '.join(sorted(allowed))}.",
                       {name: f"one of {', '.join(sorted(allowed))}"})
    return value or None


@bp.get("/emails")
def list_emails():
    status = _filter("status", {s.value for s in MailStatus})
    kind = _filter("kind", {k.value for k in (*MessageKind, *OwnerNoticeKind)})
    before = request.args.get("before")
    if before and not before.isdigit():
        raise ApiError(422, "invalid", "'before' must be an email id from an earlier page.", {"before": "an id"})
    with shop_session(read_only=True) as (session, shop):
        rows = email_log(session, shop, status=status, kind=kind, before=int(before) if before else None)
        members = members_by_id(session, shop, [r.member_id for r in rows if r.member_id])
        return jsonify({"emails": [email_json(r, members.get(r.member_id)) for r in rows]})
