"""RQ on a real redis-server: the app enqueues to it, and worker processes (`flask --app wsgi
worker`, as in production) work it against the test's database."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from app.jobs import RQQueue
from tests.conftest import fresh_postgres_database
from tests.support import PROJECT_ROOT
from tests.support.redis import RedisUnavailable, TemporaryRedis


@pytest.fixture(scope="session")
def redis_url():
    server = TemporaryRedis()
    try:
        url = server.start()
    except RedisUnavailable as exc:
        server.stop()
        pytest.skip(f"RQ worker tests skipped: {exc}")
    yield url
    server.stop()


@pytest.fixture
def postgres_database_url(request):
    """A fresh PostgreSQL database (production pairs RQ with PostgreSQL)."""
    with fresh_postgres_database(request) as url:
        yield url


@pytest.fixture
def app_settings(app_settings, redis_url):
    return {**app_settings, "REDIS_URL": redis_url}


@pytest.fixture
def rq_t(t, shop, redis_url):
    """The app with its RQ queue, emptied of what installing the shop enqueued."""
    queue = RQQueue(redis_url)
    queue.redis.flushdb()
    t.queue = queue
    yield t
    queue.redis.flushdb()
    queue.redis.close()


def worker_env(app_settings: dict) -> dict[str, str]:
    keys = ("DATABASE_URL", "REDIS_URL", "SHOPIFY_API_KEY", "SHOPIFY_API_SECRET", "TOKEN_ENCRYPTION_KEY",
            "SQLITE_SYNCHRONOUS")
    return dict(os.environ, **{k: str(app_settings[k]) for k in keys}, FLASK_SKIP_DOTENV="1",
                INPROCESS_WORKER="0", LOG_LEVEL="WARNING", PYTHONPATH=str(PROJECT_ROOT))


def start_worker(app_settings: dict, *args: str, script: str | None = None) -> subprocess.Popen:
    """`flask --app wsgi worker ARGS` (or a script) in its own process group, so a kill takes
    everything it started."""
    command = [sys.executable, "-c", script] if script else [sys.executable, "-m", "flask", "--app", "wsgi",
                                                             "worker", *args]
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=worker_env(app_settings), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(condition, timeout: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop_worker(worker: subprocess.Popen, timeout: float = 20) -> str:
    """Ask for rq's warm shutdown (finish the current job, then exit); returns the output."""
    if worker.poll() is None:
        os.killpg(worker.pid, 15)
    output, _ = worker.communicate(timeout=timeout)
    return output
