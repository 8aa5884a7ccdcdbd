"""Fixtures: an app on a fresh, migrated database (SQLite, and PostgreSQL for tests marked
`both_backends`), a fixed clock, installed shops, a test client."""
from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from app import create_app
from app.jobs import InProcessQueue
from app.schema import upgrade
from app.services import shops
from app.shopify.oauth import AccessGrant
from tests.support import API_KEY, API_VERSION, OTHER_SHOP, SECRET, SHOP, FrozenClock, utc
from tests.support.postgres import PostgresUnavailable, TemporaryPostgres

TEST_KEY = "dGVzc2VyYS10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGU="


def pytest_configure(config):
    config.addinivalue_line("markers", "both_backends: run the test on SQLite and on PostgreSQL")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_backends") is not None
        metafunc.parametrize("backend", ["sqlite", "postgresql"] if both else ["sqlite"])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:  # fold the WAL into the file so a copy carries everything
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return str(path)


@pytest.fixture(scope="session")
def postgres_base_url():
    url = os.environ.get("TESSERA_TEST_POSTGRES_URL")
    server = None
    if not url:
        server = TemporaryPostgres()
        try:
            url = server.start()
        except PostgresUnavailable as exc:
            pytest.skip(f"PostgreSQL tests skipped: {exc}")
    engine = sa.create_engine(f"{url}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS tessera_template")
        conn.exec_driver_sql("CREATE DATABASE tessera_template")
    upgrade(f"{url}/tessera_template")
    yield url, engine
    engine.dispose()
    if server:
        server.stop()


@pytest.fixture
def database_url(backend, request, tmp_path):
    if backend == "sqlite":
        target = tmp_path / "tessera.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    with fresh_postgres_database(request) as url:
        yield url


@contextmanager
def fresh_postgres_database(request):
    """A new PostgreSQL database copied from the migrated template; dropped afterwards."""
    base_url, admin_engine = request.getfixturevalue("postgres_base_url")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE tessera_template")
    try:
        yield f"{base_url}/{name}"
    finally:
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def stub(clock):
    """Shopify's Admin GraphQL at the HTTP boundary (schema-checked; see support/shopify_stub)."""
    import responses

    from tests.support.shopify_stub import AdminStub
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield AdminStub(rsps, clock=clock)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(utc(2025, 2, 14, 15, 0))


@pytest.fixture
def app_settings(database_url) -> dict:
    return {"TESTING": True, "DATABASE_URL": database_url, "SHOPIFY_API_KEY": API_KEY, "SHOPIFY_API_SECRET": SECRET,
            "TOKEN_ENCRYPTION_KEY": TEST_KEY, "APP_URL": "https://tessera.example.com",
            "SHOPIFY_ADMIN_BASE_URL": "https://{shop}", "SHOPIFY_API_VERSION": API_VERSION, "REDIS_URL": "",
            "SQLITE_SYNCHRONOUS": "NORMAL", "INPROCESS_WORKER": False, "DEVSTORE": False}


@pytest.fixture
def app(app_settings, clock):
    app = create_app(app_settings)
    t = app.extensions["tessera"]
    t.clock = clock
    t.sleep = lambda seconds: None  # Shopify backoff costs no wall time in tests
    yield app
    t.db.engine.dispose()


@pytest.fixture
def t(app):
    return app.extensions["tessera"]


@pytest.fixture
def client(app):
    return app.test_client()


def install(t, domain: str, token: str = "shpat_test_token"):
    with t.db.scope() as session:
        shop = shops.install_shop(session, domain, AccessGrant(token, scope="read_orders"), source="custom_app",
                                  cipher=t.cipher, queue=t.queue, now=t.clock())
    t.queue = InProcessQueue()  # drop the post-install Shopify calls; tests that need them stub Shopify
    return shop


@pytest.fixture
def shop(t):
    return install(t, SHOP)


@pytest.fixture
def other_shop(t):
    return install(t, OTHER_SHOP, token="shpat_other_token")


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium for browser tests; skipped with a visible reason only if absent."""
    from tests.support.browser import chromium, chromium_path
    if chromium_path() is None:
        pytest.skip("browser tests skipped: chromium is not installed (make test installs it)")
    with chromium() as instance:
        yield instance


@pytest.fixture
def live_server(app):
    """The test app served on 127.0.0.1 (threaded), for browser tests."""
    from tests.support.browser import serve
    with serve(app) as url:
        yield url
