"""A throwaway redis-server for the RQ tests, from the machine's own binary (`make test`
installs Debian's redis-server when it is missing). Listens on 127.0.0.1 on a free port, keeps
nothing on disk, and is stopped at the end of the run."""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time


class RedisUnavailable(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TemporaryRedis:
    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="tessera-redis-")
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> str:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailable("redis-server not found; install it (make test does: apt-get install redis-server)")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.directory, "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_until_ready()
        return f"redis://127.0.0.1:{self.port}/0"

    def _wait_until_ready(self) -> None:
        from redis import Redis
        from redis.exceptions import ConnectionError as RedisConnectionError
        client = Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisUnavailable(f"redis-server exited at start (code {self.process.returncode})")
            try:
                client.ping()
                return
            except RedisConnectionError:
                time.sleep(0.05)
        raise RedisUnavailable("redis-server did not answer PING within 10 s")

    def restart(self) -> None:
        """Stop and start again on the same port; without persistence every queued job is gone."""
        self.process.terminate()
        self.process.wait(timeout=10)
        self.start()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.directory, ignore_errors=True)
