"""Win-back: a one-time bonus for members entering at_risk (owner-enabled, with a cool-down),
every entry recorded with its outcome, and who came back within 30 days."""
import pytest
from sqlalchemy import select

from app.models import Shop, WinBackEntry
from app.services.win_back import win_back_results
from tests.segments.seed import add_member, add_order, recompute
from tests.support import CUSTOMER_ID
from tests.support.ledger import ledger, set_program

pytestmark = pytest.mark.both_backends
WIN_BACK = {"win_back": {"enabled": True, "points": 300, "cool_down_days": 120}}


def drifting_member(t, clock, shop) -> int:
    """A member whose only order was 80 days ago: conversion now, at_risk in 10 days."""
    member = add_member(t, shop, CUSTOMER_ID)
    add_order(t, shop, member, days_ago=80)
    recompute(t, shop)
    return member


def outcomes(t, shop) -> list[str]:
    with t.db.scope(read_only=True) as session:
        return list(session.scalars(select(WinBackEntry.outcome).where(WinBackEntry.shop_id == shop.id)
                                    .order_by(WinBackEntry.entered_at)))


def results(t, shop):
    with t.db.scope(read_only=True) as session:
        from tests.support import utc
        return win_back_results(session, session.get(Shop, shop.id), since=utc(2000, 1, 1), now=t.clock())


def test_a_member_entering_at_risk_gets_the_bonus_once(t, clock, shop):
    set_program(t, shop, WIN_BACK)
    member = drifting_member(t, clock, shop)
    clock.advance(days=10)
    recompute(t, shop)
    recompute(t, shop)
    clock.advance(hours=1)
    recompute(t, shop)
    key = f"member:{member}:win_back:{clock():%Y%m%d}"
    assert ledger(t, shop) == [(key, 300)] and outcomes(t, shop) == ["granted"]


def test_with_the_automation_off_the_entry_is_recorded_as_not_reached(t, clock, shop):
    drifting_member(t, clock, shop)
    clock.advance(days=10)
    recompute(t, shop)
    assert ledger(t, shop) == [] and outcomes(t, shop) == ["off"]


def test_a_second_entry_within_the_cool_down_is_not_granted(t, clock, shop):
    set_program(t, shop, WIN_BACK)
    member = drifting_member(t, clock, shop)
    clock.advance(days=10)
    recompute(t, shop)
    add_order(t, shop, member, days_ago=0)  # back: conversion -> loyalty
    recompute(t, shop)
    clock.advance(days=91)
    recompute(t, shop)
    assert outcomes(t, shop) == ["granted", "cool_down"] and len(ledger(t, shop)) == 1


def test_members_already_at_risk_when_first_computed_are_not_entering(t, clock, shop):
    set_program(t, shop, WIN_BACK)
    add_order(t, shop, add_member(t, shop, CUSTOMER_ID), days_ago=100)
    recompute(t, shop)
    assert outcomes(t, shop) == [] and ledger(t, shop) == []


def test_the_results_count_who_came_back_within_30_days(t, clock, shop):
    set_program(t, shop, WIN_BACK)
    member = drifting_member(t, clock, shop)
    other = add_member(t, shop, 2)
    add_order(t, shop, other, days_ago=80)
    recompute(t, shop)
    clock.advance(days=10)
    recompute(t, shop)
    clock.advance(days=5)
    add_order(t, shop, member, days_ago=0)
    assert results(t, shop) == {"granted": {"entered": 2, "came_back": 1, "open": 1}}
    clock.advance(days=40)
    assert results(t, shop) == {"granted": {"entered": 2, "came_back": 1, "open": 0}}


def test_the_api_and_the_segments_page_show_the_results(client, t, clock, shop):
    from tests.admin.helpers import bearer, get_page
    set_program(t, shop, WIN_BACK)
    drifting_member(t, clock, shop)
    clock.advance(days=10)
    recompute(t, shop)
    body = client.get("/api/v1/win-back", headers=bearer()).json
    assert body["outcomes"] == {"granted": {"entered": 1, "came_back": 0, "open": 1}} and body["return_days"] == 30
    assert "Reached: bonus granted" in get_page(client, "/segments").get_data(as_text=True)


