"""Sending the outbox (`member_emails`): claim what is due, apply consent, unsubscribe and the
daily cap, render in the member's language, send over SMTP, and record what happened, with
exponential backoff for failures the server calls temporary.

SMTP happens outside any write transaction: rows are claimed (leased) and committed first, and
the outcome is written in a short transaction afterwards."""
from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.loyalty.emails import OUTSIDE_AUDIENCE, SELF_TRIGGERED, MailStatus, MessageKind, choose_within_cap, \
    retry_at, suppression_reason
from app.loyalty.segments import in_audience
from app.loyalty.program import Program
from app.mail.envelope import MailContext, Outcome, sender_address
from app.mail.render import RenderedEmail, compose, render_member_email
from app.mail.transport import PermanentMailError, TemporaryMailError
from app.models import Member, MemberEmail, Shop
from app.queries.member_emails import member_email_facts, preview_facts, shop_branding
from app.services.member_emails import email_language
from app.services.owner_notices import prepare_owner_notice
from app.services.program import current_program

# A claimed row is left alone by other workers this long (a crashed sender's rows come back).
LEASE = timedelta(minutes=10)
BATCH = 50


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    suppressed: int = 0
    errors: list[str] = field(default_factory=list)


def send_due_emails(db, transport: Transport, context: MailContext, *, now: datetime,
                    limit: int = BATCH) -> DeliveryReport:
    report = DeliveryReport()
    groups: dict[tuple[int, int | None], list[int]] = defaultdict(list)
    for row_id, shop_id, member_id in claim_due_emails(db, now=now, limit=limit):
        groups[(shop_id, member_id)].append(row_id)
    for (shop_id, member_id), row_ids in groups.items():
        outcomes = _prepare(db, shop_id, member_id, row_ids, context, now)
        for row_id, outcome in outcomes.items():
            if outcome.status == MailStatus.SENT:
                _send(transport, outcome)
        _record(db, outcomes, now, report)
    return report


def claim_due_emails(db, *, now: datetime, limit: int) -> list[tuple[int, int, int | None]]:
    """Lease due rows to this sender (SKIP LOCKED on PostgreSQL: two senders take different rows)."""
    with db.scope(read_only=True) as session:  # the usual answer, without taking SQLite's write lock
        if session.scalar(select(MemberEmail.id).where(MemberEmail.status == MailStatus.QUEUED,
                                                       MemberEmail.next_attempt_at <= now).limit(1)) is None:
            return []
    with db.scope() as session:
        query = (select(MemberEmail).where(MemberEmail.status == MailStatus.QUEUED,
                                           MemberEmail.next_attempt_at <= now)
                 .order_by(MemberEmail.next_attempt_at, MemberEmail.id).limit(limit))
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = session.scalars(query).all()
        for row in rows:
            row.next_attempt_at = now + LEASE
        session.commit()
        return [(r.id, r.shop_id, r.member_id) for r in rows]


def _prepare(db, shop_id: int, member_id: int | None, row_ids: list[int], context: MailContext,
             now: datetime) -> dict[int, Outcome]:
    with db.scope(read_only=True) as session:
        shop = session.get(Shop, shop_id)
        rows = session.scalars(select(MemberEmail).where(MemberEmail.id.in_(row_ids))
                               .order_by(MemberEmail.id)).all()
        if shop is None or not shop.is_installed:
            return {r.id: Outcome(MailStatus.SUPPRESSED, "Tessera is not installed on the shop.") for r in rows}
        _, program = current_program(session, shop)
        if member_id is None:
            return {r.id: prepare_owner_notice(session, shop, program, r, context, now) for r in rows}
        member = session.get(Member, member_id)
        if member is None:  # erased since the claim: its rows went with it
            return {}
        return _prepare_for_member(session, shop, program, member, rows, context, now)


def _prepare_for_member(session: Session, shop: Shop, program: Program, member: Member, rows: list[MemberEmail],
                        context: MailContext, now: datetime) -> dict[int, Outcome]:
    outcomes, candidates = {}, []
    audience = _member_audience(session, shop, program, member, rows, now)
    for row in rows:
        kind = MessageKind(row.kind)
        settings = program.mail.messages[kind]
        reason = "This message is turned off in the email settings." \
            if not settings.enabled and kind not in SELF_TRIGGERED else \
            OUTSIDE_AUDIENCE if kind not in SELF_TRIGGERED and not in_audience(
                audience, segment_ids=settings.segment_ids, lifecycle_stages=settings.lifecycle_stages) else \
            suppression_reason(kind, accepts_marketing=member.accepts_marketing,
                               unsubscribed=member.email_unsubscribed_at is not None,
                               has_email=bool(member.email) and member.redacted_at is None)
        if reason:
            outcomes[row.id] = Outcome(MailStatus.SUPPRESSED, reason)
        else:
            candidates.append(row)
    send, drop = choose_within_cap([MessageKind(r.kind) for r in candidates],
                                   sent_today(session, shop.id, member.id, now), program.mail.daily_cap)
    for position in drop:
        outcomes[candidates[position].id] = Outcome(
            MailStatus.SUPPRESSED, f"Daily limit of {program.mail.daily_cap} email(s) per member reached; "
                                   "a more important message went instead.")
    for position in send:
        row = candidates[position]
        outcomes[row.id] = _render_for_member(session, shop, program, member, row, context, now)
    return outcomes


