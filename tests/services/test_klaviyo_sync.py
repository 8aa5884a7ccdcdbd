"""Klaviyo sync at the HTTP boundary: profile properties in batched bulk imports, events with a
unique id, the private key and revision on every call, 429 answered by waiting Retry-After."""
import pytest
import responses
from sqlalchemy import select

from app.models import KlaviyoAccount, KlaviyoSync
from app.services.klaviyo import connect_klaviyo, sync_klaviyo
from tests.support import payload
from tests.support.klaviyo_stub import API_KEY, BASE_URL, KlaviyoStub
from tests.support.ledger import deliver, member_of


@pytest.fixture
def klaviyo():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield KlaviyoStub(rsps)


@pytest.fixture
def connected(client, t, shop):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    with t.db.scope() as session:
        connect_klaviyo(session, shop, API_KEY, now=t.clock(), cipher=t.cipher)
    return member_of(t, shop)


def add_rows(t, shop, member, *rows):
    with t.db.scope() as session:
        for key, kind, metric in rows:
            session.add(KlaviyoSync(shop_id=shop.id, member_id=member.id, sync_key=key, kind=kind, metric=metric,
                                    properties={"points": 110} if kind == "event" else None,
                                    occurred_at=t.clock(), status="pending", attempts=0, next_attempt_at=t.clock(),
                                    created_at=t.clock()))
        session.commit()


def sync(t, sleeps=None):
    return sync_klaviyo(t.db.session, clock=t.clock, http=t.http, cipher=t.cipher, base_url=BASE_URL,
                        sleep=(sleeps.append if sleeps is not None else lambda s: None))


def statuses(t):
    with t.db.scope(read_only=True) as session:
        return {row.sync_key: row.status for row in session.scalars(select(KlaviyoSync))}


@pytest.mark.both_backends
def test_a_members_profile_gets_balance_tier_referral_link_and_next_reward(client, t, shop, connected, klaviyo):
    add_rows(t, shop, connected, (f"profile:{connected.id}", "profile", None))
    assert sync(t) == 1
    [job] = klaviyo.profile_imports
    [profile] = job["data"]["attributes"]["profiles"]["data"]
    assert profile["attributes"]["email"] == "jordan.lee@example.com"
    properties = profile["attributes"]["properties"]
    assert properties["tessera_points_balance"] == 110 and properties["tessera_points_pending"] == 0
    assert properties["tessera_referral_url"] == f"https://{shop.domain}/?ref={connected.referral_code}"
    assert {"tessera_tier", "tessera_next_reward", "tessera_points_to_next_reward"} <= set(properties)
    assert statuses(t) == {f"profile:{connected.id}": "sent"}


def test_events_are_sent_one_by_one_with_a_unique_id_klaviyo_deduplicates_on(client, t, shop, connected, klaviyo):
    add_rows(t, shop, connected, ("event:41", "event", "Tessera Points Earned"),
             ("event:42", "event", "Tessera Reward Code Issued"))
    sync(t)
    names = [e["data"]["attributes"]["metric"]["data"]["attributes"]["name"] for e in klaviyo.events]
    assert names == ["Tessera Points Earned", "Tessera Reward Code Issued"]
    first = klaviyo.events[0]["data"]["attributes"]
    assert first["unique_id"] == f"tessera-{shop.id}-event:41" and first["properties"] == {"points": 110}
    assert first["profile"]["data"]["attributes"]["email"] == "jordan.lee@example.com"
    assert first["time"] == t.clock().isoformat()


def test_a_short_429_is_waited_out_as_retry_after_says(client, t, shop, connected, klaviyo):
    klaviyo.queued.append((429, {"Retry-After": "3"}))
    add_rows(t, shop, connected, ("event:41", "event", "Tessera Points Earned"))
    sleeps = []
    sync(t, sleeps)
    assert sleeps == [3.0] and len(klaviyo.events) == 1 and statuses(t) == {"event:41": "sent"}


def test_a_long_429_puts_the_row_back_until_retry_after_without_counting_an_attempt(client, t, shop, connected,
                                                                                    klaviyo, clock):
    klaviyo.queued.append((429, {"Retry-After": "120"}))
    add_rows(t, shop, connected, ("event:41", "event", "Tessera Points Earned"),
             ("event:42", "event", "Tessera Tier Reached"))
    sync(t)
    assert klaviyo.calls == 1
    with t.db.scope(read_only=True) as session:
        row = session.scalar(select(KlaviyoSync).where(KlaviyoSync.sync_key == "event:42"))
        assert (row.status, row.attempts, (row.next_attempt_at - clock()).total_seconds()) == ("pending", 0, 120)
    assert sync(t) == 0
    clock.advance(seconds=121)
    sync(t)
    assert statuses(t) == {"event:41": "sent", "event:42": "sent"} and len(klaviyo.events) == 2


