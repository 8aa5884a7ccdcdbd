"""Reads for emails: the facts a message is rendered from (its row's data, the member's live
balance, their code ...), the preview's facts for a real member, and the owner's log.
Read-only: no commits."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.loyalty.emails import MailStatus, MessageKind
from app.loyalty.program import Program
from app.mail.render import Branding
from app.models import Member, MemberEmail, Redemption, Reward, Shop
from app.services.ledger import balance_of

LOG_PAGE = 50
PREVIEW_CODE = "SAMPLE-CODE"


def shop_branding(shop: Shop, program: Program) -> Branding:
    widget = program.widget
    return Branding(shop_name=shop.name or shop.domain.removesuffix(".myshopify.com"),
                    program_name=widget.program_name, points_name=widget.points_name,
                    accent_color=widget.accent_color, rewards_url=f"https://{shop.domain}/")


def feedback_url(shop: Shop) -> str:
    """The storefront page with the widget opened at its feedback form (theme_extension/assets/tessera.js)."""
    return f"https://{shop.domain}/?tessera=feedback"


def member_email_facts(session: Session, shop: Shop, program: Program, member: Member, kind: MessageKind,
                       data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What the message's placeholders are filled with; raises LookupError when its cause is gone
    (e.g. the redemption of a code-issued message)."""
    facts = {"first_name": member.first_name or "", "balance": balance_of(session, member, now).balance}
    if kind == MessageKind.CODE_ISSUED:
        facts.update(_code_facts(session, shop, data["redemption_id"]))
    elif kind in (MessageKind.TIER_REACHED, MessageKind.TIER_LOSS_WARNING):
        tier = program.tier(data.get("tier_key"))
        facts["tier_name"] = tier.name if tier else data.get("tier_key", "")
        facts["period_ends_on"] = _date(data.get("period_ends_on"))
    elif kind == MessageKind.FEEDBACK_REQUEST:
        facts.update(order_name=data.get("order_name", ""), points=program.feedback.points,
                     feedback_url=feedback_url(shop))
    else:
        facts.update({k: _date(v) if k.endswith("_on") else v for k, v in data.items() if k != "event_ids"})
    return facts


def _code_facts(session: Session, shop: Shop, redemption_id: int) -> dict[str, Any]:
    redemption = session.scalar(select(Redemption).where(Redemption.shop_id == shop.id,
                                                         Redemption.id == int(redemption_id)))
    if redemption is None:
        raise LookupError(f"redemption {redemption_id} no longer exists")
    reward = session.get(Reward, redemption.reward_id) if redemption.reward_id else None
    return {"reward_name": reward.name if reward else (redemption.terms or {}).get("title", ""),
            "code": redemption.code or "", "code_expires_on": redemption.expires_at,
            "store_credit": redemption.code is None}


def _date(value: Any) -> Any:
    return date.fromisoformat(value) if isinstance(value, str) else value


def sample_data(session: Session, shop: Shop, program: Program, member: Member, kind: MessageKind,
                now: datetime) -> dict[str, Any]:
    """A preview on a real member: their own code, tier and a real reward where they have one,
    example values where they do not."""
    reward = session.scalar(select(Reward).where(Reward.shop_id == shop.id, Reward.deleted_at.is_(None),
                                                 Reward.enabled.is_(True)).order_by(Reward.points_cost).limit(1))
    tier = program.tier(member.tier_key) or (program.tiers.levels[-1] if program.tiers.levels else None)
    in_two_weeks = (now + timedelta(days=14)).date().isoformat()
    return {
        MessageKind.REWARD_READY: {"reward_name": reward.name if reward else "5 off",
                                   "reward_points": reward.points_cost if reward else 500},
        MessageKind.TIER_REACHED: {"tier_key": tier.key if tier else "gold"},
        MessageKind.TIER_LOSS_WARNING: {"tier_key": tier.key if tier else "gold",
                                        "period_ends_on": in_two_weeks},
        MessageKind.POINTS_EXPIRING: {"points": 150, "expires_on": in_two_weeks},
        MessageKind.BIRTHDAY: {},
        MessageKind.REFERRAL_COMPLETED: {"points": program.referrals.referrer_points},
        MessageKind.POINTS_EARNED: {"points": 42},
        MessageKind.FEEDBACK_REQUEST: {"order_name": "#1001"},
    }.get(kind, {})


