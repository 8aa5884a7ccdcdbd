"""Benchmark: settling orders/paid deliveries into ledger entries, one by one vs in batches.

Drives the order service directly with pre-parsed orders/paid facts (the real payload; distinct
orders from a pool of repeat customers), so the figure is the settlement alone, without the
inbox or a queue: `apply_order` with one commit per order, then `apply_orders` with one commit
per batch. Baseline, same run, same database, same durability (SQLite synchronous=FULL;
PostgreSQL fsync + synchronous_commit on): single-row INSERTs into ledger_entries, one
transaction each, from one writer (the settling here is one writer too).

    .venv/bin/python bench/settlement.py [--events 3000] [--batch 100] [--backend sqlite|postgresql|both] [--quick]
"""
from __future__ import annotations

import json
import time
from contextlib import ExitStack

import common
from sqlalchemy import func, select, text


def order_facts(count: int, offset: int) -> list:
    from app.loyalty.orders import parse_order
    template = json.loads(common.payload_bytes("orders/paid"))
    customers = max(1, count // 4)
    facts = []
    for n in range(offset, offset + count):
        body = dict(template, id=7_000_000 + n, name=f"#{10_000 + n}")
        body["customer"] = dict(template["customer"], id=5_000_000 + n % customers, email=f"c{n % customers}@example.com")
        facts.append(parse_order(body, topic="orders/paid"))
    return facts


def raw_rate(t, count: int) -> float:
    """Single-row INSERTs into ledger_entries, each its own transaction, through the app's engine."""
    statement = text("INSERT INTO ledger_entries (shop_id, member_id, entry_key, kind, points, cause_type, reason, "
                     "shortfall_points, created_at) VALUES (:shop, :member, :key, 'earn', 110, 'order', :reason, 0, "
                     ":at)")
    shop_id, member_id = raw_member(t)
    with t.db.engine.connect() as conn:
        begin = time.perf_counter()
        for n in range(count):
            conn.execute(statement, {"shop": shop_id, "member": member_id, "key": f"raw:{n}", "at": t.clock(),
                                     "reason": "Order #1042: 1 point per $1 on $110.00 = 110 points"})
            conn.commit()
        return count / (time.perf_counter() - begin)


def raw_member(t) -> tuple[int, int]:
    from app.models import Member, Shop
    with t.db.scope() as session:
        shop = session.scalar(select(Shop))
        member = Member(shop_id=shop.id, customer_id=1, referral_code="RAWBENCH", created_at=t.clock(),
                        updated_at=t.clock())
        session.add(member)
        session.commit()
        return shop.id, member.id


def ledger_count(t) -> int:
    from app.models import LedgerEntry
    with t.db.scope(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(LedgerEntry))


def settle(t, facts: list, batch: int) -> float:
    """Seconds to settle `facts`, `batch` orders per transaction (1: apply_order, one by one)."""
    from app.models import Shop
    from app.services.orders import apply_order, apply_orders
    begin = time.perf_counter()
    with t.db.scope() as session:
        shop = session.scalar(select(Shop))
        for start in range(0, len(facts), batch):
            chunk = facts[start:start + batch]
            if batch == 1:
                apply_order(session, shop, chunk[0], now=t.clock())
            else:
                apply_orders(session, shop, chunk, now=t.clock())
            session.commit()
    return time.perf_counter() - begin


def measure(backend: str, events: int, batch: int) -> list[list]:
    rows = []
    with ExitStack() as stack:
        url = stack.enter_context(common.database(backend))
        _app, t = common.build_app(common.settings(url))
        common.install_shop(t)
        raw = raw_rate(t, events)
        for size, offset in ((1, 0), (batch, events)):
            before = ledger_count(t)
            elapsed = settle(t, order_facts(events, offset), size)
            entries = ledger_count(t) - before
            rows.append([backend, "one by one" if size == 1 else f"batches of {size}", events, entries,
                         f"{events / elapsed:.0f}", f"{entries / elapsed:.0f}", f"{raw:.0f}",
                         f"{entries / elapsed / raw:.2f}"])
        t.db.engine.dispose()
    return rows


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], events=(3000, "orders to settle per mode"),
                            batch=(100, "orders per transaction in batch mode"),
                            backend=("both", "sqlite, postgresql or both"))
    events = 200 if args.quick else args.events
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows = [row for backend in backends for row in measure(backend, events, args.batch)]
    common.print_table("Settlement: orders/paid facts -> ledger entries (target >= 0.25 x raw inserts)",
                       ["database", "mode", "orders", "ledger entries", "orders/s", "entries/s",
                        "raw inserts/s (1 writer)", "entries vs raw"], rows)


if __name__ == "__main__":
    main()
