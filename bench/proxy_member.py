"""Benchmark 3: App Proxy `GET /proxy/member` server time with 100k members in the shop.

The shop gets 100k members with 5 ledger entries each (earnings over the past year, one
redemption) and VIP tiers on, generated in SQL (generate_series on PostgreSQL, a recursive
CTE on SQLite). Random signed-in customers are then asked for through the app's WSGI
callable (no network: server time only). Baselines in the same run: a trivial Flask route
through the same test client, and the one indexed balance query alone.

    .venv/bin/python bench/proxy_member.py [--members 100000] [--requests 3000] [--backend ...] [--quick]
"""
from __future__ import annotations

import random
import time
from contextlib import ExitStack
from urllib.parse import urlencode

import common
from flask import Flask
from sqlalchemy import text

from app.shopify.signatures import proxy_signature

ENTRIES_PER_MEMBER = 5


def series(dialect: str, count: int) -> tuple[str, str]:
    """(WITH prefix, FROM item) yielding rows seq.n = 1..count."""
    if dialect == "postgresql":
        return "", f"generate_series(1, {count}) AS seq(n)"
    return f"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {count}) ", "seq"


def days_ago(dialect: str, days: str) -> str:
    if dialect == "postgresql":
        return f"(now() - ({days}) * interval '1 day')"
    return f"strftime('%Y-%m-%d %H:%M:%f000', 'now', '-' || ({days}) || ' days')"


def generate(t, shop_id: int, members: int) -> None:
    dialect = t.db.engine.dialect.name
    prefix, numbers = series(dialect, members)
    at = days_ago(dialect, "seq.n % 300")
    with t.db.engine.begin() as conn:
        conn.execute(text(f"{prefix}INSERT INTO members (shop_id, customer_id, referral_code, email, tier_key, "
                          f"accepts_marketing, created_at, updated_at) SELECT {shop_id}, 1000000 + seq.n, "
                          f"'M' || seq.n, 'c' || seq.n || '@example.com', 'bronze', false, {at}, {at} FROM {numbers}"))
        prefix, numbers = series(dialect, members * ENTRIES_PER_MEMBER)
        member = f"(SELECT min(id) FROM members WHERE shop_id = {shop_id}) + (seq.n - 1) / {ENTRIES_PER_MEMBER}"
        redeem = f"seq.n % {ENTRIES_PER_MEMBER} = 0"
        conn.execute(text(
            f"{prefix}INSERT INTO ledger_entries (shop_id, member_id, entry_key, kind, points, cause_type, reason, "
            f"shortfall_points, created_at) SELECT {shop_id}, {member}, 'gen:' || seq.n, "
            f"CASE WHEN {redeem} THEN 'redeem' ELSE 'earn' END, CASE WHEN {redeem} THEN -100 ELSE 110 END, "
            f"'order', 'Order: 1 point per $1 on $110.00 = 110 points', 0, {days_ago(dialect, 'seq.n % 360')} "
            f"FROM {numbers}"))
    with t.db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")


def enable_tiers(t, shop_id: int) -> None:
    from app.models import Shop
    from app.services.program import update_program
    with t.db.scope() as session:
        update_program(session, session.get(Shop, shop_id), {"tiers": {"enabled": True, "period": "calendar_year"}},
                       staff_user_id="bench", now=t.clock())


def signed_query(customer_id: int) -> str:
    query = urlencode({"shop": common.SHOP, "logged_in_customer_id": str(customer_id), "path_prefix": "/apps/tessera",
                       "timestamp": str(int(time.time()))})
    return f"{query}&signature={proxy_signature(query, common.SECRET)}"


def timed(call, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        begin = time.perf_counter()
        call()
        samples.append(time.perf_counter() - begin)
    return samples


def member_request(client, members: int):
    def call():
        response = client.get(f"/proxy/member?{signed_query(1000000 + random.randint(1, members))}")
        assert response.status_code == 200 and response.get_json()["guest"] is False, response.data
    return call


def trivial_request():
    app = Flask("trivial")
    app.add_url_rule("/proxy/member", "member", lambda: {"guest": False, "balance": 0})
    client = app.test_client()
    return lambda: client.get(f"/proxy/member?{signed_query(1)}")


def balance_query(t, shop_id: int, members: int):
    statement = text("SELECT coalesce(sum(points), 0) FROM ledger_entries WHERE shop_id = :shop AND member_id = "
                     "(SELECT id FROM members WHERE shop_id = :shop AND customer_id = :customer)")

    def call():
        with t.db.engine.connect() as conn:
            conn.execute(statement, {"shop": shop_id, "customer": 1000000 + random.randint(1, members)}).scalar()
    return call


def measure(backend: str, members: int, requests: int) -> list[list]:
    with ExitStack() as stack:
        url = stack.enter_context(common.database(backend))
        app, t = common.build_app(common.settings(url))
        shop_id = common.install_shop(t)
        enable_tiers(t, shop_id)
        begin = time.perf_counter()
        generate(t, shop_id, members)
        print(f"{backend}: {members} members, {members * ENTRIES_PER_MEMBER} ledger entries generated in "
              f"{time.perf_counter() - begin:.1f} s")
        cases = [("GET /proxy/member", member_request(app.test_client(), members)),
                 ("trivial Flask route, same client", trivial_request()),
                 ("balance query alone", balance_query(t, shop_id, members))]
        results = {}
        for name, call in cases:
            timed(call, max(50, requests // 10))  # warm caches and the connection pool
            results[name] = common.summary_ms(timed(call, requests))
        t.db.engine.dispose()
    trivial = results["trivial Flask route, same client"]["p99"]
    return [[backend, name, f"{r['p50']:.2f}", f"{r['p99']:.2f}", f"{r['max']:.1f}", f"{r['p99'] / trivial:.1f}x"]
            for name, r in results.items()]


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], members=(100_000, "members in the shop"),
                            requests=(3000, "timed requests per case"), backend=("both", "sqlite, postgresql or both"))
    members, requests = (2000, 200) if args.quick else (args.members, args.requests)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows = [row for backend in backends for row in measure(backend, members, requests)]
    common.print_table(f"App Proxy member state, {members} members, {requests} requests per case "
                       "(target: p99 < 15 ms)", ["database", "case", "p50 ms", "p99 ms", "max ms", "p99 vs trivial"],
                       rows)


if __name__ == "__main__":
    main()
