"""A shop with a known history (tests/admin/seed.py), seeded once per test session into an
SQLite file that each test then gets a fresh copy of (the seeding goes through the webhook
endpoint and takes a while; the copy takes milliseconds). On PostgreSQL it is seeded per test."""
from __future__ import annotations

import shutil
import sqlite3

import pytest

from app import create_app
from tests.admin.seed import A, B, D, seed_shop, set_tiers
from tests.conftest import TEST_KEY, install
from tests.support import API_KEY, API_VERSION, SECRET, SHOP, FrozenClock, utc


@pytest.fixture(scope="session")
def seeded_sqlite(sqlite_template, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("seeded") / "seeded.db"
    shutil.copyfile(sqlite_template, path)
    settings = {"TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "SHOPIFY_API_KEY": API_KEY,
                "SHOPIFY_API_SECRET": SECRET, "TOKEN_ENCRYPTION_KEY": TEST_KEY, "APP_URL": "https://tessera.example.com",
                "SHOPIFY_ADMIN_BASE_URL": "https://{shop}", "SHOPIFY_API_VERSION": API_VERSION, "REDIS_URL": "",
                "SQLITE_SYNCHRONOUS": "NORMAL", "INPROCESS_WORKER": False, "DEVSTORE": False}
    app = create_app(settings)
    t = app.extensions["tessera"]
    t.clock = clock = FrozenClock(utc(2025, 2, 14, 15, 0))
    t.sleep = lambda seconds: None
    shop = install(t, SHOP)
    seed_shop(app.test_client(), t, shop, clock)
    set_tiers(t, shop, {A: "bronze", B: "silver", D: "gold"})
    t.db.engine.dispose()
    with sqlite3.connect(path) as conn:  # fold the WAL in, so a copy of the file carries everything
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return str(path)


@pytest.fixture
def database_url(database_url, request, backend, tmp_path):
    """Tests using `seeded` on SQLite start from a copy of the seeded file."""
    if backend == "sqlite" and "seeded" in request.fixturenames:
        target = tmp_path / "seeded-copy.db"
        shutil.copyfile(request.getfixturevalue("seeded_sqlite"), target)
        return f"sqlite:///{target}"
    return database_url


@pytest.fixture
def seeded(backend, client, t, clock):
    """The seeded shop. Depend on it instead of `shop` (it replaces the test's database)."""
    if backend == "postgresql":
        shop = install(t, SHOP)
        seed_shop(client, t, shop, clock)
        set_tiers(t, shop, {A: "bronze", B: "silver", D: "gold"})
        return shop
    return install(t, SHOP)
