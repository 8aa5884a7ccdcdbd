"""Members, events and sending as the mail tests need them."""
from __future__ import annotations

from itertools import count

from sqlalchemy import select

from app.jobs.tasks import send_member_emails
from app.loyalty.events import EventKind, MemberEvent
from app.loyalty.ledger import Balance
from app.models import Member, MemberEmail, Shop
from app.services.member_emails import queue_emails_for_events
from app.services.members import get_or_create_member
from tests.support import CUSTOMER_ID

_ids = count(1)


def make_member(t, shop, *, customer_id: int = CUSTOMER_ID, email: str | None = "ana@example.com",
                first_name: str | None = "Ana", accepts_marketing: bool = True, locale: str | None = None,
                tier_key: str | None = None) -> Member:
    with t.db.scope() as session:
        member = get_or_create_member(session, session.get(Shop, shop.id), customer_id, now=t.clock())
        member.email, member.first_name, member.accepts_marketing = email, first_name, accepts_marketing
        member.locale, member.tier_key, member.account_state = locale, tier_key, "enabled"
        session.commit()
        return member


def event(shop, member, kind: str, spendable: int = 0, **data) -> MemberEvent:
    return MemberEvent(id=next(_ids), shop_id=shop.id, member_id=member.id, customer_id=member.customer_id,
                       kind=EventKind(kind), occurred_at=None, data=data, balance=Balance(spendable, 0, spendable))


def dispatch(t, *events: MemberEvent) -> None:
    """What dispatch_member_events does with this consumer: one transaction for the batch."""
    stamped = [MemberEvent(**{**e.__dict__, "occurred_at": e.occurred_at or t.clock()}) for e in events]
    with t.db.scope() as session:
        queue_emails_for_events(session, stamped, now=t.clock())
        session.commit()


def send(t, *, after_minutes: int = 6) -> int:
    """The mail job, once the gathering delay has passed."""
    t.clock.advance(minutes=after_minutes)
    return send_member_emails(t)


def outbox(t, shop, kind: str | None = None) -> list[MemberEmail]:
    with t.db.scope(read_only=True) as session:
        query = select(MemberEmail).where(MemberEmail.shop_id == shop.id)
        if kind:
            query = query.where(MemberEmail.kind == kind)
        return session.scalars(query.order_by(MemberEmail.id)).all()


def reload(t, member: Member) -> Member:
    with t.db.scope(read_only=True) as session:
        return session.get(Member, member.id)