def test_a_rejected_key_fails_the_rows_and_the_owner_sees_klaviyos_reason(client, t, shop, connected, klaviyo):
    with t.db.scope() as session:
        connect_klaviyo(session, shop, "pk_wrong_key_000000000000", now=t.clock(), cipher=t.cipher)
    add_rows(t, shop, connected, ("event:41", "event", "Tessera Points Earned"))
    sync(t)
    assert statuses(t) == {"event:41": "failed"}
    with t.db.scope(read_only=True) as session:
        assert "Incorrect authentication credentials" in session.scalar(select(KlaviyoAccount.last_error))


def test_many_profiles_go_in_batches_of_a_hundred(client, t, shop, connected, klaviyo):
    add_rows(t, shop, connected, *[(f"profile:{connected.id}:{n}", "profile", None) for n in range(150)])
    sync(t)
    assert [len(j["data"]["attributes"]["profiles"]["data"]) for j in klaviyo.profile_imports] == [100, 50]


def dispatch(t):
    from app.services import member_events
    return member_events.dispatch_member_events(t.db.session, now=t.clock())


def add_reward(t, shop, name, cost):
    from app.models import Reward
    with t.db.scope() as session:
        session.add(Reward(shop_id=shop.id, name=name, kind="amount_off", points_cost=cost))
        session.commit()


@pytest.mark.both_backends
def test_member_events_become_klaviyo_events_and_one_profile_refresh(client, t, shop, klaviyo, clock):
    with t.db.scope() as session:
        connect_klaviyo(session, shop, API_KEY, now=t.clock(), cipher=t.cipher)
    add_reward(t, shop, "$5 off", 100)
    add_reward(t, shop, "$20 off", 400)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    dispatch(t)
    sync(t)
    names = [e["data"]["attributes"]["metric"]["data"]["attributes"]["name"] for e in klaviyo.events]
    assert names == ["Tessera Points Earned", "Tessera Reward Ready"]
    ready = klaviyo.events[1]["data"]["attributes"]["properties"]
    assert (ready["reward_name"], ready["points_balance"]) == ("$5 off", 110)
    assert klaviyo.profile_imports == []  # the profile waits for the changes that follow
    clock.advance(seconds=31)
    sync(t)
    [profile] = klaviyo.profile_imports[0]["data"]["attributes"]["profiles"]["data"]
    assert profile["attributes"]["properties"]["tessera_next_reward"] == "$20 off"
    assert profile["attributes"]["properties"]["tessera_points_to_next_reward"] == 290


def test_a_burst_of_changes_is_one_profile_update_and_a_crossing_is_announced_once(client, t, shop, klaviyo, clock):
    from tests.support.ledger import adjust
    with t.db.scope() as session:
        connect_klaviyo(session, shop, API_KEY, now=t.clock(), cipher=t.cipher)
    add_reward(t, shop, "$10 off", 200)
    deliver(client, t, "orders/paid", payload("orders/paid"))
    for points in (60, 60):
        adjust(t, shop, points)
    dispatch(t)
    dispatch(t)  # nothing new: no second row
    clock.advance(seconds=31)
    sync(t)
    assert len(klaviyo.profile_imports) == 1
    ready = [e for e in klaviyo.events
             if e["data"]["attributes"]["metric"]["data"]["attributes"]["name"] == "Tessera Reward Ready"]
    assert len(ready) == 1 and ready[0]["data"]["attributes"]["properties"]["points_balance"] == 230
    assert {row: status for row, status in statuses(t).items() if row.startswith("profile")} == {
        f"profile:{member_of(t, shop).id}": "sent"}


def test_shops_without_klaviyo_get_no_rows(client, t, shop, klaviyo):
    deliver(client, t, "orders/paid", payload("orders/paid"))
    dispatch(t)
    assert statuses(t) == {}


def test_an_expiry_reminder_becomes_one_points_expiring_event(client, t, shop, connected, klaviyo, clock):
    from datetime import timedelta

    from app.models import MemberNotification
    with t.db.scope() as session:
        session.add(MemberNotification(shop_id=shop.id, member_id=connected.id, notification_key="expiring:x",
                                       kind="points_expiring", points=110, due_at=clock() + timedelta(days=14),
                                       created_at=clock()))
        session.commit()
    sync(t)
    sync(t)
    [event] = klaviyo.events
    attributes = event["data"]["attributes"]
    assert attributes["metric"]["data"]["attributes"]["name"] == "Tessera Points Expiring"
    assert attributes["properties"] == {"points": 110, "expires_at": (clock() + timedelta(days=14)).isoformat()}
