"""Benchmark 5: historical import of 1M orders (target < 10 min) on PostgreSQL.

A shop's history as Shopify's bulk export writes it (JSONL, ~4 lines per order, not grouped:
each order's line items and shipping line are written after a later order's line, as Shopify's
default output since 2026-01 may do), generated and streamed to disk, with the refunds' details
that `nodes(ids:)` answers afterwards: a third as many customers as orders (repeat buyers), guests, test orders,
pending payments, partial and full refunds, cancellations, gift-card lines, discount codes, a
few orders in another currency. A local HTTP server on 127.0.0.1 (a separate process) plays
Shopify: it answers the bulk operation's mutation and polling, and serves the file with Range
support. The program is the default one with VIP tiers on (points earned, lifetime).

Timed: the import as the background worker runs it (the `run_import` task, slice after slice,
each slice queuing the next) with past orders earning points: bulk export polled, file
streamed into the kept lines, 1000-order batches read back with their refunds' details (pages
of RefundDetails) through services.bulk_import, one tier recompute at the end.
Baseline, same run, same database (emptied again before the import): the same file downloaded
and parsed and its 1M order rows bulk-inserted with the same batch size and a commit per batch,
no rules (no members, refunds or ledger).

    .venv/bin/python bench/historical_import.py [--orders 1000000] [--quick] [--also-without-points]
"""
from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import common
from sqlalchemy import func, select

PG_SETTINGS = {"shared_buffers": "2GB", "work_mem": "64MB", "maintenance_work_mem": "512MB", "max_wal_size": "8GB"}
PROGRAM = {"tiers": {"enabled": True, "metric": "points_earned", "period": "lifetime"}}
BATCH = 1000
ORDER_BASE, CUSTOMER_BASE, LINE_BASE, REFUND_BASE = 5_981_000_000_000, 7_412_000_000_000, 14_703_000_000_000, \
    978_000_000_000
PRODUCTS = [(8_123_456_789_000 + i, Decimal(p)) for i, p in enumerate(
    ("68.00", "148.00", "28.00", "22.00", "18.00", "42.00", "95.00", "12.50", "230.00", "7.99"))]
GIFT_CARD = (8_123_456_790_036, Decimal("50.00"))
NOW = datetime(2025, 2, 14, 15, 0, tzinfo=timezone.utc)


# ---- the history, as Shopify's bulk export of BULK_ORDERS_QUERY writes it -------------------

def _money(amount: Decimal, currency: str | None = None) -> dict:
    money = {"amount": f"{amount:.2f}"}
    if currency:
        money["currencyCode"] = currency
    return {"shopMoney": money}


