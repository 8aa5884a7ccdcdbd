"""Benchmark 6: widget JS+CSS gzipped, and Lighthouse on the demo storefront with and without the embed.

1. The widget's JS and CSS, gzipped (-9, as tests/storefront/test_widget_assets.py measures the
   12 KB budget): per file, and what a shopper's browser actually requests on a page view
   versus after opening the panel (observed in headless Chromium through Playwright).
2. Lighthouse (npm `lighthouse`, pinned in bench/package-lock.json and installed on demand into
   bench/node_modules) with Debian's Chromium, performance category only, against the demo
   store's storefront preview (`/devstore/storefront`) served by gunicorn on 127.0.0.1 from a
   temporary SQLite database seeded like `make run` does; as a guest and as a seeded member,
   with the embed and with `embed=0`, runs interleaved. Baseline: the same page without the embed.
   Target: median score drop <= 2 points.

Works offline: Lighthouse's throttling is simulated (no network needed), error reporting is off,
and Chromium runs without background networking and cannot resolve any host name.

    .venv/bin/python bench/storefront_weight.py [--runs 5] [--preset mobile|desktop] [--quick]
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import common
from sqlalchemy import create_engine, text

from tests.support.browser import CHROMIUM_FLAGS, chromium, chromium_path

BENCH = Path(__file__).resolve().parent
ASSETS = common.PROJECT_ROOT / "theme_extension" / "assets"
LIGHTHOUSE = BENCH / "node_modules" / ".bin" / "lighthouse"
BUDGET_GZIPPED_BYTES = 12 * 1024
MEMBER_EMAIL = "alice@example.com"  # a seeded member with orders, a tier and a redemption
TARGET_DROP_POINTS = 2
# Lighthouse's own Chromium flags on top of the browser tests' ones: no name resolution at all
# (only 127.0.0.1 is used), so nothing on the page or in Chromium can reach the internet.
LIGHTHOUSE_CHROME_FLAGS = [*CHROMIUM_FLAGS, '--host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"']
METRICS = {"FCP": "first-contentful-paint", "LCP": "largest-contentful-paint", "TBT": "total-blocking-time",
           "CLS": "cumulative-layout-shift", "SI": "speed-index"}


def gzipped_bytes(data: bytes) -> int:
    return len(gzip.compress(data, 9))


# ---- the demo store, served like `make run` but from a temporary database ----

def demo_environment(database_url: str, port: int) -> dict[str, str]:
    app_url = f"http://127.0.0.1:{port}"
    return dict(os.environ, DEVSTORE="1", FLASK_SKIP_DOTENV="1", SHOPIFY_API_KEY="demo-api-key",
                SHOPIFY_API_SECRET="demo-api-secret-not-for-production", APP_URL=app_url, DATABASE_URL=database_url,
                SHOPIFY_ADMIN_BASE_URL=f"{app_url}/devstore/shopify/{{shop}}", LOG_LEVEL="WARNING",
                INPROCESS_WORKER="0", PYTHONPATH=str(common.PROJECT_ROOT))


def seed_demo_store(env: dict[str, str]) -> int:
    """`flask devstore seed` (OAuth install + four months of webhooks); returns the member's customer id."""
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "devstore", "seed"], cwd=common.PROJECT_ROOT,
                            env=env, capture_output=True, text=True, timeout=300)
    if result.returncode:
        raise SystemExit(f"devstore seed failed:\n{result.stdout[-1500:]}{result.stderr[-1500:]}")
    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        customer_id = conn.execute(text("SELECT customer_id FROM members WHERE email = :email"),
                                   {"email": MEMBER_EMAIL}).scalar_one()
    engine.dispose()
    return customer_id


@contextmanager
def demo_server(env: dict[str, str], port: int):
    """gunicorn (gunicorn.conf.py, 1 worker) on the port APP_URL names."""
    env = dict(env, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1")
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", str(common.PROJECT_ROOT / "gunicorn.conf.py"),
                                "wsgi:app"], cwd=common.PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        common.wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


# ---- weight: files, and what the browser requests before and after opening the panel ----

def asset_rows() -> tuple[list[list], dict[str, int]]:
    files = sorted(ASSETS.glob("*.js")) + sorted(ASSETS.glob("*.css"))
    sizes = {p.name: gzipped_bytes(p.read_bytes()) for p in files}
    rows = [[p.name, p.stat().st_size, sizes[p.name]] for p in files]
    total = sum(sizes.values())
    rows.append(["total", sum(p.stat().st_size for p in files), f"{total} ({total / BUDGET_GZIPPED_BYTES:.0%} of the "
                                                                 f"{BUDGET_GZIPPED_BYTES} B budget)"])
    return rows, sizes


