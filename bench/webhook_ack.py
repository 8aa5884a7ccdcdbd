"""Benchmark 1: webhook acknowledgement under load.

50 concurrent senders (wrk, keep-alive, closed loop) POST signed orders/paid deliveries (the
real payload, a new X-Shopify-Webhook-Id each time) to Tessera served by gunicorn with
gunicorn.conf.py, then the same load to a trivial Flask handler served the same way.
Modes: production (PostgreSQL + Redis: the request verifies the HMAC and hands the row to the
process's intake writer, which commits concurrent deliveries together and rings one coalesced
wake-up per commit) and embedded (SQLite with durable commits; the in-process worker thread of
each web process processes what arrives, as in the default deployment).

    .venv/bin/python bench/webhook_ack.py [--seconds 15] [--mode production|embedded|both] [--quick]
"""
from __future__ import annotations

import re
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path

import common

from app.shopify.signatures import webhook_hmac
from config import DEFAULT_API_VERSION

CONNECTIONS = 50
LUA = """
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("sender", counter)
end
function init(args)
  local f = assert(io.open("{body_path}", "rb"))
  wrk.body = f:read("*all")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Shopify-Topic"] = "orders/paid"
  wrk.headers["X-Shopify-Shop-Domain"] = "{shop}"
  wrk.headers["X-Shopify-API-Version"] = "{api_version}"
  wrk.headers["X-Shopify-Triggered-At"] = "2025-02-14T14:31:03.412Z"
  wrk.headers["X-Shopify-Hmac-Sha256"] = "{hmac}"
  sent = 0
end
function request()
  sent = sent + 1
  local id = "{run}-" .. sender .. "-" .. sent
  wrk.headers["X-Shopify-Webhook-Id"] = id
  wrk.headers["X-Shopify-Event-Id"] = id
  return wrk.format(nil, "/webhooks")
end
"""

TRIVIAL_APP = '''
from flask import Flask

app = Flask(__name__)


@app.post("/webhooks")
def receive_webhook():
    return {"status": "pending", "id": 1}, 200
'''


def wrk_script(directory: Path, run: str) -> Path:
    body = common.payload_bytes("orders/paid")
    (directory / "body.json").write_bytes(body)
    script = directory / f"{run}.lua"
    script.write_text(LUA.replace("{body_path}", str(directory / "body.json")).replace("{shop}", common.SHOP)
                      .replace("{api_version}", DEFAULT_API_VERSION)
                      .replace("{hmac}", webhook_hmac(body, common.SECRET)).replace("{run}", run))
    return script


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise SystemExit(f"cannot read wrk's latency {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def run_wrk(port: int, script: Path, seconds: int, connections: int = CONNECTIONS) -> dict:
    import subprocess
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk (scripts/ensure-system-packages.sh installs it)")
    result = subprocess.run(["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
                             f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True)
    out = result.stdout
    if "Latency Distribution" not in out:
        raise SystemExit(f"unexpected wrk output:\n{out}\n{result.stderr}")
    if int(re.search(r"(\d+) requests in", out).group(1)) == 0:
        raise SystemExit(f"wrk completed no request (a server still booting, or every request past wrk's 2 s "
                         f"timeout): no figure to report\n{out}\n{result.stderr}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"p50": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
            "p99": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "errors": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else "none"}


def inbox_rows(database_url: str) -> int:
    from sqlalchemy import create_engine, text
    engine = create_engine(database_url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM webhook_events")).scalar()
    engine.dispose()
    return count


def measure_tessera(mode: str, seconds: int, directory: Path) -> tuple[dict, int]:
    with ExitStack() as stack:
        backend = "postgresql" if mode == "production" else "sqlite"
        url = stack.enter_context(common.database(backend))
        redis_url = stack.enter_context(common.redis_server()) if mode == "production" else ""
        config = common.settings(url, redis_url)
        app, t = common.build_app(config)
        common.install_shop(t)
        t.db.engine.dispose()
        env = common.environment(config)
        env["INPROCESS_WORKER"] = "0" if mode == "production" else "1"
        port = stack.enter_context(common.gunicorn("wsgi:app", env))
        run_wrk(port, wrk_script(directory, f"warm-{mode}"), 2)
        figures = run_wrk(port, wrk_script(directory, mode), seconds)
        alone = run_wrk(port, wrk_script(directory, f"alone-{mode}"), max(2, seconds // 3), connections=1)
        return figures, alone, inbox_rows(url)


def measure_trivial(seconds: int, directory: Path) -> dict:
    (directory / "trivial_app.py").write_text(TRIVIAL_APP)
    env = common.environment({})
    env["PYTHONPATH"] = f"{directory}:{env['PYTHONPATH']}"
    with common.gunicorn("trivial_app:app", env) as port:
        run_wrk(port, wrk_script(directory, "warm-trivial"), 2)
        figures = run_wrk(port, wrk_script(directory, "trivial"), seconds)
        return figures, run_wrk(port, wrk_script(directory, "alone-trivial"), max(2, seconds // 3), connections=1)


def row(name: str, loaded: dict, alone: dict, trivial: dict, stored) -> list:
    return [name, f"{loaded['p50']:.1f}", f"{loaded['p99']:.1f}", f"{loaded['rps']:.0f}",
            f"{loaded['rps'] / trivial['rps']:.2f}", f"{loaded['p99'] / trivial['p99']:.2f}",
            loaded["errors"] + alone["errors"], loaded["socket_errors"],
            f"{alone['p50']:.2f} / {alone['p99']:.2f}", stored]


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], seconds=(15, "seconds of load per run"),
                            mode=("both", "production, embedded or both"))
    seconds = 3 if args.quick else args.seconds
    modes = ["production", "embedded"] if args.mode == "both" else [args.mode]
    directory = Path(tempfile.mkdtemp(prefix="tessera-bench-ack-"))
    try:
        trivial, trivial_alone = measure_trivial(seconds, directory)
        rows = [row("trivial Flask handler", trivial, trivial_alone, trivial, "-")]
        for mode in modes:
            figures, alone, stored = measure_tessera(mode, seconds, directory)
            rows.append(row(f"Tessera /webhooks ({mode})", figures, alone, trivial, stored))
        common.print_table(f"Webhook ack: {CONNECTIONS} concurrent senders for {seconds} s, then 1 sender (service time "
                           "without queueing); gunicorn.conf.py defaults. Targets: production >= 0.50 x trivial "
                           "throughput and p99 <= 2 x trivial p99; embedded >= 0.30 x trivial throughput",
                           ["server", "p50 ms", "p99 ms", "req/s", "vs trivial", "p99 vs trivial", "non-2xx", "wrk socket errors", "1 sender p50/p99 ms",
                            "inbox rows"], rows)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
