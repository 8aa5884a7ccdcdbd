"""`devstore seed` plays the demo story into Tessera through signed webhooks only, and the
members end with the balances the program's rules give; the regulars around them make a year of
a real-looking shop; `reset` erases it all again. Tests play a small crowd (or none) to stay fast."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.devstore import DEMO_SHOP
from app.devstore.crowd import CROWD_CUSTOMERS, YEAR_DAYS, plan_crowd
from app.devstore.seed import SHOPPERS, reset_demo_store, seed_demo_store
from app.devstore.state import DemoState
from app.models import LedgerEntry, Member, Redemption, Referral, WebhookEvent
from app.queries.member_state import member_state
from app.services.reconcile import reconcile_shop
from app.services.shops import find_shop

# Default program (1 point per $1 of merchandise after discounts, gift cards excluded, 100 for an
# account) with tiers (Silver from 500 earned: x1.25, Gold from 1500) and referrals (500) on.
EXPECTED_BALANCES = {
    # 100 + 104 + 148 + 160 (now Silver) + 500 for referring Bob + 216 x1.25 + 176 x1.25 = 1502 (Gold)
    "alice": (1502, "gold"),
    # 100 + 176 - 28 (the beanie came back) + 50
    "carol": (298, "bronze"),
    # no account, so no signup points; 64, then 148 for an order that was cancelled the next day
    "dave": (64, "bronze"),
    # 100 + 280 + 136 (now Silver) - 500 for a $5 code, used on a $42 tote: 37 x1.25 = 46
    "erin": (62, "silver"),
    # 100 + 18 for a mug (the $50 gift card earns nothing) + 68
    "frank": (186, "bronze"),
    # 100 + 90 (the referred order) + 18
    "bob": (208, "bronze"),
    # an account and nothing else: Bronze starts at 0
    "grace": (100, "bronze"),
}


NO_CROWD = plan_crowd(customers=0, guest_orders=0)
STORY_ORDERS = 17  # the named shoppers' orders in TIMELINE


def test_seed_gives_members_the_expected_balances_through_webhooks_only(demo, t, clock):
    report = seed_demo_store(demo, crowd=NO_CROWD)
    customers = {c["email"]: c["id"] for c in demo.snapshot()["customers"].values()}
    with t.db.scope(read_only=True) as session:
        shop = find_shop(session, DEMO_SHOP)
        balances = {who: (state["balance"], state["tier_key"]) for who, state in (
            (who, member_state(session, shop, customers[s.email], now=clock())) for who, s in SHOPPERS.items())}
        inbox = session.execute(select(WebhookEvent.status, func.count()).where(WebhookEvent.shop_id == shop.id)
                                .group_by(WebhookEvent.status)).all()
        redemption = session.scalar(select(Redemption).where(Redemption.shop_id == shop.id,
                                                             Redemption.purpose == "reward"))
        members = session.scalar(select(func.count()).select_from(Member).where(Member.shop_id == shop.id))
        first_entry = session.scalar(select(func.min(LedgerEntry.created_at)).where(LedgerEntry.shop_id == shop.id))
    assert balances == EXPECTED_BALANCES
    assert members == len(SHOPPERS)  # the guest order made no member
    assert dict(inbox) == {"done": report.deliveries} and not report.failed_deliveries
    assert redemption.status == "used" and redemption.used_order_id
    assert clock() - first_entry > timedelta(days=100)  # the ledger carries the story's dates
    assert demo.snapshot()["discounts"][redemption.shopify_discount_id.rsplit("/", 1)[-1]]["usage_count"] == 1


def test_reconciliation_reads_back_from_the_stand_in_exactly_what_the_webhooks_said(demo, t, clock):
    seed_demo_store(demo, crowd=NO_CROWD)
    with t.db.scope() as session:
        report = reconcile_shop(t.shopify, session, find_shop(session, DEMO_SHOP),
                                since=clock() - timedelta(days=200), clock=t.clock)
    assert report.orders_seen == len(demo.snapshot()["orders"])
    assert (report.orders_missing, report.refunds_missing, dict(report.entries_added)) == (0, 0, {})


def test_seeding_twice_changes_nothing(demo, t):
    seed_demo_store(demo, crowd=NO_CROWD)
    again = seed_demo_store(demo, crowd=NO_CROWD)
    assert not again.seeded_now and not again.installed_now and again.notes


def test_reset_uninstalls_erases_and_lets_seed_start_over(demo, t):
    demo.install()
    demo.sign_up("alice@example.com", "Alice", "Martin")
    reset_demo_store(demo)
    with t.db.scope(read_only=True) as session:
        shop = find_shop(session, DEMO_SHOP)
        members = session.scalar(select(func.count()).select_from(Member).where(Member.shop_id == shop.id))
    assert (shop.is_installed, shop.access_token_ciphertext, members) == (False, None, 0)
    assert demo.snapshot()["customers"] == {} and not demo.is_installed()
    demo.install()
    with t.db.scope(read_only=True) as session:
        assert find_shop(session, DEMO_SHOP).is_installed


def test_the_full_crowd_is_a_year_of_a_few_hundred_customers_and_a_couple_thousand_orders():
    plan = plan_crowd()
    orders = plan.count("order") + STORY_ORDERS
    assert CROWD_CUSTOMERS + len(SHOPPERS) == 300 and plan.count("sign_up") == CROWD_CUSTOMERS
    assert 1500 <= orders <= 3000
    assert max(s.days_ago for s in plan.steps) >= YEAR_DAYS - 15 and min(s.days_ago for s in plan.steps) == 1
    assert plan.count("refund") > 50 and plan.count("cancel") > 10
    assert sum(1 for s in plan.steps if s.referred_by) > 10 and sum(1 for s in plan.steps if s.redeem_first) > 50


def test_the_crowd_is_the_same_on_every_seed():
    assert plan_crowd().steps == plan_crowd().steps
    assert plan_crowd(customers=20, guest_orders=4).steps == plan_crowd(customers=20, guest_orders=4).steps


def test_a_crowd_seed_reaches_tessera_as_webhooks_and_fills_tiers_referrals_and_redemptions(demo, t, clock):
    crowd = plan_crowd(customers=20, guest_orders=4)
    report = seed_demo_store(demo, crowd=crowd)
    store = demo.snapshot()
    with t.db.scope(read_only=True) as session:
        shop = find_shop(session, DEMO_SHOP)
        inbox = dict(session.execute(select(WebhookEvent.status, func.count()).where(WebhookEvent.shop_id == shop.id)
                                     .group_by(WebhookEvent.status)).all())
        tiers = dict(session.execute(select(Member.tier_key, func.count()).where(Member.shop_id == shop.id)
                                     .group_by(Member.tier_key)).all())
        referrals = session.scalar(select(func.count()).select_from(Referral).where(Referral.shop_id == shop.id))
        used = session.scalar(select(func.count()).select_from(Redemption).where(
            Redemption.shop_id == shop.id, Redemption.status == "used"))
        first_entry = session.scalar(select(func.min(LedgerEntry.created_at)).where(LedgerEntry.shop_id == shop.id))
    assert inbox == {"done": report.deliveries} and not report.failed_deliveries
    assert len(store["customers"]) == len(SHOPPERS) + 20 and sum(tiers.values()) == len(SHOPPERS) + 20
    assert len(store["orders"]) == len(report.orders) == crowd.count("order") + STORY_ORDERS
    assert {"bronze", "silver", "gold"} <= set(tiers)
    assert referrals >= 1 + 2 and used >= 2  # alice's referral and erin's code, plus the crowd's
    assert clock() - first_entry > timedelta(days=300)


def test_held_state_is_written_once_when_the_block_ends(tmp_path):
    state = DemoState(tmp_path / "devstore.json")
    with state.held():
        with state.shop(DEMO_SHOP) as shop:
            shop["name"] = "Held Store"
        assert not state.path.exists()
        assert state.snapshot(DEMO_SHOP)["name"] == "Held Store"
    assert DemoState(state.path).snapshot(DEMO_SHOP)["name"] == "Held Store"
