"""Benchmark 7: member metrics (lifecycle stage, RFM) and segments over 1M members on PostgreSQL.

One shop with 1M members (a fifth without an order) and ~2.4M orders spread over three years
(some cancelled, refunded in full, test orders, and partial refunds), generated with
generate_series. Timed: the periodic job as it runs for a shop (services.segments.
maintain_segments: the set-based recompute of every member's row, win-back, today's segment
sizes), a second run the next day (rows exist: the upsert's update path), and a segment's live
count. Baseline in the same run, on the same data, rolled back: one GROUP BY over the shop's
orders feeding a 1M-row INSERT into a scratch table (the same shape of work without the rules).

    .venv/bin/python bench/segments.py [--members 1000000] [--quick]
"""
from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import timedelta

import common
from sqlalchemy import text

PG_SETTINGS = {"shared_buffers": "2GB", "work_mem": "64MB", "maintenance_work_mem": "512MB", "max_wal_size": "8GB"}
PROGRAM = {"win_back": {"enabled": True, "points": 200, "cool_down_days": 180}}
SEGMENT = {"name": "Big spenders drifting away", "match": "all", "conditions": [
    {"field": "lifecycle_stage", "op": "in", "value": ["at_risk", "lapsed"]},
    {"field": "total_spent", "op": "gte", "value": "100"}, {"field": "orders_count", "op": "gte", "value": 2}]}


def generate(t, shop_id: int, members: int) -> None:
    """Members 1..N; member n has n % 5 orders (0-4), placed up to 3 years ago."""
    now = t.clock()
    with t.db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO members (shop_id, customer_id, referral_code, account_state, accepts_marketing, "
            "country_code, created_at, updated_at) SELECT :shop, 1000000 + n, 'M' || n, "
            "CASE WHEN n % 3 = 0 THEN 'enabled' ELSE 'disabled' END, n % 2 = 0, "
            "(ARRAY['US', 'CA', 'DE'])[1 + n % 3], :long_ago, :long_ago FROM generate_series(1, :members) AS n"),
            {"shop": shop_id, "members": members, "long_ago": now - timedelta(days=1200)})
        first = conn.execute(text("SELECT min(id) FROM members WHERE shop_id = :shop"), {"shop": shop_id}).scalar()
        conn.execute(text(
            "INSERT INTO orders (shop_id, order_id, member_id, customer_id, currency, total_minor, subtotal_minor, "
            "earning_base_minor, refunded_base_minor, financial_status, discount_codes, is_test, paid_at, "
            "processed_at, cancelled_at, created_at, updated_at) "
            "SELECT :shop, m * 10 + k, :first + m - 1, 1000000 + m, 'USD', 1000 + (m * 37 + k * 101) % 20000, 0, 0, 0, "
            "CASE WHEN (m + k) % 53 = 0 THEN 'refunded' ELSE 'paid' END, '[]', (m + k) % 97 = 0, placed, placed, "
            "CASE WHEN (m + k) % 41 = 0 THEN placed END, placed, placed "
            "FROM generate_series(1, :members) AS m, generate_series(1, 4) AS k, "
            "LATERAL (SELECT CAST(:now AS timestamptz) - make_interval(days => (m * 7 + k * 131) % 1100)) AS p(placed) "
            "WHERE k <= m % 5"), {"shop": shop_id, "first": first, "members": members, "now": now})
        conn.execute(text(
            "INSERT INTO refunds (shop_id, refund_id, order_id, base_minor, shipping_minor, tax_minor, "
            "shipping_tax_minor, discrepancy_minor, currency, created_at) SELECT shop_id, order_id, order_id, "
            "total_minor / 4, 0, 0, 0, 0, 'USD', processed_at FROM orders WHERE shop_id = :shop AND order_id % 17 = 0"),
            {"shop": shop_id})
    with t.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


def maintain(t, shop_id: int, now):
    from app.models import Shop
    from app.services.segments import maintain_segments
    with t.db.scope() as session:
        return maintain_segments(session, session.get(Shop, shop_id), now=now)


def count_segment(t, shop_id: int, now) -> int:
    from app.models import Shop
    from app.queries.segments import segment_count
    from app.services.segments import create_segment, find_segment
    with t.db.scope() as session:
        shop = session.get(Shop, shop_id)
        view = find_segment(session, shop, create_segment(session, shop, SEGMENT, now=now).id)
        begin = time.perf_counter()
        count = segment_count(session, view.query(shop, now))
        return time.perf_counter() - begin, count


BASELINE = ("CREATE TEMP TABLE scratch AS SELECT member_id, count(*) AS n, sum(total_minor) AS spent, "
            "max(processed_at) AS last_at FROM orders WHERE shop_id = :shop AND paid_at IS NOT NULL "
            "GROUP BY member_id")


def run_baseline(t, shop_id: int) -> float:
    with t.db.engine.connect() as conn:
        begin = time.perf_counter()
        conn.execute(text(BASELINE), {"shop": shop_id})
        elapsed = time.perf_counter() - begin
        conn.rollback()
    return elapsed


def timed(call):
    begin = time.perf_counter()
    result = call()
    return time.perf_counter() - begin, result


def stage_counts(t, shop_id: int) -> str:
    with t.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT lifecycle_stage, count(*) FROM member_metrics WHERE shop_id = :shop "
                                 "GROUP BY 1 ORDER BY 1"), {"shop": shop_id}).all()
    return ", ".join(f"{stage} {n}" for stage, n in rows)


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], members=(1_000_000, "members in the shop"))
    members = 20_000 if args.quick else args.members
    with ExitStack() as stack:
        url = stack.enter_context(common.database("postgresql", pg_settings=PG_SETTINGS))
        app, t = common.build_app(common.settings(url))
        shop_id = common.install_shop(t)
        from app.models import Shop
        from app.services.program import update_program
        with t.db.scope() as session:
            update_program(session, session.get(Shop, shop_id), PROGRAM, staff_user_id="bench", now=t.clock())
        generated, _ = timed(lambda: generate(t, shop_id, members))
        with t.db.engine.connect() as conn:
            orders = conn.execute(text("SELECT count(*) FROM orders")).scalar()
        print(f"generated {members} members and {orders} orders in {generated:.1f} s")
        baseline_s = run_baseline(t, shop_id)
        now = t.clock()
        first_s, first = timed(lambda: maintain(t, shop_id, now))
        stages = stage_counts(t, shop_id)
        next_s, following = timed(lambda: maintain(t, shop_id, now + timedelta(days=1)))
        count_s, count = count_segment(t, shop_id, now + timedelta(days=1))
        t.db.engine.dispose()
    rows = [
        ["maintain_segments, first run (all rows inserted)", f"{first_s:.1f}", f"{first.members} members; {stages}",
         f"{baseline_s:.1f}", f"{first_s / baseline_s:.1f}x"],
        ["maintain_segments, next day (rows updated)", f"{next_s:.1f}",
         f"{following.members} members, win-back {following.win_back}", f"{baseline_s:.1f}",
         f"{next_s / baseline_s:.1f}x"],
        ["segment live count (3 conditions)", f"{count_s:.2f}", f"{count} members", "-", "-"],
    ]
    common.print_table(f"Member metrics and segments over {members} members on PostgreSQL (target well under 60 s)",
                       ["job", "seconds", "effect", "baseline s", "vs baseline"], rows)


if __name__ == "__main__":
    main()