def observe_requests(page_url: str) -> tuple[list, list]:
    """(responses on a page view, responses after a click on the launcher), in headless Chromium."""
    with chromium() as browser:
        page = browser.new_page()
        responses = []
        page.on("response", lambda response: responses.append(response))
        page.goto(page_url, wait_until="networkidle")
        on_view = list(responses)
        with page.expect_response(lambda r: "/apps/tessera/" in r.url):
            page.click("[data-tessera-launcher]")
        page.wait_for_selector('.tessera-panel[role="dialog"]')
        page.wait_for_timeout(500)  # anything the open panel asks for next
        return [(r.url, r.body()) for r in on_view], [(r.url, r.body()) for r in responses[len(on_view):]]


def phase_row(visitor: str, phase: str, responses: list, sizes: dict[str, int]) -> list:
    assets = [url.rsplit("/", 1)[1] for url, _ in responses if "/storefront/assets/" in url]
    proxy = [(url.split("/apps/tessera")[1].split("?")[0], body) for url, body in responses if "/apps/tessera/" in url]
    return [visitor, phase, " + ".join(assets) or "-", sum(sizes.get(a, 0) for a in assets),
            ", ".join(f"{path} {gzipped_bytes(body)}" for path, body in proxy) or "-"]


def page_weight_rows(base_url: str, query: str, visitor: str) -> list[list]:
    import requests
    pages = {embed: requests.get(f"{base_url}/devstore/storefront?{query}{suffix}", timeout=30).content
             for embed, suffix in (("with", ""), ("without", "&embed=0"))}
    delta_raw = len(pages["with"]) - len(pages["without"])
    delta_gz = gzipped_bytes(pages["with"]) - gzipped_bytes(pages["without"])
    return [[visitor, f"{len(pages['without'])} / {gzipped_bytes(pages['without'])}",
             f"{len(pages['with'])} / {gzipped_bytes(pages['with'])}", f"+{delta_raw} / +{delta_gz}"]]


# ---- Lighthouse ----

def ensure_lighthouse() -> None:
    """`npm ci` in bench/ when node_modules is missing or older than the lock file. (package.json
    overrides third-party-web: lighthouse 12.8.2's trace engine asks for its "latest" tag, which
    would make the install depend on the day it runs and break `npm ci`.)"""
    stamp = BENCH / "node_modules" / ".installed"
    inputs = [BENCH / "package.json", BENCH / "package-lock.json"]
    if stamp.exists() and all(stamp.stat().st_mtime >= p.stat().st_mtime for p in inputs):
        return
    if not shutil.which("npm"):
        raise SystemExit("npm not found: Node.js 18.16+ and npm are needed for Lighthouse")
    print("Installing Lighthouse into bench/node_modules (npm ci, versions from bench/package-lock.json)...")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=BENCH, check=True)
    stamp.touch()


def lighthouse(url: str, preset: str, directory: Path) -> dict:
    """One Lighthouse run (performance only); returns the report (LHR)."""
    report = directory / "report.json"
    command = [str(LIGHTHOUSE), url, "--only-categories=performance", "--output=json", f"--output-path={report}",
               f"--chrome-flags={' '.join(LIGHTHOUSE_CHROME_FLAGS)}", "--no-enable-error-reporting", "--quiet",
               "--disable-full-page-screenshot", *(["--preset=desktop"] if preset == "desktop" else [])]
    env = dict(os.environ, CHROME_PATH=chromium_path() or "/usr/bin/chromium")
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=directory)
    if result.returncode or not report.exists():
        raise SystemExit(f"lighthouse failed on {url}:\n{result.stderr[-2000:]}")
    lhr = json.loads(report.read_text())
    report.unlink()
    if lhr.get("runtimeError") or lhr["categories"]["performance"]["score"] is None:
        raise SystemExit(f"lighthouse could not score {url}: {lhr.get('runtimeError')} {lhr.get('runWarnings')}")
    return lhr


def figures(lhr: dict) -> dict[str, float]:
    audits = lhr["audits"]
    values = {name: audits[audit]["numericValue"] for name, audit in METRICS.items()}
    values["score"] = lhr["categories"]["performance"]["score"] * 100
    values["bytes"] = audits["total-byte-weight"]["numericValue"]
    return values


def run_lighthouse(pages: dict[tuple[str, str], str], runs: int, preset: str, directory: Path) -> dict:
    """Every page `runs` times, interleaved (with/without alternating first) so drift hits both alike."""
    results: dict[tuple[str, str], list] = {key: [] for key in pages}
    warnings: set[str] = set()
    benchmark_indexes = []
    for run in range(runs):
        for key in sorted(pages, key=lambda k: (k[0], (k[1] == "with") == (run % 2 == 0))):
            lhr = lighthouse(pages[key], preset, directory)
            results[key].append(figures(lhr))
            warnings.update(lhr.get("runWarnings", []))
            benchmark_indexes.append(lhr["environment"]["benchmarkIndex"])
            print(f"  run {run + 1}/{runs} {key[0]:6} {key[1]:7} embed: score {results[key][-1]['score']:.0f}",
                  file=sys.stderr)
    # Lighthouse's CPU yardstick: simulated main-thread time is this machine's time x 4 (mobile).
    print(f"Lighthouse benchmarkIndex of this machine: median {statistics.median(benchmark_indexes):.0f}")
    for warning in sorted(warnings):
        print(f"Lighthouse warning: {warning}")
    return {key: summary(samples) for key, samples in results.items()}


