"""Emails: each member message's switch and wording per language, a preview on a real member,
a test send, the owner's notices, and the log of every email with why it went or did not."""
from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import select

from app.admin.access import render_page, shop_session, staff_user_id
from app.admin.blueprint import bp
from app.errors import ApiError
from app.loyalty.emails import (COMMON_FIELDS, FIELDS, LOCALES, MailStatus, MessageKind, OwnerNoticeKind)
from app.loyalty.errors import InvalidInput
from app.loyalty.lifecycle import STAGES
from app.mail.envelope import mail_context_from_config
from app.mail.render import default_wording, render_member_email
from app.mail.transport import transport_from_config
from app.models import Member, Segment
from app.queries.member_emails import (email_json, email_log, find_shop_member, members_by_id, preview_facts,
                                       preview_recipients, shop_branding, status_counts)
from app.runtime import tessera
from app.services.mail_delivery import send_test_email
from app.services.member_emails import email_language, save_mail_preferences, save_message_settings
from app.services.program import current_program

KIND_LABELS = {
    MessageKind.REWARD_READY: ("Reward ready", "When a member's balance first reaches a reward's cost (once per crossing)."),
    MessageKind.CODE_ISSUED: ("Code issued", "The discount code (or store credit) a member just redeemed. Sent even "
                                             "without marketing consent: the member asked for it."),
    MessageKind.TIER_REACHED: ("Tier reached", "When a member moves up to a VIP tier."),
    MessageKind.TIER_LOSS_WARNING: ("Tier about to lapse", "Before a member's tier period ends, if they would not "
                                                           "keep the tier with what they have done so far."),
    MessageKind.POINTS_EXPIRING: ("Points expiring", "The expiry reminder, the number of days before set in "
                                                     "Program > Expiry."),
    MessageKind.BIRTHDAY: ("Birthday", "On the member's birthday."),
    MessageKind.REFERRAL_COMPLETED: ("Referral completed", "When a friend's first order earns the member points."),
    MessageKind.POINTS_EARNED: ("Points earned", "A daily digest of points earned. Off by default: most members "
                                                 "prefer fewer emails."),
    MessageKind.FEEDBACK_REQUEST: ("Feedback request", "A day after a paid order, once per order: asks the member "
                                                       "for feedback (NPS and CSAT) in the widget. Sent only while "
                                                       "Games & giving > Feedback is on."),
}
NOTICE_LABELS = {
    OwnerNoticeKind.WEEKLY_SUMMARY: "Weekly summary (Mondays): members, points issued and redeemed, revenue from "
                                    "members, liability",
    OwnerNoticeKind.ACCESS_LOST: "Tessera lost access to the store",
    OwnerNoticeKind.WEBHOOKS_FAILING: "Store events failing to process",
    OwnerNoticeKind.DATA_REQUEST: "A customer data request to answer",
    OwnerNoticeKind.IMPORT_FINISHED: "An import finished or failed",
}
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "es": "Español", "fr": "Français", "it": "Italiano",
                  "pl": "Polski", "ro": "Română"}


def _kind(value: str | None) -> MessageKind:
    try:
        return MessageKind(value)
    except ValueError:
        raise InvalidInput("Choose one of the messages listed.", {"kind": ", ".join(MessageKind)}) from None


@bp.get("/emails")
def emails():
    lang = request.args.get("lang") if request.args.get("lang") in LOCALES else "en"
    status = request.args.get("status") if request.args.get("status") in set(MailStatus) else None
    kind = request.args.get("kind") if request.args.get("kind") in {*MessageKind, *OwnerNoticeKind} else None
    before = request.args.get("before")
    with shop_session(read_only=True) as (session, shop):
        _, program = current_program(session, shop)
        rows = email_log(session, shop, status=status, kind=kind, before=int(before) if (before or "").isdigit() else None)
        members = members_by_id(session, shop, [r.member_id for r in rows if r.member_id])
        recipients = preview_recipients(session, shop)
        return render_page("admin/emails.html", shop, mail=program.mail, lang=lang, languages=LANGUAGE_NAMES,
                           kinds=KIND_LABELS, notices=NOTICE_LABELS, defaults={k: default_wording(k, lang)
                                                                               for k in MessageKind},
                           placeholders={k: (*COMMON_FIELDS, *FIELDS[k]) for k in MessageKind},
                           mail_configured=bool(tessera().config.get("MAIL_URL")), log=[
                               email_json(r, members.get(r.member_id)) for r in rows],
                           counts=status_counts(session, shop), status=status, kind=kind, statuses=list(MailStatus),
                           recipients=recipients, program=program, stages=STAGES,
                           segments=session.execute(select(Segment.id, Segment.name).where(
                               Segment.shop_id == shop.id).order_by(Segment.name)).all())


