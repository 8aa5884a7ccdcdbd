"""A throwaway PostgreSQL server for the test run, from the machine's own binaries.

`make test` installs Debian's postgresql package when it is missing; this module finds
initdb/pg_ctl, starts a cluster in a temporary directory on 127.0.0.1 (as the `postgres`
user when the tests run as root, since PostgreSQL refuses to run as root), and stops it at
the end. TESSERA_TEST_POSTGRES_URL points the tests at an existing server instead.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    raise PostgresUnavailable(f"{name} not found; install PostgreSQL (make test does: apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TemporaryPostgres:
    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="tessera-pg-"))
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = list(args)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)

    def start(self) -> str:
        if self._as_postgres:
            shutil.chown(self.directory, user="postgres")
        data = str(self.directory / "data")
        result = self._run(_binary("initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {result.stderr.strip()[-300:]}")
        options = (f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        result = self._run(_binary("pg_ctl"), "-D", data, "-o", options, "-l", str(self.directory / "log"),
                           "-w", "-t", "60", "start")
        if result.returncode != 0:
            raise PostgresUnavailable(f"pg_ctl start failed: {result.stderr.strip()[-300:]}")
        self._wait_until_ready()
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise PostgresUnavailable("PostgreSQL did not accept connections within 30 s")

    def restart(self) -> None:
        """pg_ctl restart (fast: open transactions are rolled back, connections cut), same port."""
        result = self._run(_binary("pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "-w", "-t", "60",
                           "-l", str(self.directory / "log"), "restart")
        if result.returncode != 0:
            raise PostgresUnavailable(f"pg_ctl restart failed: {result.stderr.strip()[-300:]}")
        self._wait_until_ready()

    def stop(self) -> None:
        self._run(_binary("pg_ctl"), "-D", str(self.directory / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)
