"""What the benchmarks share: throwaway servers (PostgreSQL with production durability, Redis,
gunicorn), a migrated database with one installed shop, and printing the figures.

Everything listens on 127.0.0.1 and lives in a temporary directory removed at the end.
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

API_KEY = "bench-api-key"
SECRET = "bench-api-secret"
TOKEN_KEY = "dGVzc2VyYS1iZW5jaC1rZXktMDEyMzQ1Njc4OWFiY2Q="
SHOP = "maple-pine-goods.myshopify.com"
# The tests' webhook bodies (Shopify's documented shapes for the configured API version).
PAYLOADS = PROJECT_ROOT / "tests" / "fixtures" / "shopify" / "webhooks"


def arguments(description: str, **extra) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script works, in seconds")
    for name, (default, help_text) in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", default=default, type=type(default), help=help_text)
    return parser.parse_args()


def payload_bytes(topic: str) -> bytes:
    return (PAYLOADS / f"{topic.replace('/', '_')}.json").read_bytes()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary_ms(samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {"p50": statistics.median(ms), "p99": percentile(ms, 0.99), "max": max(ms)}


def print_table(title: str, header: list[str], rows: list[list]) -> None:
    # Other processes on the machine skew every figure; the load average says how much.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{title}\n  machine: {os.cpu_count()} cores, load average now {load}")
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)))


class DurablePostgres:
    """A PostgreSQL cluster with the durability a production server has (fsync, synchronous
    commit, full page writes: the defaults), unlike the test suite's fsync=off server."""

    def __init__(self, settings: dict[str, str] | None = None):
        self.directory = Path(tempfile.mkdtemp(prefix="tessera-bench-pg-"))
        self.port = free_port()
        self.settings = {"shared_buffers": "1GB", "max_connections": "200", **(settings or {})}
        self._as_postgres = os.geteuid() == 0

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        return subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=300)

    @staticmethod
    def _binary(name: str) -> str:
        found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)),
                                           None)
        if not found:
            raise SystemExit(f"{name} not found: install PostgreSQL (apt-get install postgresql)")
        return found

    def start(self) -> str:
        if self._as_postgres:
            shutil.chown(self.directory, user="postgres")
        data = str(self.directory / "data")
        result = self._run(self._binary("initdb"), "-D", data, "-A", "trust", "-U", "postgres")
        if result.returncode:
            raise SystemExit(f"initdb failed: {result.stderr[-300:]}")
        options = " ".join([f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1",
                            *(f"-c {k}={v}" for k, v in self.settings.items())])
        result = self._run(self._binary("pg_ctl"), "-D", data, "-o", options, "-l", str(self.directory / "log"),
                           "-w", "-t", "60", "start")
        if result.returncode:
            raise SystemExit(f"pg_ctl start failed: {result.stderr[-300:]}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        self._run(self._binary("pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def database(backend: str, *, pg_settings: dict[str, str] | None = None):
    """A migrated, empty database URL: a SQLite file or a durable PostgreSQL server."""
    from app.schema import upgrade
    if backend == "sqlite":
        directory = tempfile.mkdtemp(prefix="tessera-bench-")
        url = f"sqlite:///{directory}/tessera.db"
        upgrade(url)
        try:
            yield url
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    server = DurablePostgres(pg_settings)
    try:
        url = server.start()
        upgrade(url)
        yield url
    finally:
        server.stop()


@contextmanager
def redis_server():
    from tests.support.redis import RedisUnavailable, TemporaryRedis
    server = TemporaryRedis()
    try:
        yield server.start()
    except RedisUnavailable as exc:
        raise SystemExit(f"redis-server is needed for this benchmark: {exc}") from exc
    finally:
        server.stop()


def settings(database_url: str, redis_url: str = "") -> dict:
    """The app's settings as a production deployment would have them (durable SQLite commits)."""
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SHOPIFY_API_KEY": API_KEY,
            "SHOPIFY_API_SECRET": SECRET, "TOKEN_ENCRYPTION_KEY": TOKEN_KEY, "SQLITE_SYNCHRONOUS": "FULL",
            "APP_URL": "https://tessera.example.com", "INPROCESS_WORKER": False, "LOG_LEVEL": "WARNING"}


def environment(config: dict) -> dict[str, str]:
    """The same settings as environment variables, for gunicorn and worker processes."""
    env = {k: str(v) for k, v in config.items() if k not in ("INPROCESS_WORKER",)}
    return dict(os.environ, **env, FLASK_SKIP_DOTENV="1", PYTHONPATH=str(PROJECT_ROOT))


def build_app(config: dict):
    from app import create_app
    from app.jobs import InProcessQueue
    app = create_app(config)
    t = app.extensions["tessera"]
    t.queue = InProcessQueue()  # set-up work only; nothing here talks to Shopify
    return app, t


def install_shop(t, domain: str = SHOP):
    from app.jobs import InProcessQueue
    from app.services import shops
    from app.shopify.oauth import AccessGrant
    with t.db.scope() as session:
        shop = shops.install_shop(session, domain, AccessGrant("shpat_bench", scope=""), source="custom_app",
                                  cipher=t.cipher, queue=t.queue, now=t.clock())
    t.queue = InProcessQueue()  # drop the post-install Shopify calls: there is no Shopify here
    return shop.id


# The project's gunicorn.conf.py unchanged, plus a hook that marks each worker once it has
# loaded the app: gunicorn listens (and the kernel queues connections) long before its workers
# have imported the app, which on 2 busy cores takes seconds (~9 s measured for Tessera's 4).
READY_CONFIG = """
import os as _os
_project_config = {config!r}
exec(compile(open(_project_config).read(), _project_config, "exec"))
open({expected!r}, "w").write(str(workers))
_project_post_worker_init = globals().get("post_worker_init")


def post_worker_init(worker):
    if _project_post_worker_init is not None:
        _project_post_worker_init(worker)
    open(_os.path.join({directory!r}, "booted-%d" % _os.getpid()), "w").close()
"""


@contextmanager
def gunicorn(app_module: str, env: dict[str, str], *, workers: int | None = None, boot_timeout: float = 180,
             extra_config: str = ""):
    """`gunicorn --config gunicorn.conf.py APP` on a free port, as the Procfile runs it; yields once
    every worker has loaded the app (not when the port opens), so no run measures the boot.
    `extra_config` is appended to the configuration (server hooks, e.g. a profiler)."""
    port = free_port()
    directory = Path(tempfile.mkdtemp(prefix="tessera-bench-gunicorn-"))
    config = directory / "gunicorn_ready.conf.py"
    config.write_text(READY_CONFIG.format(config=str(PROJECT_ROOT / "gunicorn.conf.py"),
                                          expected=str(directory / "workers"), directory=str(directory))
                      + extra_config)
    env = dict(env, BIND=f"127.0.0.1:{port}", **({"WEB_CONCURRENCY": str(workers)} if workers else {}))
    # The log goes to a file: an unread pipe blocks every worker once 64 KB of log have piled up.
    log_path = directory / "gunicorn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", str(config), app_module],
                                   cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
                                   start_new_session=True)
    try:
        wait_for_port(port)
        deadline = time.monotonic() + boot_timeout
        while True:
            expected = (directory / "workers").read_text() if (directory / "workers").exists() else ""
            booted = len(list(directory.glob("booted-*")))
            if expected and booted >= int(expected):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise SystemExit(f"gunicorn {app_module}: {booted} of {expected or '?'} workers booted "
                                 f"(exit code {process.returncode}); its log ends:\n{tail}")
            time.sleep(0.05)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)