def summary(samples: list[dict[str, float]]) -> dict:
    """The median of each figure over the runs, and the range of the score."""
    medians = {name: statistics.median(r[name] for r in samples) for name in samples[0]}
    return {**medians, "range": (min(r["score"] for r in samples), max(r["score"] for r in samples))}


def lighthouse_rows(medians: dict) -> list[list]:
    rows = []
    for (visitor, embed), m in sorted(medians.items(), key=lambda i: (i[0][0], i[0][1] != "without")):
        low, high = m["range"]
        rows.append([visitor, embed, f"{m['score']:.0f} ({low:.0f}-{high:.0f})", f"{m['FCP']:.0f}",
                     f"{m['LCP']:.0f}", f"{m['TBT']:.0f}", f"{m['CLS']:.3f}", f"{m['SI']:.0f}",
                     f"{m['bytes'] / 1024:.1f}"])
    return rows


def drop_rows(medians: dict) -> list[list]:
    rows = []
    for visitor in sorted({v for v, _ in medians}):
        base, embed = medians[(visitor, "without")], medians[(visitor, "with")]
        drop = base["score"] - embed["score"]
        rows.append([visitor, f"{round(drop, 1) + 0.0:g}", *(f"{embed[k] - base[k]:+.0f}" for k in ("FCP", "LCP", "TBT")),
                     f"{embed['CLS'] - base['CLS']:+.3f}", "met" if drop <= TARGET_DROP_POINTS else "MISSED"])
    return rows


# ---- the benchmark ----

def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], runs=(5, "Lighthouse runs per page and embed setting"),
                            preset=("mobile", "Lighthouse preset: mobile (Lighthouse's default) or desktop"))
    runs = 1 if args.quick else args.runs
    rows, sizes = asset_rows()
    common.print_table("Widget assets (theme_extension/assets), bytes", ["file", "raw", "gzip -9"], rows)
    ensure_lighthouse()
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tessera-bench-lh-")))
        database_url = stack.enter_context(common.database("sqlite"))
        port = common.free_port()
        env = demo_environment(database_url, port)
        member_id = seed_demo_store(env)
        base_url = stack.enter_context(demo_server(env, port))
        visitors = {"guest": "customer=guest&locale=en", "member": f"customer={member_id}&locale=en"}
        report_weight(base_url, visitors, sizes)
        pages = {(visitor, embed): f"{base_url}/devstore/storefront?{query}{'&embed=0' if embed == 'without' else ''}"
                 for visitor, query in visitors.items() for embed in ("with", "without")}
        print(f"\nLighthouse {lighthouse_version()} ({args.preset}, simulated throttling), {runs} run(s) per page...")
        medians = run_lighthouse(pages, runs, args.preset, directory)
    report_lighthouse(medians, runs, args.preset)


def report_weight(base_url: str, visitors: dict[str, str], sizes: dict[str, int]) -> None:
    phases = []
    for visitor, query in visitors.items():
        on_view, after_open = observe_requests(f"{base_url}/devstore/storefront?{query}")
        phases += [phase_row(visitor, "page view, no interaction", on_view, sizes),
                   phase_row(visitor, "then opening the panel", after_open, sizes)]
    common.print_table("What the browser requests (headless Chromium; JS/CSS gzip -9 bytes from the files above)",
                       ["visitor", "phase", "JS/CSS requested", "JS+CSS gzip B", "App Proxy JSON gzip B"], phases)
    rows = [row for visitor, query in visitors.items() for row in page_weight_rows(base_url, query, visitor)]
    common.print_table("The page's HTML (the embed's launcher and locale strings are in it), bytes raw / gzip -9",
                       ["visitor", "embed=0", "with embed", "embed adds"], rows)


def report_lighthouse(medians: dict, runs: int, preset: str) -> None:
    common.print_table(f"Lighthouse performance, {preset}, median of {runs} run(s) (score range); ms except CLS; "
                       "KB transferred (the demo server does not compress)",
                       ["visitor", "embed", "score", "FCP", "LCP", "TBT", "CLS", "SI", "KB"], lighthouse_rows(medians))
    common.print_table(f"Cost of the embed: median score drop in points and metric changes "
                       f"(target: drop <= {TARGET_DROP_POINTS} points)",
                       ["visitor", "score drop", "FCP ms", "LCP ms", "TBT ms", "CLS", "target"], drop_rows(medians))


def lighthouse_version() -> str:
    return json.loads((BENCH / "node_modules" / "lighthouse" / "package.json").read_text())["version"]


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"\n({time.monotonic() - started:.0f} s)")
