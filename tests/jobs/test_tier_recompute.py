"""The set-based tier recompute ends where the per-member path (services.tiers) ends, on
every metric and period, for members in every state."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import LedgerEntry, Member, Order, Shop
from app.services.maintenance import maintain_members
from app.services.program import current_program
from app.services.tier_recompute import recompute_tiers, recompute_tiers_for_shop
from app.services.tiers import refresh_member_tier
from tests.support.ledger import set_program

pytestmark = pytest.mark.both_backends

LEVELS = [{"key": "bronze", "name": "Bronze", "threshold": 0},
          {"key": "silver", "name": "Silver", "threshold": "250.5", "entry_points": 200},
          {"key": "gold", "name": "Gold", "threshold": 900, "entry_points": 500}]


def tiers(metric: str, period: str) -> dict:
    return {"enabled": True, "metric": metric, "period": period, "grace_days": 10, "levels": LEVELS}


def add_members(session, shop, now, count: int = 60, seed: int = 7) -> None:
    """Members in every state: no tier, each tier, an unknown tier; kept until past, future,
    or for good; activity inside and outside the period; some already paid an entry bonus."""
    rng = random.Random(seed)
    for n in range(count):
        member = Member(shop_id=shop.id, customer_id=9000 + n, referral_code=f"R{n:07d}",
                        tier_key=rng.choice([None, "bronze", "silver", "gold", "platinum"]),
                        tier_retained_until=rng.choice([None, now - timedelta(days=3), now + timedelta(days=30)]),
                        tier_since=now - timedelta(days=400))
        session.add(member)
        session.flush()
        for i in range(rng.randint(0, 4)):
            add_activity(session, shop, member, now - timedelta(days=rng.choice([1, 40, 200, 500])), rng, i)
        if rng.random() < 0.2:
            session.add(entry(shop, member, f"member:{member.id}:tier:silver:entry", "earn", 200, now))
    session.commit()


def entry(shop, member, key, kind, points, at) -> LedgerEntry:
    return LedgerEntry(shop_id=shop.id, member_id=member.id, entry_key=key, kind=kind, points=points,
                       cause_type="test", reason="test", created_at=at)


def add_activity(session, shop, member, at, rng, i) -> None:
    kind = rng.choice(["earn", "earn", "clawback", "redeem", "adjust"])
    points = rng.randint(50, 700) * (-1 if kind in ("clawback", "redeem") else 1)
    session.add(entry(shop, member, f"test:{member.id}:{i}", kind, points, at))
    order_id = member.id * 10 + i
    session.add(Order(shop_id=shop.id, order_id=order_id, member_id=member.id, currency="CAD",
                      earning_base_minor=rng.randint(1000, 60000), refunded_base_minor=rng.choice([0, 0, 500]),
                      paid_at=at if rng.random() < 0.9 else None, processed_at=at, is_test=rng.random() < 0.1,
                      cancelled_at=at if rng.random() < 0.1 else None))


def snapshot(session, shop) -> dict:
    members = session.scalars(select(Member).where(Member.shop_id == shop.id)).all()
    bonuses = session.scalars(select(LedgerEntry.entry_key).where(LedgerEntry.shop_id == shop.id,
                                                                  LedgerEntry.cause_type == "tier")).all()
    return {"members": {m.customer_id: (m.tier_key, m.tier_retained_until, m.tier_since) for m in members},
            "bonuses": sorted(bonuses)}


def per_member_result(t, shop_id: int, due_only: bool) -> dict:
    """What services.tiers does member by member (rolled back afterwards)."""
    now = t.clock()
    with t.db.scope() as session:
        shop = session.get(Shop, shop_id)
        version, program = current_program(session, shop)
        for member in session.scalars(select(Member).where(Member.shop_id == shop.id).order_by(Member.id)).all():
            due = member.tier_key is not None and member.tier_retained_until is not None \
                and member.tier_retained_until <= now
            if due or not due_only:
                refresh_member_tier(session, shop, member, program, version_id=version.id, now=now)
        session.flush()
        result = snapshot(session, shop)
        session.rollback()
    return result


@pytest.mark.parametrize("metric, period", [("points_earned", "calendar_year"), ("amount_spent", "rolling_12_months"),
                                            ("order_count", "lifetime")])
def test_bulk_recompute_of_a_shop_agrees_with_the_per_member_path(t, shop, other_shop, metric, period):
    set_program(t, shop, {"tiers": tiers(metric, period)})
    with t.db.scope() as session:
        add_members(session, session.get(Shop, shop.id), t.clock())
        add_members(session, session.get(Shop, other_shop.id), t.clock(), count=5)
    other_before = snapshot_of(t, other_shop)
    for due_only in (True, False):
        expected = per_member_result(t, shop.id, due_only)
        with t.db.scope() as session:
            recompute_tiers(session, session.get(Shop, shop.id), now=t.clock(), due_only=due_only)
            session.flush()
            actual = snapshot(session, session.get(Shop, shop.id))
            assert differences(actual, expected) == {} and actual["bonuses"] == expected["bonuses"]
            session.rollback()
    assert snapshot_of(t, other_shop) == other_before  # every statement is scoped to the shop


def differences(actual: dict, expected: dict) -> dict:
    return {customer: (state, expected["members"].get(customer)) for customer, state in actual["members"].items()
            if state != expected["members"].get(customer)}


def snapshot_of(t, shop) -> dict:
    with t.db.scope(read_only=True) as session:
        return snapshot(session, session.get(Shop, shop.id))


def test_period_end_downgrades_run_in_maintenance_and_never_pay_an_entry_bonus_twice(t, shop):
    set_program(t, shop, {"tiers": tiers("points_earned", "calendar_year")})
    now = t.clock()
    with t.db.scope() as session:
        shop_row = session.get(Shop, shop.id)
        falling = Member(shop_id=shop.id, customer_id=1, referral_code="FALL0001", tier_key="gold",
                         tier_retained_until=now - timedelta(days=1), tier_since=now - timedelta(days=400))
        rising = Member(shop_id=shop.id, customer_id=2, referral_code="RISE0001", tier_key="bronze",
                        tier_retained_until=now + timedelta(days=100), tier_since=now - timedelta(days=400))
        session.add_all([falling, rising])
        session.flush()
        session.add(entry(shop_row, falling, "old", "earn", 300, now - timedelta(days=30)))
        session.add(entry(shop_row, rising, "big", "earn", 1000, now - timedelta(days=2)))
        session.commit()
        report = maintain_members(session, shop_row, now=now)
    assert report.tier_changes == 1  # only the due member is looked at by the hourly pass
    with t.db.scope() as session:
        shop_row = session.get(Shop, shop.id)
        assert recompute_tiers_for_shop(session, shop_row, now=now).entry_bonuses == 1  # rising enters gold
        assert recompute_tiers_for_shop(session, shop_row, now=now).entry_bonuses == 0
        tiers_now = dict(session.execute(select(Member.customer_id, Member.tier_key)
                                         .where(Member.shop_id == shop.id)).all())
    assert tiers_now == {1: "silver", 2: "gold"}