@bp.post("/emails/messages/<kind>")
def save_email_message(kind: str):
    message_kind, lang = _kind(kind), request.form.get("lang", "en")
    if lang not in LOCALES:
        raise InvalidInput("Choose one of the languages listed.", {"lang": ", ".join(LOCALES)})
    wording = default_wording(message_kind, lang)
    ids = request.form.getlist("segment_ids")
    if not all(i.isdigit() for i in ids):
        raise InvalidInput("Choose segments from the list.", {"segment_ids": "a list of segment ids"})
    with shop_session() as (session, shop):
        version = save_message_settings(
            session, shop, message_kind, locale=lang, enabled=request.form.get("enabled") == "true",
            subject=request.form.get("subject", ""), body=request.form.get("body", ""),
            default_subject=wording["subject"], default_body=wording["body"], staff_user_id=staff_user_id(),
            segment_ids=[int(i) for i in ids], lifecycle_stages=request.form.getlist("lifecycle_stages"),
            now=tessera().clock())
        return jsonify({"message": f"{KIND_LABELS[message_kind][0]} saved (program version {version.version}).",
                        "version": version.version})


@bp.post("/emails/settings")
def save_email_settings():
    form = request.form
    changes = {"owner_notices": {k.value: form.get(f"owner_notices.{k.value}") == "true" for k in OwnerNoticeKind}}
    for field in ("daily_cap", "tier_warning_days"):
        if form.get(field, "").strip():
            changes[field] = form[field].strip()
    with shop_session() as (session, shop):
        version = save_mail_preferences(session, shop, changes, staff_user_id=staff_user_id(), now=tessera().clock())
        return jsonify({"message": f"Email settings saved (program version {version.version}).",
                        "version": version.version})


def _member_for(session, shop) -> Member:
    member = find_shop_member(session, shop, request.form.get("member_id"))
    if member is None:
        raise InvalidInput("Choose a member to preview the message on.", {"member_id": "choose a member"})
    return member


@bp.post("/emails/preview")
def preview_email():
    t = tessera()
    kind = _kind(request.form.get("kind"))
    with shop_session(read_only=True) as (session, shop):
        _, program = current_program(session, shop)
        member = _member_for(session, shop)
        context = mail_context_from_config(t.config)
        rendered = render_member_email(kind, email_language(member), preview_facts(session, shop, program, member,
                                                                                   kind, t.clock()),
                                       shop_branding(shop, program), program.mail.message(kind),
                                       unsubscribe_url=context.unsubscribe_url(shop.id, member.id))
        return jsonify({"subject": rendered.subject, "html": rendered.html, "text": rendered.text,
                        "locale": rendered.locale, "member": member.display_name})


@bp.post("/emails/test")
def send_test():
    t = tessera()
    kind = _kind(request.form.get("kind"))
    to = (request.form.get("to") or "").strip()
    with shop_session() as (session, shop):
        member = _member_for(session, shop)
        to = to or shop.email or ""
        if "@" not in to or any(c in to for c in " ,;<>\r\n"):
            raise InvalidInput("Enter one email address to send the test to.", {"to": "one email address"})
        if not t.config.get("MAIL_URL"):
            raise ApiError(409, "mail_not_configured", "Email is not set up on this server: set MAIL_URL and "
                                                       "MAIL_FROM (see README, Configuration), then try again.")
        row = send_test_email(session, shop, member, kind, to, transport_from_config(t.config),
                              mail_context_from_config(t.config), now=t.clock())
        if row.status != MailStatus.SENT:
            raise ApiError(502, "mail_send_failed", f"The mail server did not take the test email: {row.error}")
        return jsonify({"message": f"Test email “{row.subject}” sent to {to}.", "email": email_json(row, member)})
