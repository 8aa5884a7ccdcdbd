"""Fault drills on the production pairing: gunicorn, PostgreSQL, Redis, RQ workers and the
scheduler, each a real process. A sender posts 2,000 signed orders/paid deliveries
concurrently and, like Shopify, sends a delivery again (same webhook id) until it gets a 200.
PostgreSQL and then Redis restart in the middle. Every delivery must be applied exactly once."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from app import create_app
from app.schema import upgrade
from app.services import shops
from app.shopify.oauth import AccessGrant
from tests.conftest import TEST_KEY
from tests.jobs.conftest import wait_for, worker_env
from tests.support import API_KEY, ORDER_ID, PROJECT_ROOT, SECRET, SHOP, payload, webhook_headers
from tests.support.postgres import PostgresUnavailable, TemporaryPostgres
from tests.support.redis import RedisUnavailable, TemporaryRedis

DELIVERIES = 2000
SENDERS = 16
RESTART_POSTGRES_AT, RESTART_REDIS_AT = 500, 1100  # acknowledged deliveries
GIVE_UP_SECONDS = 90  # per delivery (Shopify keeps trying for 48 hours)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def servers():
    """PostgreSQL and Redis of the drill's own, so restarting them disturbs no other test."""
    postgres, redis = TemporaryPostgres(), TemporaryRedis()
    try:
        base = postgres.start()
        redis_url = redis.start()
    except (PostgresUnavailable, RedisUnavailable) as exc:
        postgres.stop()
        redis.stop()
        pytest.skip(f"fault drills skipped: {exc}")
    engine = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE DATABASE tessera_drill")
    engine.dispose()
    upgrade(f"{base}/tessera_drill")
    yield postgres, redis, f"{base}/tessera_drill", redis_url
    redis.stop()
    postgres.stop()


def production_settings(database_url: str, redis_url: str) -> dict:
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SHOPIFY_API_KEY": API_KEY,
            "SHOPIFY_API_SECRET": SECRET, "TOKEN_ENCRYPTION_KEY": TEST_KEY, "SQLITE_SYNCHRONOUS": "FULL"}


def install_shop(database_url: str) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "REDIS_URL": "", "SHOPIFY_API_KEY": API_KEY,
                      "SHOPIFY_API_SECRET": SECRET, "TOKEN_ENCRYPTION_KEY": TEST_KEY})
    t = app.extensions["tessera"]
    with t.db.scope() as session:
        shops.install_shop(session, SHOP, AccessGrant("shpat_drill", scope="read_orders"), source="oauth",
                           cipher=t.cipher, queue=t.queue, now=t.clock())
    t.db.engine.dispose()


def start_process(settings: dict, log_path, *command: str, **env: str) -> subprocess.Popen:
    """A production process in its own process group, its output in a file (a pipe nobody reads
    would fill up and stop it)."""
    with open(log_path, "w") as log:
        return subprocess.Popen([sys.executable, "-m", *command], cwd=PROJECT_ROOT,
                                env={**worker_env(settings), **env}, start_new_session=True,
                                stdout=log, stderr=subprocess.STDOUT, text=True)


