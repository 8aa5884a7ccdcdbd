"""`devstore seed` plays the demo story into Tessera through signed webhooks only, and the
members end with the balances the program's rules give; `reset` erases it all again."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.devstore import DEMO_SHOP
from app.devstore.seed import SHOPPERS, reset_demo_store, seed_demo_store
from app.models import LedgerEntry, Member, Redemption, WebhookEvent
from app.services.member_state import member_state
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


def test_seed_gives_members_the_expected_balances_through_webhooks_only(demo, t, clock):
    report = seed_demo_store(demo)
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
    seed_demo_store(demo)
    with t.db.scope() as session:
        report = reconcile_shop(t, session, find_shop(session, DEMO_SHOP), since=clock() - timedelta(days=200))
    assert report.orders_seen == len(demo.snapshot()["orders"])
    assert (report.orders_missing, report.refunds_missing, dict(report.entries_added)) == (0, 0, {})


def test_seeding_twice_changes_nothing(demo, t):
    seed_demo_store(demo)
    again = seed_demo_store(demo)
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
