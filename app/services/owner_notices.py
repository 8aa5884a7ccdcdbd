"""Notices to the shop owner (the shop's email), through the same outbox, transport and log as
member emails: a weekly summary, and alerts that need the owner to act (access lost, webhooks
failing, a customer data request to answer, an import finished or failed). Each can be turned
off in the email settings (program.mail.owner_notices)."""
from __future__ import annotations

from datetime import datetime, timedelta
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.loyalty.emails import MailStatus, OwnerNoticeKind
from app.loyalty.program import Program
from app.mail.envelope import MailContext, Outcome, sender_address
from app.mail.render import compose, render_owner_notice
from app.models import ImportJob, MemberEmail, PrivacyRequest, Shop, WebhookEvent
from app.queries.analytics import period_figures
from app.services.member_emails import queue_email
from app.services.program import current_program

# Alerts about things older than this are not news by the time they would arrive.
FRESHNESS = timedelta(days=2)
WEEKLY_FIGURES = ("members", "points_issued", "points_redeemed", "revenue_members", "liability")


def raise_owner_notices(session: Session, shop: Shop, *, now: datetime) -> int:
    """The periodic look at what the owner should hear about (idempotent: keys name the cause)."""
    _, program = current_program(session, shop)
    wanted = program.mail.owner_notices
    found = []
    if wanted.weekly_summary and now.weekday() == 0:
        year, week, _ = now.isocalendar()
        found.append((OwnerNoticeKind.WEEKLY_SUMMARY, f"weekly_summary:{year}-W{week:02d}",
                      {"end": now.isoformat()}))
    if wanted.access_lost and shop.reauth_required_at is not None:
        found.append((OwnerNoticeKind.ACCESS_LOST, f"access_lost:{shop.reauth_required_at.isoformat()}",
                      {"reason": shop.reauth_reason or ""}))
    if wanted.webhooks_failing:
        found += _failing_webhooks(session, shop, now)
    if wanted.data_request:
        found += [(OwnerNoticeKind.DATA_REQUEST, f"data_request:{r.id}", {"request_id": r.id,
                   "customer_id": r.customer_id}) for r in session.scalars(select(PrivacyRequest).where(
                       PrivacyRequest.shop_id == shop.id, PrivacyRequest.kind == "data_request",
                       PrivacyRequest.created_at >= now - FRESHNESS))]
    if wanted.import_finished:
        found += _finished_imports(session, shop, now)
    queued = sum(queue_email(session, shop_id=shop.id, member_id=None, kind=kind, key=key, data=data, now=now,
                             delay=timedelta(0)) for kind, key, data in found)
    session.commit()
    return queued


def _failing_webhooks(session: Session, shop: Shop, now: datetime) -> list:
    failed = session.scalar(select(func.count()).select_from(WebhookEvent).where(
        WebhookEvent.shop_id == shop.id, WebhookEvent.status == "failed",
        WebhookEvent.received_at >= now - timedelta(days=1)))
    if not failed:
        return []
    return [(OwnerNoticeKind.WEBHOOKS_FAILING, f"webhooks_failing:{now.date().isoformat()}", {"failed": failed})]


def _finished_imports(session: Session, shop: Shop, now: datetime) -> list:
    jobs = session.scalars(select(ImportJob).where(
        ImportJob.shop_id == shop.id, ImportJob.status.in_(("done", "failed")),
        ImportJob.updated_at >= now - FRESHNESS)).all()
    return [(OwnerNoticeKind.IMPORT_FINISHED, f"import:{job.id}:{job.status}",
             {"import_id": job.id, "import_kind": job.kind, "status": job.status, "processed": job.processed,
              "error": job.last_error}) for job in jobs]


def raise_owner_notices_everywhere(db, *, now: datetime) -> int:
    with db.scope(read_only=True) as session:
        shop_ids = session.scalars(select(Shop.id).where(Shop.uninstalled_at.is_(None))).all()
    raised = 0
    for shop_id in shop_ids:
        with db.scope() as session:
            raised += raise_owner_notices(session, session.get(Shop, shop_id), now=now)
    return raised


# ---- writing them ----------------------------------------------------------------------------

def owner_notice_text(session: Session, shop: Shop, kind: OwnerNoticeKind, data: dict,
                      now: datetime) -> tuple[str, list[str]]:
    if kind == OwnerNoticeKind.WEEKLY_SUMMARY:
        end = datetime.fromisoformat(data["end"])
        figures = period_figures(session, shop, start=end - timedelta(days=7), end=end).figures
        return "Your loyalty program this week", ["Last 7 days of your program:"] + [
            f"{figures[key].label}: {figures[key].display}" for key in WEEKLY_FIGURES if key in figures]
    if kind == OwnerNoticeKind.ACCESS_LOST:
        return "Action needed: Tessera lost access to your store", [
            f"Shopify no longer accepts Tessera's access to {shop.domain}. {data.get('reason', '')}".strip(),
            "Open Tessera from your Shopify admin to reconnect. Webhooks and imports wait and resume afterwards."]
    if kind == OwnerNoticeKind.WEBHOOKS_FAILING:
        return "Action needed: some store events could not be processed", [
            f"{data['failed']} webhook deliveries failed in the last 24 hours, so some orders or customers may "
            "be missing points.", "See the Activity page in Tessera for the errors, and retry them there."]
    if kind == OwnerNoticeKind.DATA_REQUEST:
        return "Action needed: a customer asked for their data", [
            f"Customer {data.get('customer_id')} asked for the data your store holds about them. Tessera has "
            "prepared its part.", "Send it to the customer from the Data requests page in Tessera."]
    return _import_text(data)


def _import_text(data: dict) -> tuple[str, list[str]]:
    what = "customers" if data.get("import_kind") == "customers" else f"{data.get('import_kind')}"
    if data.get("status") == "failed":
        return f"Your {what} import failed", [f"The import stopped: {data.get('error') or 'unknown error'}.",
                                               "Open Import & export in Tessera to resume or start it again."]
    return f"Your {what} import finished", [f"The import finished: {data.get('processed', 0)} processed.",
                                            "The details are on the Import & export page in Tessera."]


def prepare_owner_notice(session: Session, shop: Shop, program: Program, row: MemberEmail,
                         context: MailContext, now: datetime) -> Outcome:
    kind = OwnerNoticeKind(row.kind)
    if not getattr(program.mail.owner_notices, kind.value):
        return Outcome(MailStatus.SUPPRESSED, "This notice is turned off in the email settings.")
    if not shop.email:
        return Outcome(MailStatus.SUPPRESSED, "The shop has no email address in Shopify.")
    subject, lines = owner_notice_text(session, shop, kind, row.data or {}, now)
    rendered = render_owner_notice(subject, lines, shop_name=shop.name or shop.domain,
                                   admin_url=f"https://{shop.domain}/admin/apps", accent_color=program.widget.accent_color)
    message = compose(rendered, sender=sender_address(context, program), to=shop.email, reply_to=None, sent_at=now,
                      unsubscribe_url=None)
    return Outcome(MailStatus.SENT, message=message, rendered=rendered, recipient=shop.email)
