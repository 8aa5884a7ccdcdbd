"""Benchmark: the acknowledgement path's one write (inbox.record_deliveries), per delivery.

Same run, same database, same durability: the statement as it was before (the dialect's
insert().on_conflict_do_nothing(), which SQLAlchemy 2.0 compiles again on every call because it
has no cache key, executed as one executemany) against the cached SQL text now used, for a lone
sender (one row per commit) and for groups of 20 rows sharing a commit, as the group commit
forms them under load. Also the CPU of one write, profiled, compile included.

    .venv/bin/python bench/intake_write.py [--deliveries 1000] [--backend sqlite|postgresql|both] [--quick]
"""
from __future__ import annotations

import cProfile
import pstats
import time
from datetime import datetime, timezone

import common


def uncached_write(db, rows):
    """inbox.record_deliveries' insert before the cached text (commit 8e9707e)."""
    from sqlalchemy.dialects import postgresql, sqlite

    from app.models import WebhookEvent
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    statement = (insert(WebhookEvent.__table__).on_conflict_do_nothing(index_elements=["shop_id", "delivery_key"])
                 .returning(WebhookEvent.id, WebhookEvent.shop_id, WebhookEvent.delivery_key))
    with db.engine.connect() as connection:
        inserted = connection.execute(statement, rows).all()
        connection.commit()
    return inserted


def cached_write(db, rows):
    from app.services import inbox
    return inbox.record_deliveries(db, rows)


def rows_for(shop_id: int, tag: str, count: int, body: bytes) -> list[dict]:
    from app.services import inbox
    now = datetime.now(timezone.utc)
    return [inbox.delivery_row(shop_id, topic="orders/paid", headers={"X-Shopify-Webhook-Id": f"{tag}-{n}"},
                               body=body, known_topics=["orders/paid"], now=now) for n in range(count)]


def per_delivery_ms(write, db, shop_id: int, tag: str, count: int, group: int, body: bytes) -> float:
    rows = rows_for(shop_id, tag, count, body)
    begin = time.perf_counter()
    for start in range(0, count, group):
        write(db, rows[start:start + group])
    return (time.perf_counter() - begin) / count * 1000


def cpu_ms(write, db, shop_id: int, tag: str, count: int, body: bytes) -> tuple[float, float]:
    """(profiled ms per write, of which compiling SQL) for one-row writes."""
    rows = rows_for(shop_id, tag, count, body)
    profile = cProfile.Profile()
    profile.enable()
    for row in rows:
        write(db, [row])
    profile.disable()
    stats = pstats.Stats(profile)
    compiling = sum(v[3] for k, v in stats.stats.items() if k[2] in ("_compiler", "compile"))
    return stats.total_tt / count * 1000, compiling / count * 1000


def measure(backend: str, deliveries: int) -> list[list]:
    with common.database(backend) as url:
        app, t = common.build_app(common.settings(url))
        shop_id = common.install_shop(t)
        body = common.payload_bytes("orders/paid")
        per_delivery_ms(cached_write, t.db, shop_id, "warm", 50, 1, body)
        figures = []
        for group in (1, 20):
            # Alternated, so both see the same load on a shared machine.
            old = per_delivery_ms(uncached_write, t.db, shop_id, f"old{group}", deliveries, group, body)
            new = per_delivery_ms(cached_write, t.db, shop_id, f"new{group}", deliveries, group, body)
            figures.append([backend, group, f"{old:.3f}", f"{new:.3f}", f"{old / new:.2f}"])
        old_cpu, old_compile = cpu_ms(uncached_write, t.db, shop_id, "cpu-old", deliveries // 4, body)
        new_cpu, new_compile = cpu_ms(cached_write, t.db, shop_id, "cpu-new", deliveries // 4, body)
        figures.append([backend, "cpu, 1 row", f"{old_cpu:.3f} ({old_compile:.3f} compiling)",
                        f"{new_cpu:.3f} ({new_compile:.3f} compiling)", f"{old_cpu / new_cpu:.2f}"])
        t.db.engine.dispose()
        return figures


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], deliveries=(1000, "deliveries per case"),
                            backend=("both", "sqlite, postgresql or both"))
    deliveries = 40 if args.quick else args.deliveries
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    rows = [row for backend in backends for row in measure(backend, deliveries)]
    common.print_table("inbox write per delivery (ms), statement compiled per call vs cached text",
                       ["database", "rows per commit", "compiled per call", "cached text", "speed-up"], rows)


if __name__ == "__main__":
    main()