class History:
    """Deterministic (seeded) orders; `kinds` counts what was generated."""

    def __init__(self, orders: int, seed: int = 9):
        self.orders = orders
        self.customers = max(1, orders // 3)
        self.random = random.Random(seed)
        self.kinds: dict[str, int] = {}
        self.lines = 0
        self.refunds: dict[str, dict] = {}  # refund id -> the Refund node RefundDetails answers

    def _count(self, kind: str) -> None:
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def write(self, path: Path, refunds_path: Path) -> None:
        held: list[dict] = []  # the previous order's children, written after this order's line
        with open(path, "w", buffering=1 << 20) as out:
            for n in range(self.orders):
                order, *children = self.order_lines(n)
                for line in (order, *held):
                    out.write(json.dumps(line, separators=(",", ":")))
                    out.write("\n")
                    self.lines += 1
                held = children
            for line in held:
                out.write(json.dumps(line, separators=(",", ":")) + "\n")
                self.lines += 1
        refunds_path.write_text(json.dumps(self.refunds, separators=(",", ":")))

    def order_lines(self, n: int) -> list[dict]:
        r = self.random
        order_gid = f"gid://shopify/Order/{ORDER_BASE + n}"
        currency = "EUR" if r.random() < 0.03 else "USD"
        items = [(*PRODUCTS[r.randrange(len(PRODUCTS))], r.choice((1, 1, 1, 2, 3)))
                 for _ in range(r.choice((1, 1, 2, 2, 3, 4)))]
        if r.random() < 0.03:
            items.append((*GIFT_CARD, 1))
        discount = Decimal("10.00") if r.random() < 0.10 else Decimal(0)
        merchandise = sum(price * qty for _, price, qty in items)
        shipping = Decimal(0) if merchandise >= 75 else Decimal("6.95")
        tax = (merchandise - discount) * Decimal("0.08")
        processed = NOW - timedelta(days=365) + timedelta(seconds=31_000_000 * n // self.orders)
        roll = r.random()
        status, cancelled, refunds = "PAID", None, []
        if roll < 0.01:
            self._count("test")
        elif roll < 0.04:
            status = "PENDING"
            self._count("pending")
        elif roll < 0.07:
            status, cancelled = "REFUNDED", processed + timedelta(days=1)
            refunds = [self._refund(n, 0, items, discount, shipping, currency, processed, everything=True)]
            self._count("cancelled")
        elif roll < 0.12:
            status = "PARTIALLY_REFUNDED"
            refunds = [self._refund(n, 0, items[:1], Decimal(0), Decimal(0), currency, processed)]
            self._count("partially refunded")
        elif roll < 0.14:
            status = "REFUNDED"
            refunds = [self._refund(n, 0, items[:1], Decimal(0), Decimal(0), currency, processed),
                       self._refund(n, 1, items[1:], discount, shipping, currency, processed, everything=True)]
            self._count("refunded in full")
        else:
            self._count("paid")
        guest = r.random() < 0.04
        customer_id = CUSTOMER_BASE + r.randrange(self.customers)
        order = {
            "id": order_gid, "legacyResourceId": str(ORDER_BASE + n), "name": f"#{1001 + n}", "test": roll < 0.01,
            "processedAt": processed.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "updatedAt": (cancelled or processed).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cancelledAt": cancelled.strftime("%Y-%m-%dT%H:%M:%SZ") if cancelled else None,
            "displayFinancialStatus": status, "displayFulfillmentStatus": "FULFILLED" if r.random() < 0.8 else
            "UNFULFILLED", "currencyCode": currency, "customerAcceptsMarketing": r.random() < 0.4,
            "discountCodes": ["WELCOME10"] if discount else [],
            "customAttributes": [{"key": "gift_message", "value": "Happy birthday!"}] if r.random() < 0.05 else [],
            "customer": None if guest else {"legacyResourceId": str(customer_id),
                                            "email": f"customer{customer_id - CUSTOMER_BASE}@example.com",
                                            "firstName": "Pat", "lastName": f"Buyer{customer_id % 997}"},
            "subtotalPriceSet": _money(merchandise - discount, currency),
            "totalPriceSet": _money(merchandise - discount + shipping + tax, currency),
            "totalTaxSet": _money(tax, currency),
            "refunds": [{"id": f"gid://shopify/Refund/{rid}", "legacyResourceId": str(rid),
                         "createdAt": (processed + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")}
                        for rid, _, _ in refunds],
        }
        lines = [order, {"id": f"gid://shopify/ShippingLine/{LINE_BASE + n}",
                         "discountedPriceSet": _money(shipping), "__parentId": order_gid}]
        for i, (product_id, price, qty) in enumerate(items):
            gift = product_id == GIFT_CARD[0]
            share = discount if i == 0 and not gift else Decimal(0)
            lines.append({"id": f"gid://shopify/LineItem/{LINE_BASE + n * 8 + i}", "quantity": qty, "isGiftCard": gift,
                          "product": {"legacyResourceId": str(product_id)},
                          "originalUnitPriceSet": _money(price),
                          "discountAllocations": [{"allocatedAmountSet": _money(share)}] if share else [],
                          "__parentId": order_gid})
        for rid, refund_items, refund_shipping in refunds:
            refund_gid = f"gid://shopify/Refund/{rid}"
            self.refunds[refund_gid] = {"id": refund_gid, "refundLineItems": {"nodes": [
                {"lineItem": {"isGiftCard": gift}, "subtotalSet": _money(amount, currency),
                 "totalTaxSet": _money(amount * Decimal("0.08"))} for amount, gift in refund_items],
                "pageInfo": {"hasNextPage": False, "endCursor": None}},
                "refundShippingLines": {"nodes": [{"subtotalAmountSet": _money(refund_shipping),
                                                   "taxAmountSet": _money(Decimal(0))}] if refund_shipping else [],
                                        "pageInfo": {"hasNextPage": False}}}
        return lines

    @staticmethod
    def _refund(n, i, items, discount, shipping, currency, processed, *, everything=False):
        amounts = [(price * qty - (discount if j == 0 else 0), product_id == GIFT_CARD[0])
                   for j, (product_id, price, qty) in enumerate(items)]
        return REFUND_BASE + n * 2 + i, amounts, shipping if everything else Decimal(0)


# ---- Shopify on 127.0.0.1 -------------------------------------------------------------------

SERVER = r'''
import json, os, re, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

path, port, roots, refunds_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
OPERATION = "gid://shopify/BulkOperation/3514700001"
with open(refunds_path) as source:
    REFUNDS = json.load(source)

class Shopify(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each small answer waits ~40 ms for a delayed ACK

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        operation = {"id": OPERATION, "status": "COMPLETED", "errorCode": None, "createdAt": "2025-02-14T15:00:00Z",
                     "completedAt": "2025-02-14T15:01:00Z", "objectCount": roots, "rootObjectCount": roots,
                     "fileSize": str(os.path.getsize(path)), "partialDataUrl": None, "query": "",
                     "url": f"http://127.0.0.1:{port}/export.jsonl"}
        if body["operationName"] == "RefundDetails":
            data = {"nodes": [REFUNDS.get(i) for i in body["variables"]["ids"]]}
        elif body["operationName"] == "RunBulkQuery":
            data = {"bulkOperationRunQuery": {"bulkOperation": {"id": OPERATION, "status": "CREATED",
                                                                "createdAt": "2025-02-14T15:00:00Z"}, "userErrors": []}}
        else:
            data = {"node": operation}
        answer = json.dumps({"data": data, "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10,
                "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}}}})
        self._send(200, answer.encode(), "application/json")

    def do_GET(self):
        size = os.path.getsize(path)
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        start = int(match.group(1)) if match else 0
        self.send_response(206 if match else 200)
        self.send_header("Content-Type", "application/jsonl")
        self.send_header("Content-Length", str(size - start))
        if match:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.end_headers()
        with open(path, "rb") as source:
            source.seek(start)
            while chunk := source.read(1 << 20):
                self.wfile.write(chunk)

    def _send(self, status, payload, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

ThreadingHTTPServer(("127.0.0.1", port), Shopify).serve_forever()
'''


@contextmanager
def fake_shopify(path: Path, orders: int, refunds_path: Path):
    port = common.free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(path), str(port), str(orders), str(refunds_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        common.wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


# ---- the runs -------------------------------------------------------------------------------

def baseline(t, url: str, shop_id: int) -> tuple[float, int]:
    """Download and parse the same file; insert one row per order, 1000 per INSERT and commit,
    with the import's own INSERT (PostgreSQL: one statement of column arrays)."""
    import requests

    from app.models import Order
    from app.services.bulk_import import insert_rows
    from app.shopify.bulk import stream_records
    begin, rows, inserted = time.perf_counter(), [], 0
    with t.db.scope() as session:
        for _, record in stream_records(requests.Session(), f"{url}/export.jsonl"):
            if "__parentId" in record:
                continue
            rows.append({"shop_id": shop_id, "order_id": int(record["legacyResourceId"]), "member_id": None,
                         "customer_id": None, "name": record["name"], "currency": record["currencyCode"],
                         "total_minor": 0, "subtotal_minor": 0, "earning_base_minor": 0, "refunded_base_minor": 0,
                         "financial_status": record["displayFinancialStatus"].lower(), "fulfillment_status": None,
                         "discount_codes": record["discountCodes"], "referral_code": None, "is_test": record["test"],
                         "paid_at": None, "fulfilled_at": None, "cancelled_at": None, "processed_at": None,
                         "shopify_updated_at": None, "facts": None, "created_at": NOW, "updated_at": NOW})
            if len(rows) == BATCH:
                insert_rows(session, Order.__table__, rows, conflict=("shop_id", "order_id"))  # as the import does
                session.commit()
                inserted, rows = inserted + len(rows), []
        insert_rows(session, Order.__table__, rows, conflict=("shop_id", "order_id"))
        session.commit()
        inserted += len(rows)
    return time.perf_counter() - begin, inserted


def empty_tables(t) -> None:
    with t.db.engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE orders, refunds, ledger_entries, members, import_jobs, bulk_export_lines CASCADE")
    with t.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


def run_import(t, shop_id: int, *, earn_points: bool) -> tuple[float, dict]:
    """As the worker runs it: the run_import task, each slice queuing the next."""
    from app.jobs import InProcessQueue
    from app.models import ImportJob, Shop
    from app.services import orders_import
    from app.services.import_jobs import start_import
    recompute, tiers_s = orders_import.recompute_tiers, []

    def timed_recompute(*args, **kwargs):  # how much of the total the final tier recompute is
        begin = time.perf_counter()
        try:
            return recompute(*args, **kwargs)
        finally:
            tiers_s.append(time.perf_counter() - begin)

    orders_import.recompute_tiers = timed_recompute
    t.queue = InProcessQueue()
    begin = time.perf_counter()
    with t.db.scope() as session:
        job = start_import(session, session.get(Shop, shop_id), "orders", now=t.clock(),
                           options={"since": "2024-01-01", "earn_points": earn_points}, enqueue=t.queue.enqueue)
    slices = t.queue.drain(t)
    elapsed = time.perf_counter() - begin
    orders_import.recompute_tiers = recompute
    with t.db.scope(read_only=True) as session:
        job = session.get(ImportJob, job.id)
        assert job.status == "done", (job.status, job.last_error)
        figures = {"slices": slices, "processed": job.processed, "cursor": json.loads(job.cursor),
                   "tiers_s": sum(tiers_s)}
    return elapsed, figures


def contents(t, shop_id: int) -> dict:
    from app.models import LedgerEntry, Member, Order, Refund
    with t.db.scope(read_only=True) as session:
        def count(model):
            return session.scalar(select(func.count()).select_from(model).where(model.shop_id == shop_id))
        kinds = dict(session.execute(select(LedgerEntry.kind, func.count()).where(LedgerEntry.shop_id == shop_id)
                                     .group_by(LedgerEntry.kind)).all())
        points = session.scalar(select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
            LedgerEntry.shop_id == shop_id))
        tiers = dict(session.execute(select(Member.tier_key, func.count()).where(Member.shop_id == shop_id)
                                     .group_by(Member.tier_key)).all())
        return {"orders": count(Order), "refunds": count(Refund), "members": count(Member), "entries": kinds,
                "points": int(points), "tiers": tiers}


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], orders=(1_000_000, "orders in the shop's history"),
                            also_without_points=(0, "1: also time the import with past orders earning no points"))
    orders = 5_000 if args.quick else args.orders
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tessera-bench-history-")))
        history, path, refunds_path = History(orders), directory / "export.jsonl", directory / "refunds.json"
        generated = time.perf_counter()
        history.write(path, refunds_path)
        generated = time.perf_counter() - generated
        print(f"generated {orders:,} orders ({history.lines:,} lines, {path.stat().st_size / 1e6:,.0f} MB) in "
              f"{generated:.0f} s: {', '.join(f'{n:,} {k}' for k, n in sorted(history.kinds.items()))}")
        shopify = stack.enter_context(fake_shopify(path, orders, refunds_path))
        database_url = stack.enter_context(common.database("postgresql", pg_settings=PG_SETTINGS))
        config = dict(common.settings(database_url), SHOPIFY_ADMIN_BASE_URL=shopify + "/{shop}")
        app, t = common.build_app(config)
        t.clock = lambda: NOW
        shop_id = common.install_shop(t)
        from app.models import Shop
        from app.services.program import update_program
        with t.db.scope() as session:
            update_program(session, session.get(Shop, shop_id), PROGRAM, staff_user_id="bench", now=NOW)
        base_s, base_rows = baseline(t, shopify, shop_id)
        print(f"baseline: {base_rows:,} order rows downloaded, parsed and inserted in {base_s:.1f} s")
        runs = [("yes", True)] + ([("no", False)] if args.also_without_points else [])
        rows = [["baseline: download + parse + INSERT order rows, no rules", f"{base_s:.1f}",
                 f"{base_rows / base_s:,.0f}", "1.00", f"{base_rows:,} orders"]]
        for label, earn in runs:
            empty_tables(t)
            elapsed, figures = run_import(t, shop_id, earn_points=earn)
            found = contents(t, shop_id)
            print(f"import (earn points: {label}): {elapsed:.1f} s ({figures['tiers_s']:.1f} s of it the final tier "
                  f"recompute), {figures['slices']} worker slices; {found}")
            rows.append([f"import, past orders earn points: {label}", f"{elapsed:.1f}",
                         f"{figures['processed'] / elapsed:,.0f}", f"{elapsed / base_s:.2f}",
                         f"{found['orders']:,} orders, {found['members']:,} members, {found['refunds']:,} refunds, "
                         f"{sum(found['entries'].values()):,} entries"])
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t.db.engine.dispose()
    common.print_table(f"Historical import of {orders:,} orders on PostgreSQL (target < 600 s); peak RSS of the "
                       f"importing process {peak_mb:,.0f} MB",
                       ["run", "seconds", "orders/s", "vs baseline", "written"], rows)


if __name__ == "__main__":
    main()