def preview_facts(session: Session, shop: Shop, program: Program, member: Member, kind: MessageKind,
                  now: datetime) -> dict[str, Any]:
    if kind == MessageKind.CODE_ISSUED:
        latest = session.scalar(select(Redemption.id).where(
            Redemption.shop_id == shop.id, Redemption.member_id == member.id, Redemption.code.is_not(None))
            .order_by(Redemption.id.desc()).limit(1))
        if latest is not None:
            return member_email_facts(session, shop, program, member, kind, {"redemption_id": latest}, now)
        facts = {"first_name": member.first_name or "", "balance": balance_of(session, member, now).balance}
        return {**facts, "reward_name": "5 off", "code": PREVIEW_CODE, "code_expires_on": None}
    return member_email_facts(session, shop, program, member, kind,
                              sample_data(session, shop, program, member, kind, now), now)


def find_shop_member(session: Session, shop: Shop, member_id: Any) -> Member | None:
    if not str(member_id or "").isdigit():
        return None
    return session.scalar(select(Member).where(Member.shop_id == shop.id, Member.id == int(member_id)))


def email_log(session: Session, shop: Shop, *, status: str | None = None, kind: str | None = None,
              before: int | None = None, limit: int = LOG_PAGE) -> list[MemberEmail]:
    query = select(MemberEmail).where(MemberEmail.shop_id == shop.id)
    if status:
        query = query.where(MemberEmail.status == status)
    if kind:
        query = query.where(MemberEmail.kind == kind)
    if before:
        query = query.where(MemberEmail.id < before)
    return session.scalars(query.order_by(MemberEmail.id.desc()).limit(limit)).all()


def status_counts(session: Session, shop: Shop) -> dict[str, int]:
    rows = session.execute(select(MemberEmail.status, func.count()).where(MemberEmail.shop_id == shop.id)
                           .group_by(MemberEmail.status)).all()
    return {status.value: 0 for status in MailStatus} | {s: int(n) for s, n in rows}


def email_json(row: MemberEmail, member: Member | None) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "status": row.status, "error": row.error, "attempts": row.attempts,
            "member_id": row.member_id, "member": member.display_name if member else None,
            "customer_id": member.customer_id if member else None,
            "recipient": row.recipient, "subject": row.subject, "locale": row.locale,
            "message_id": row.message_id, "created_at": row.created_at.isoformat(),
            "sent_at": row.sent_at.isoformat() if row.sent_at else None,
            "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at and
            row.status == MailStatus.QUEUED else None}


def preview_recipients(session: Session, shop: Shop, limit: int = 50) -> list[Member]:
    """Members a preview can be shown on: the newest with an email address."""
    return session.scalars(select(Member).where(Member.shop_id == shop.id, Member.email.is_not(None),
                                                Member.redacted_at.is_(None))
                           .order_by(Member.id.desc()).limit(limit)).all()


def members_by_id(session: Session, shop: Shop, member_ids: list[int]) -> dict[int, Member]:
    return {m.id: m for m in session.scalars(select(Member).where(Member.shop_id == shop.id,
                                                                  Member.id.in_(member_ids)))}


def member_email_export(session: Session, shop_id: int, member_id: int) -> dict[str, Any]:
    """For a customer's data request: the emails Tessera sent (or meant to send) them."""
    member = session.get(Member, member_id)
    rows = session.scalars(select(MemberEmail).where(MemberEmail.shop_id == shop_id, MemberEmail.member_id == member_id)
                           .order_by(MemberEmail.id)).all()
    return {"email_language": member.locale if member else None,
            "unsubscribed_from_emails_at": member.email_unsubscribed_at.isoformat()
            if member and member.email_unsubscribed_at else None,
            "emails": [{"created_at": r.created_at.isoformat(), "kind": r.kind, "status": r.status,
                        "to": r.recipient, "subject": r.subject,
                        "sent_at": r.sent_at.isoformat() if r.sent_at else None} for r in rows]}
