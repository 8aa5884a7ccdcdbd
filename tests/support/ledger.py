"""Reading the ledger back in tests."""
from sqlalchemy import select

from app.models import LedgerEntry, Member
from app.services.ledger import balance_of
from tests.support import CUSTOMER_ID, send_webhook


def deliver(client, t, topic, body, **kwargs):
    response = send_webhook(client, topic, body, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    t.queue.drain(t)
    return response


def member_of(t, shop, customer_id=CUSTOMER_ID):
    with t.db.scope(read_only=True) as session:
        return session.scalar(select(Member).where(Member.shop_id == shop.id, Member.customer_id == customer_id))


def balance(t, shop, customer_id=CUSTOMER_ID):
    member = member_of(t, shop, customer_id)
    if member is None:
        return None
    with t.db.scope(read_only=True) as session:
        return balance_of(session, member, t.clock())


def entries(t, shop, customer_id=CUSTOMER_ID):
    member = member_of(t, shop, customer_id)
    with t.db.scope(read_only=True) as session:
        return session.scalars(select(LedgerEntry).where(LedgerEntry.shop_id == shop.id,
                                                         LedgerEntry.member_id == member.id)
                               .order_by(LedgerEntry.id)).all()


def ledger(t, shop, customer_id=CUSTOMER_ID) -> list[tuple[str, int]]:
    return [(e.entry_key, e.points) for e in entries(t, shop, customer_id)]


def set_program(t, shop, settings: dict):
    from app.services.program import update_program
    with t.db.scope() as session:
        from app.models import Shop
        update_program(session, session.get(Shop, shop.id), settings, staff_user_id="test", now=t.clock())


def adjust(t, shop, points: int, customer_id=CUSTOMER_ID, reason="test balance"):
    """Give (or take) points by a staff adjustment, creating the member if needed."""
    from app.models import Shop
    from app.services.adjustments import adjust_points
    from app.services.members import get_or_create_member
    with t.db.scope() as session:
        shop_row = session.get(Shop, shop.id)
        member = get_or_create_member(session, shop_row, customer_id, now=t.clock())
        adjust_points(session, shop_row, member, points, reason, staff_user_id="test", now=t.clock())