def _member_audience(session: Session, shop: Shop, program: Program, member: Member, rows: list[MemberEmail],
                     now: datetime):
    """The member's stage and segments, read only when one of their due messages has an audience."""
    from app.queries.segments import audience_segment_ids, member_audiences
    aimed = [program.mail.messages[MessageKind(r.kind)] for r in rows]
    aimed = [m for m in aimed if m.has_audience]
    if not aimed:
        return None
    return member_audiences(session, shop, [member.id], audience_segment_ids(*aimed), now=now)[member.id]


def sent_today(session: Session, shop_id: int, member_id: int, now: datetime) -> int:
    """Emails counted by the daily cap: sent since midnight UTC, codes the member asked for aside."""
    midnight = datetime.combine(now.date(), time(0), tzinfo=timezone.utc)
    return session.scalar(select(func.count()).select_from(MemberEmail).where(
        MemberEmail.shop_id == shop_id, MemberEmail.member_id == member_id, MemberEmail.sent_at >= midnight,
        MemberEmail.status == MailStatus.SENT, MemberEmail.kind.not_in([str(k) for k in SELF_TRIGGERED]),
        MemberEmail.message_key.not_like("test:%")))


def _render_for_member(session: Session, shop: Shop, program: Program, member: Member, row: MemberEmail,
                       context: MailContext, now: datetime) -> Outcome:
    kind = MessageKind(row.kind)
    try:
        facts = member_email_facts(session, shop, program, member, kind, row.data or {}, now)
    except LookupError as exc:
        return Outcome(MailStatus.FAILED, f"Cannot write this email: {exc}.")
    message, rendered = member_message(shop, program, member, kind, facts, context, now)
    return Outcome(MailStatus.SENT, message=message, rendered=rendered, recipient=member.email)


def member_message(shop: Shop, program: Program, member: Member, kind: MessageKind, facts: dict,
                   context: MailContext, now: datetime, *, to: str | None = None) -> tuple[EmailMessage, RenderedEmail]:
    unsubscribe_url = context.unsubscribe_url(shop.id, member.id)
    rendered = render_member_email(kind, email_language(member), facts, shop_branding(shop, program),
                                   program.mail.message(kind), unsubscribe_url=unsubscribe_url)
    return compose(rendered, sender=sender_address(context, program), to=to or member.email,
                   reply_to=program.mail.reply_to or shop.email, sent_at=now,
                   unsubscribe_url=unsubscribe_url), rendered


def _send(transport: Transport, outcome: Outcome) -> None:
    try:
        transport.send(outcome.message)
    except PermanentMailError as exc:
        outcome.status, outcome.error = MailStatus.FAILED, str(exc)
    except TemporaryMailError as exc:
        outcome.status, outcome.error = MailStatus.QUEUED, str(exc)


def _record(db, outcomes: dict[int, Outcome], now: datetime, report: DeliveryReport) -> None:
    with db.scope() as session:
        for row in session.scalars(select(MemberEmail).where(MemberEmail.id.in_(list(outcomes)))):
            _apply(row, outcomes[row.id], now, report)
        session.commit()


def _apply(row: MemberEmail, outcome: Outcome, now: datetime, report: DeliveryReport) -> None:
    row.error = outcome.error
    if outcome.rendered is not None:
        row.subject, row.locale, row.recipient = outcome.rendered.subject, outcome.rendered.locale, outcome.recipient
    if outcome.status == MailStatus.SUPPRESSED:
        row.status, row.next_attempt_at = MailStatus.SUPPRESSED, None
        report.suppressed += 1
        return
    row.attempts += 1
    if outcome.status == MailStatus.SENT:
        row.status, row.sent_at, row.next_attempt_at = MailStatus.SENT, now, None
        row.message_id = outcome.message["Message-ID"]
        report.sent += 1
        return
    row.next_attempt_at = retry_at(row.attempts, now) if outcome.status == MailStatus.QUEUED else None
    row.status = MailStatus.QUEUED if row.next_attempt_at else MailStatus.FAILED
    report.retrying += row.status == MailStatus.QUEUED
    report.failed += row.status == MailStatus.FAILED
    report.errors.append(f"email {row.id}: {outcome.error}")


def send_test_email(session: Session, shop: Shop, member: Member, kind: MessageKind, to: str,
                    transport: Transport | None, context: MailContext, *, now: datetime) -> MemberEmail:
    """The owner's test send: this message as `member` would get it, to an address the owner
    chose; logged like any other email (a test is never capped or suppressed)."""
    _, program = current_program(session, shop)
    message, rendered = member_message(shop, program, member, kind,
                                       preview_facts(session, shop, program, member, kind, now), context, now, to=to)
    row = MemberEmail(shop_id=shop.id, member_id=member.id, kind=str(kind), message_key=f"test:{make_test_key(now)}",
                      status=MailStatus.QUEUED, attempts=0, data={"test": True}, created_at=now, updated_at=now)
    outcome = Outcome(MailStatus.SENT, message=message, rendered=rendered, recipient=to)
    if transport is None:
        outcome = Outcome(MailStatus.FAILED, "Mail is not set up: set MAIL_URL and MAIL_FROM.", rendered=rendered,
                          recipient=to)
    else:
        _send(transport, outcome)
    if outcome.status == MailStatus.QUEUED:  # no retries for a test: the owner sees the error now
        outcome.status = MailStatus.FAILED
    _apply(row, outcome, now, DeliveryReport())
    session.add(row)
    session.commit()
    return row


def make_test_key(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S}:{secrets.token_hex(6)}"
