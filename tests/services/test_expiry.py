"""Points expiry (set-based sweep) and reminders."""

import pytest
from sqlalchemy import select

from app.models import MemberNotification
from app.services.expiry import expire_points_everywhere
from tests.support import ORDER_ID, payload
from tests.support.ledger import balance, deliver, entries, member_of, set_program

pytestmark = pytest.mark.both_backends


def order(n: int) -> dict:
    body = payload("orders/paid")
    body.update(id=ORDER_ID + n, name=f"#{n}")
    return body


def sweep(t):
    return expire_points_everywhere(t.db, now=t.clock())


def notifications(t):
    with t.db.scope(read_only=True) as session:
        return session.scalars(select(MemberNotification).order_by(MemberNotification.id)).all()


def test_no_expiry_by_default(client, t, shop):
    deliver(client, t, "orders/paid", order(1))
    t.clock.advance(days=3000)
    assert sweep(t)[0].points_expired == 0 and balance(t, shop).balance == 110


def test_points_expire_n_months_after_earning_oldest_first(client, t, shop):
    from app.services.adjustments import adjust_points
    set_program(t, shop, {"expiry": {"policy": "after_earning", "months": 12, "reminder_days": 0}})
    deliver(client, t, "orders/paid", order(1))  # 110 on 2025-02-14
    t.clock.advance(days=200)
    deliver(client, t, "orders/paid", order(2))  # 110 more
    with t.db.scope() as session:
        adjust_points(session, shop, member_of(t, shop), -30, "spent", staff_user_id="1", now=t.clock())
    t.clock.advance(days=170)  # the first lot is 370 days old: 110 - 30 spent = 80 expire
    [report] = sweep(t)
    assert (report.points_expired, report.members_expired) == (80, 1)
    assert balance(t, shop).balance == 110
    assert entries(t, shop)[-1].kind == "expire" and "80 points expired" in entries(t, shop)[-1].reason
    assert sweep(t)[0].points_expired == 0  # running again changes nothing


def test_inactivity_expiry_takes_the_whole_balance(client, t, shop):
    set_program(t, shop, {"expiry": {"policy": "inactivity", "months": 6, "reminder_days": 0}})
    deliver(client, t, "orders/paid", order(1))
    t.clock.advance(days=150)
    assert sweep(t)[0].points_expired == 0
    t.clock.advance(days=40)
    assert sweep(t)[0].points_expired == 110 and balance(t, shop).balance == 0


def test_reminder_is_raised_once_before_points_expire(client, t, shop):
    set_program(t, shop, {"expiry": {"policy": "after_earning", "months": 12, "reminder_days": 30}})
    deliver(client, t, "orders/paid", order(1))
    t.clock.advance(days=340)
    sweep(t)
    sweep(t)
    [note] = notifications(t)
    assert (note.kind, note.points) == ("points_expiring", 110)
    assert note.due_at == entries(t, shop)[0].expires_at


def test_inactivity_reminder_names_the_expiry_date(client, t, shop):
    set_program(t, shop, {"expiry": {"policy": "inactivity", "months": 6, "reminder_days": 14}})
    deliver(client, t, "orders/paid", order(1))
    earned_at = entries(t, shop)[0].created_at
    t.clock.advance(days=175)
    sweep(t)
    [note] = notifications(t)
    assert note.points == 110 and note.due_at == earned_at.replace(month=8)