def stop_processes(processes: list[subprocess.Popen]) -> None:
    """Warm shutdown for all at once (workers finish their job), then a kill for any straggler."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def start_web(settings: dict, log_path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    web = start_process(settings, log_path, "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app",
                        BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2", WEB_THREADS="8")
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(url), timeout=60, what="gunicorn to answer")
    return web, url


def _answers(url: str) -> bool:
    try:
        requests.get(f"{url}/healthz", timeout=1)
        return True
    except requests.RequestException:
        return False


def order_delivery(i: int) -> tuple[str, bytes]:
    body = payload("orders/paid")
    body.update(id=ORDER_ID + i, name=f"#D{i}", order_number=100000 + i)
    body["customer"] = dict(body["customer"], id=body["customer"]["id"] + i % 25)
    return f"drill-{i}", json.dumps(body).encode()


class Sender:
    """Shopify's side: each delivery is sent until it is acknowledged with a 200."""

    def __init__(self, url: str):
        self.url = url
        self.acked = 0
        self.failed_attempts = 0
        self.given_up: list[int] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def send(self, i: int) -> None:
        webhook_id, raw = order_delivery(i)
        headers = webhook_headers("orders/paid", raw, webhook_id=webhook_id, event_id=webhook_id)
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while time.monotonic() < deadline:
            if self._post(raw, headers):
                with self._lock:
                    self.acked += 1
                return
            with self._lock:
                self.failed_attempts += 1
            time.sleep(0.3)
        self.given_up.append(i)

    def _post(self, raw: bytes, headers: dict) -> bool:
        if not hasattr(self._local, "http"):
            self._local.http = requests.Session()
        try:
            return self._local.http.post(f"{self.url}/webhooks", data=raw, headers=headers, timeout=5).status_code == 200
        except requests.RequestException:
            self._local.http = requests.Session()
            return False


def applied_counts(engine) -> tuple[int, int, int, int]:
    """(distinct orders earned, entries beyond one per order, inbox rows, inbox rows not done)"""
    with engine.connect() as connection:
        earned = connection.execute(sa.text("SELECT count(DISTINCT entry_key), count(*) FROM ledger_entries "
                                            "WHERE entry_key LIKE :earn"), {"earn": "order:%:earn"}).one()
        inbox = connection.execute(sa.text(
            "SELECT count(*), count(*) FILTER (WHERE status <> 'done') FROM webhook_events")).one()
    return earned[0], earned[1] - earned[0], inbox[0], inbox[1]


def test_deliveries_survive_postgresql_then_redis_restarting_and_are_applied_exactly_once(servers, tmp_path):
    postgres, redis, database_url, redis_url = servers
    install_shop(database_url)
    settings = production_settings(database_url, redis_url)
    web, url = start_web(settings, tmp_path / "web.log")
    processes = [web, *(start_process(settings, tmp_path / f"worker{n}.log", "flask", "--app", "wsgi", "worker")
                        for n in range(2)),
                 start_process(settings, tmp_path / "scheduler.log", "flask", "--app", "wsgi", "scheduler")]
    sender = Sender(url)
    started = time.monotonic()
    engine = sa.create_engine(database_url, pool_pre_ping=True)
    try:
        with ThreadPoolExecutor(SENDERS) as pool:
            sending = [pool.submit(sender.send, i) for i in range(DELIVERIES)]
            wait_for(lambda: sender.acked >= RESTART_POSTGRES_AT, timeout=120, what="deliveries before the restart")
            postgres_restarted_at = sender.acked
            postgres.restart()
            wait_for(lambda: sender.acked >= RESTART_REDIS_AT, timeout=120, what="deliveries after PostgreSQL")
            redis_restarted_at = sender.acked
            redis.restart()
            for future in sending:
                future.result()
        sent_in = time.monotonic() - started
        wait_for(lambda: applied_counts(engine)[0] == DELIVERIES and applied_counts(engine)[3] == 0, timeout=240,
                 what="every delivery processed")
        print(f"sent and acknowledged in {sent_in:.0f} s, processed in {time.monotonic() - started:.0f} s; "
              f"{sender.failed_attempts} attempts failed and were sent again")
    finally:
        final = applied_counts(engine)
        engine.dispose()
        stop_processes(processes)
    logs = {p.name: p.read_text()[-3000:] for p in tmp_path.glob("*.log")}
    assert postgres_restarted_at < redis_restarted_at < DELIVERIES  # both restarts hit the middle of the run
    assert sender.given_up == [] and sender.acked == DELIVERIES
    # (orders earned, entries beyond one per order, inbox rows, inbox rows not done)
    assert final == (DELIVERIES, 0, DELIVERIES, 0), logs
