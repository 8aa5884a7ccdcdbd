#!/usr/bin/env python3
"""Screenshots for the README tour (docs/tour.md), taken from the running product.

Starts Tessera with the demo store on a temporary SQLite database (nothing in instance/ is
touched), seeds it, serves it on a free local port, and photographs the pages in SHOTS with
headless Chromium (Playwright driving Debian's /usr/bin/chromium) into docs/screenshots/.

    .venv/bin/python scripts/screenshots.py            # every shot
    .venv/bin/python scripts/screenshots.py admin-home # only these

To add a page, append a Shot: `path` is an app path (`{alice}` is Alice's customer id);
`admin=True` opens it as the embedded admin does (shop, host and a fresh session token);
`click` and `wait_for` are Playwright selectors; every shot also waits until nothing on the page
is `aria-busy`. Pages that answer 404 are skipped with a note, so shots of pages still being
built can be listed ahead of time.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
SHOP = "demo-store.myshopify.com"
API_KEY = "demo-api-key"
CHROMIUM = os.environ.get("TESSERA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 860}


@dataclass(frozen=True)
class Shot:
    name: str
    path: str
    admin: bool = False
    click: str | None = None
    wait_for: str | None = None
    full_page: bool = False


SHOTS = [
    Shot("storefront-guest", "/devstore/storefront?customer=guest", click="[data-tessera-launcher]",
         wait_for=".tessera-panel"),
    Shot("storefront-member", "/devstore/storefront?customer={alice}", click="[data-tessera-launcher]",
         wait_for=".tessera-panel"),
    Shot("storefront-rewards-page", "/devstore/storefront?customer={alice}&page=rewards"),
    Shot("admin-home", "/", admin=True),
    Shot("admin-program", "/program", admin=True),
    Shot("admin-members", "/members", admin=True),
    Shot("admin-member", "/members/{alice}", admin=True),
    Shot("admin-analytics", "/analytics", admin=True),
    Shot("admin-import", "/import", admin=True, full_page=True),
    Shot("admin-activity", "/activity", admin=True),
    Shot("devstore-home", "/devstore/"),
    Shot("devstore-webhooks", "/devstore/webhooks"),
    Shot("devstore-extensions", "/devstore/extensions?customer={alice}", wait_for="#admin-order-block table",
         full_page=True),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def demo_env(work: Path, port: int) -> dict[str, str]:
    """The Makefile's DEMO_ENV, on a temporary database and port."""
    base = f"http://127.0.0.1:{port}"
    return {**os.environ, "DEVSTORE": "1", "FLASK_SKIP_DOTENV": "1", "SHOPIFY_API_KEY": API_KEY, "APP_URL": base,
            "DATABASE_URL": f"sqlite:///{work / 'demo.db'}",
            "SHOPIFY_ADMIN_BASE_URL": f"{base}/devstore/shopify/{{shop}}", "SQLITE_SYNCHRONOUS": "NORMAL",
            "LOG_LEVEL": "WARNING"}


def flask(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=True)


def wait_until_up(base: str, server: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode})")
        try:
            urlopen(f"{base}/devstore/", timeout=2)
            return
        except (URLError, ConnectionError):
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer on {base} within {seconds} s")


def customer_id(work: Path, email: str) -> int:
    state = json.loads((work / "demo.db.devstore.json").read_text())
    customers = state["shops"][SHOP]["customers"].values()
    return next(c["id"] for c in customers if c["email"] == email)


def admin_url(base: str, path: str) -> str:
    token = json.load(urlopen(f"{base}/devstore/session-token?shop={SHOP}"))["token"]
    host = "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZGVtby1zdG9yZQ"  # admin.shopify.com/store/demo-store
    query = urlencode({"shop": SHOP, "host": host, "embedded": "1", "id_token": token})
    return f"{base}{path}{'&' if '?' in path else '?'}{query}"


def status_of(url: str) -> int:
    try:
        return urlopen(url, timeout=10).status
    except HTTPError as exc:
        return exc.code


def take(browser, base: str, shot: Shot, alice: int) -> str:
    path = shot.path.format(alice=alice)
    url = admin_url(base, path) if shot.admin else f"{base}{path}"
    if status_of(url) == 404:
        return f"skipped {shot.name}: {path} answers 404 (not built yet?)"
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url, wait_until="networkidle")
    if shot.click:
        page.click(shot.click)
    if shot.wait_for:
        page.wait_for_selector(shot.wait_for, timeout=10_000)
    page.wait_for_function("!document.querySelector('[aria-busy=\"true\"]')", timeout=10_000)
    page.wait_for_timeout(300)  # let transitions settle
    page.screenshot(path=str(OUT / f"{shot.name}.png"), full_page=shot.full_page)
    page.close()
    return f"{shot.name}.png" + (f"  (script errors: {'; '.join(errors)})" if errors else "")


def main(names: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    shots = [s for s in SHOTS if not names or s.name in names]
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tessera-shots-") as tmp:
        work, port = Path(tmp), free_port()
        env, base = demo_env(Path(tmp), port), f"http://127.0.0.1:{port}"
        flask(env, "db", "upgrade")
        flask(env, "devstore", "seed")
        log = open(work / "server.log", "w")
        server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "run", "--host",
                                   "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            wait_until_up(base, server)
            alice = customer_id(work, "alice@example.com")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                for shot in shots:
                    print(take(browser, base, shot, alice), flush=True)
                browser.close()
        except BaseException:
            print((work / "server.log").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()
    print(f"screenshots in {OUT.relative_to(ROOT)}/")


if __name__ == "__main__":
    main(sys.argv[1:])