def test_the_program_page_saves_the_lifecycle_days_and_win_back(client, t, shop):
    from tests.admin.helpers import post_form
    response = post_form(client, "/program/lifecycle", {"lifecycle.at_risk_days": "60", "lifecycle.lapsed_days": "120",
                                                        "win_back.enabled": "true", "win_back.points": "150",
                                                        "win_back.cool_down_days": "90"})
    assert response.status_code == 200, response.json
    from tests.admin.helpers import bearer
    program = client.get("/api/v1/program", headers=bearer()).json
    assert program["lifecycle"] == {"at_risk_days": 60, "lapsed_days": 120}
    assert program["win_back"] == {"enabled": True, "points": 150, "cool_down_days": 90, "reward_id": None}
    bad = post_form(client, "/program/lifecycle", {"lifecycle.at_risk_days": "200", "lifecycle.lapsed_days": "120"})
    assert bad.status_code == 422


def catalog_reward(t, shop, *, enabled: bool = True) -> int:
    from app.models import Reward
    with t.db.scope() as session:
        reward = Reward(shop_id=shop.id, name="USD 10 off", kind="amount_off", points_cost=1000, value=10,
                        enabled=enabled)
        session.add(reward)
        session.commit()
        return reward.id


def grant_rewards(t) -> int:
    from app.services.win_back_rewards import grant_win_back_rewards
    return grant_win_back_rewards(t.db, admin=t.shopify, queue=t.queue, clock=t.clock)


def test_an_at_risk_member_gets_the_reward_code_once_and_a_blocked_member_none(t, clock, shop):
    import responses as responses_lib
    from app.models import Member, Redemption
    from tests.support.shopify_stub import AdminStub
    set_program(t, shop, {"win_back": {**WIN_BACK["win_back"], "reward_id": catalog_reward(t, shop)}})
    member = drifting_member(t, clock, shop)
    blocked = add_member(t, shop, 2)
    add_order(t, shop, blocked, days_ago=80)
    with t.db.scope() as session:
        session.get(Member, blocked).blocked_at = clock()
        session.commit()
    recompute(t, shop)
    clock.advance(days=10)
    recompute(t, shop)
    with responses_lib.RequestsMock() as rsps:
        stub = AdminStub(rsps)
        assert grant_rewards(t) == 1
        recompute(t, shop)
        assert grant_rewards(t) == 0  # once per entry
    [mutation] = stub.mutations
    assert mutation["variables"]["basicCodeDiscount"]["context"] == {
        "customers": {"add": [f"gid://shopify/Customer/{CUSTOMER_ID}"]}}
    with t.db.scope(read_only=True) as session:
        [redemption] = session.scalars(select(Redemption)).all()
        assert (redemption.member_id, redemption.purpose, redemption.status, redemption.points_spent) == (
            member, "win_back_reward", "issued", 0)
        entries = {e.member_id: (e.outcome, e.redemption_id) for e in session.scalars(select(WinBackEntry))}
    assert entries == {member: ("granted", redemption.id), blocked: ("blocked", None)}
    assert ledger(t, shop) == [(f"member:{member}:win_back:{clock():%Y%m%d}", 300)]
    assert results(t, shop)["granted"] == {"entered": 1, "came_back": 0, "open": 1}


def test_a_win_back_reward_unknown_or_disabled_is_refused_with_422_naming_the_field(client, t, shop, other_shop):
    from tests.admin.helpers import bearer
    for reward_id in (catalog_reward(t, other_shop), catalog_reward(t, shop, enabled=False), 999_999):
        response = client.patch("/api/v1/program", headers=bearer(),
                                json={"win_back": {"enabled": True, "reward_id": reward_id}})
        assert response.status_code == 422 and "win_back.reward_id" in str(response.json), response.json
    ok = client.patch("/api/v1/program", headers=bearer(),
                      json={"win_back": {"enabled": True, "reward_id": catalog_reward(t, shop)}})
    assert ok.status_code == 200, ok.json


def test_the_program_page_saves_the_win_back_reward(client, t, shop):
    from tests.admin.helpers import bearer, get_page, post_form
    reward_id = catalog_reward(t, shop)
    assert 'name="win_back.reward_id"' in get_page(client, "/program").get_data(as_text=True)
    response = post_form(client, "/program/lifecycle", {"lifecycle.at_risk_days": "60", "lifecycle.lapsed_days": "120",
                                                        "win_back.enabled": "true", "win_back.points": "150",
                                                        "win_back.cool_down_days": "90",
                                                        "win_back.reward_id": str(reward_id)})
    assert response.status_code == 200, response.json
    assert client.get("/api/v1/program", headers=bearer()).json["win_back"]["reward_id"] == reward_id
