"""Benchmark 4: expiry sweep and tier recompute over 1M members on PostgreSQL.

One shop with 1M members and 3 ledger entries each (an old lot past its expiry date, a recent
lot, a redemption), generated with generate_series. The program expires points 12 months
after earning and runs VIP tiers on points earned per calendar year, with entry bonuses.
Every member's kept tier has run out, so the period-end pass re-decides all of them.

Timed: the services as the hourly jobs run them (services.expiry.expire_points_for_shop,
services.tier_recompute.recompute_tiers_for_shop with due_only=True). Baselines in the same
run, on the same data, rolled back: the same shape of work without the rules (one GROUP BY over
the shop's ledger feeding a 1M-row INSERT, resp. a 1M-row UPDATE ... FROM).

    .venv/bin/python bench/bulk_jobs.py [--members 1000000] [--quick]
"""
from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import timedelta

import common
from sqlalchemy import text

# A production-like server for a large shop (docs/deployment.md): more memory per sort/hash
# than the default 4MB, and checkpoints spaced for bulk writes.
PG_SETTINGS = {"shared_buffers": "2GB", "work_mem": "64MB", "maintenance_work_mem": "512MB", "max_wal_size": "8GB"}

PROGRAM = {"expiry": {"policy": "after_earning", "months": 12, "reminder_days": 30},
           "tiers": {"enabled": True, "metric": "points_earned", "period": "calendar_year", "levels": [
               {"key": "bronze", "name": "Bronze", "threshold": 0},
               {"key": "silver", "name": "Silver", "threshold": 250, "entry_points": 100},
               {"key": "gold", "name": "Gold", "threshold": 1000, "entry_points": 250}]}}


def generate(t, shop_id: int, members: int) -> None:
    """Members 1..N; lots of 200 (15 months old, expired), 150-450 (3 weeks old), a -100 redemption."""
    now = t.clock()
    with t.db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO members (shop_id, customer_id, referral_code, tier_key, tier_retained_until, tier_since, "
            "accepts_marketing, created_at, updated_at) SELECT :shop, 1000000 + n, 'M' || n, "
            "(ARRAY['bronze', 'silver', 'gold'])[1 + n % 3], :kept, :long_ago, false, :long_ago, :long_ago "
            "FROM generate_series(1, :members) AS n"),
            {"shop": shop_id, "members": members, "kept": now - timedelta(days=1), "long_ago": now - timedelta(days=500)})
        first = conn.execute(text("SELECT min(id) FROM members WHERE shop_id = :shop"), {"shop": shop_id}).scalar()
        conn.execute(text(
            "INSERT INTO ledger_entries (shop_id, member_id, entry_key, kind, points, cause_type, reason, "
            "shortfall_points, created_at, expires_at) "
            "SELECT :shop, :first + (n - 1) / 3, 'gen:' || n, "
            "CASE n % 3 WHEN 0 THEN 'redeem' ELSE 'earn' END, "
            "CASE n % 3 WHEN 1 THEN 200 WHEN 2 THEN 150 + (n / 3) % 300 ELSE -100 END, 'order', 'generated', 0, "
            "CASE n % 3 WHEN 1 THEN :old ELSE :recent END, "
            "CASE n % 3 WHEN 1 THEN :old_expiry WHEN 2 THEN :recent_expiry END "
            "FROM generate_series(1, :entries) AS n"),
            {"shop": shop_id, "first": first, "entries": members * 3, "old": now - timedelta(days=450),
             "old_expiry": now - timedelta(days=85), "recent": now - timedelta(days=20),
             "recent_expiry": now + timedelta(days=345)})
    with t.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


def set_program(t, shop_id: int) -> None:
    from app.models import Shop
    from app.services.program import update_program
    with t.db.scope() as session:
        update_program(session, session.get(Shop, shop_id), PROGRAM, staff_user_id="bench", now=t.clock())


def run_expiry(t, shop_id: int):
    from app.models import Shop
    from app.services.expiry import expire_points_for_shop
    with t.db.scope() as session:
        return expire_points_for_shop(session, session.get(Shop, shop_id), now=t.clock())


def run_tiers(t, shop_id: int):
    from app.models import Shop
    from app.services.tier_recompute import recompute_tiers_for_shop
    with t.db.scope() as session:
        return recompute_tiers_for_shop(session, session.get(Shop, shop_id), now=t.clock(), due_only=True)


BASELINES = {
    "expiry": "INSERT INTO ledger_entries (shop_id, member_id, entry_key, kind, points, cause_type, reason, "
              "shortfall_points, created_at) SELECT :shop, member_id, 'base:' || member_id, 'expire', "
              "-sum(points), 'expiry', 'baseline', 0, now() FROM ledger_entries WHERE shop_id = :shop "
              "GROUP BY member_id",
    "tiers": "UPDATE members SET tier_key = 'x', tier_since = now() FROM (SELECT member_id, sum(points) AS metric "
             "FROM ledger_entries WHERE shop_id = :shop GROUP BY member_id) totals "
             "WHERE members.id = totals.member_id AND members.shop_id = :shop",
}


def run_baseline(t, shop_id: int, statement: str) -> tuple[float, int]:
    with t.db.engine.connect() as conn:
        begin = time.perf_counter()
        rows = conn.execute(text(statement), {"shop": shop_id}).rowcount
        elapsed = time.perf_counter() - begin
        conn.rollback()
    return elapsed, rows


def timed(call):
    begin = time.perf_counter()
    result = call()
    return time.perf_counter() - begin, result


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], members=(1_000_000, "members in the shop"))
    members = 20_000 if args.quick else args.members
    with ExitStack() as stack:
        url = stack.enter_context(common.database("postgresql", pg_settings=PG_SETTINGS))
        app, t = common.build_app(common.settings(url))
        shop_id = common.install_shop(t)
        set_program(t, shop_id)
        generated, _ = timed(lambda: generate(t, shop_id, members))
        print(f"generated {members} members and {members * 3} ledger entries in {generated:.1f} s")
        baseline_expiry = run_baseline(t, shop_id, BASELINES["expiry"])
        expiry_s, expiry = timed(lambda: run_expiry(t, shop_id))
        with t.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        baseline_tiers = run_baseline(t, shop_id, BASELINES["tiers"])
        tiers_s, tiers = timed(lambda: run_tiers(t, shop_id))
        idle_s, idle = timed(lambda: run_tiers(t, shop_id))  # the next hour: nobody is due
        t.db.engine.dispose()
    rows = [
        ["expiry sweep (after_earning, reminders)", f"{expiry_s:.1f}",
         f"{expiry.members_expired} members, {expiry.points_expired} points, {expiry.reminders} reminders",
         f"{baseline_expiry[0]:.1f} ({baseline_expiry[1]} rows)", f"{expiry_s / baseline_expiry[0]:.1f}x"],
        ["tier recompute at period end (all due)", f"{tiers_s:.1f}",
         f"{tiers.members_updated} updated, {tiers.tier_changes} tier changes, {tiers.entry_bonuses} bonuses",
         f"{baseline_tiers[0]:.1f} ({baseline_tiers[1]} rows)", f"{tiers_s / baseline_tiers[0]:.1f}x"],
        ["tier recompute, next hour (none due)", f"{idle_s:.2f}", f"{idle.members_updated} updated", "-", "-"],
    ]
    common.print_table(f"Bulk jobs over {members} members on PostgreSQL (target < 60 s each)",
                       ["job", "seconds", "effect", "baseline s (rows)", "vs baseline"], rows)


if __name__ == "__main__":
    main()
