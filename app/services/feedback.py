"""Answering the after-order question: one answer per paid order of the member's own, with the
owner's points for it in the same transaction (the ledger key is the order's, so it pays once)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.loyalty.errors import ActionNotAllowed, InvalidInput, NotFound
from app.loyalty.feedback import Answer, feedback_reason, read_answer
from app.loyalty.ledger import EntryKind, feedback_reward_key
from app.loyalty.settlement import order_label
from app.loyalty.wording import reason_fields
from app.models import FeedbackAnswer, Member, Order, Shop
from app.parsing import is_stored_id
from app.services.ledger import NewEntry, lock_member, post_entry
from app.services.members import find_member
from app.services.program import current_program


class AlreadyAnswered(ActionNotAllowed):
    """A second answer for the same order (409)."""


def members_paid_order(session: Session, shop: Shop, member: Member | None, order_id) -> Order:
    """The member's own paid order, or NotFound (also for anyone else's: nothing is revealed)."""
    known = str(order_id) if isinstance(order_id, int) and not isinstance(order_id, bool) else order_id
    if not isinstance(known, str) or not is_stored_id(known) or member is None:
        raise NotFound("No order of yours with this number; check the order in your account.")
    order = session.scalar(select(Order).where(Order.shop_id == shop.id, Order.order_id == int(known),
                                               Order.member_id == member.id))
    if order is None or order.paid_at is None or order.is_test:
        raise NotFound("No paid order of yours with this number; check the order in your account.")
    return order


def answer_feedback(session: Session, shop: Shop, customer_id: int, body: dict, *, now: datetime) -> FeedbackAnswer:
    """Record the answer and its points; commits."""
    version, program = current_program(session, shop)
    if not program.feedback.enabled:
        raise ActionNotAllowed("This store is not asking for feedback right now.")
    answer = read_answer(program.feedback, body.get("nps"), body.get("csat"), body.get("comment"))
    check_order_id(body.get("order_id"))
    member = find_member(session, shop, customer_id)
    order = members_paid_order(session, shop, member, body.get("order_id"))
    lock_member(session, member)
    row = _save(session, shop, member, order, answer, program.feedback.points, now)
    if member.blocked_at is None:
        post_entry(session, member, NewEntry(
            key=feedback_reward_key(order.order_id), kind=EntryKind.EARN, points=program.feedback.points,
            cause_type="feedback", cause_id=str(order.order_id), program_version_id=version.id,
            **reason_fields(feedback_reason(order_label(order.name, order.order_id), program.feedback.points))),
            now=now)
    session.commit()
    return row


def _save(session: Session, shop: Shop, member: Member, order: Order, answer: Answer, points: int,
          now: datetime) -> FeedbackAnswer:
    row = FeedbackAnswer(shop_id=shop.id, member_id=member.id, order_id=order.order_id, nps=answer.nps,
                         csat=answer.csat, comment=answer.comment, points=points if member.blocked_at is None else 0,
                         created_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise AlreadyAnswered("You already answered for this order; thank you!") from None
    return row


def check_order_id(value) -> None:
    if value is None:
        raise InvalidInput("Say which order the answer is about.", {"order_id": "the order's id"})
