"""The Shopify CLI builds the app as `shopify app deploy` would, offline: every extension under
shopify.app.toml's extension_directories is found, theme-checked and bundled, and every UI
extension's compiled bundle stays under Shopify's 64 KB cap.

The CLI (pinned in package.json, installed by `make test`'s `npm ci`) is the real client for our
extension folders. `app build` prints theme-check errors but still exits 0, so the test reads
them from its output: a Liquid error that Shopify's theme check reports fails here too.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.support import PROJECT_ROOT

CLI = PROJECT_ROOT / "node_modules" / ".bin" / "shopify"
APP_TOML = tomllib.loads((PROJECT_ROOT / "shopify.app.toml").read_text())
# Shopify refuses to deploy a UI extension whose compiled bundle is larger (shopify.dev, "File
# size limit": 64 KB).
UI_EXTENSION_BUNDLE_LIMIT_BYTES = 64 * 1024
# Code the UI extensions import from beside their folders (extensions/common): copied with them.
SHARED_FOLDERS = ("extensions/common",)
# theme-check's findings as the CLI prints them, one per line: `[error]: LiquidHTMLSyntaxError`.
THEME_CHECK_ERROR = re.compile(r"\[error\]:\s*(\w+)")

pytestmark = pytest.mark.skipif(not CLI.exists(), reason="the Shopify CLI is not installed: run `npm ci` "
                                                         "(make test does)")


def extension_folders(app_root: Path) -> list[Path]:
    """Each folder holding a shopify.extension.toml under the app's extension_directories."""
    folders = []
    for pattern in APP_TOML["extension_directories"]:
        folders += [p.parent for p in sorted(app_root.glob(f"{pattern}/shopify.extension.toml"))]
        folders += [p.parent for p in sorted(app_root.glob(f"{pattern}/*/shopify.extension.toml"))]
    return folders


def extension_config(folder: Path) -> dict:
    """The extension's settings: top-level for a theme extension, under [[extensions]] for UI and Flow ones."""
    config = tomllib.loads((folder / "shopify.extension.toml").read_text())
    return {**config, **config["extensions"][0]} if config.get("extensions") else config


def extension_handle(folder: Path) -> str:
    """The handle the CLI gives an extension: its own, or its name slugified."""
    config = extension_config(folder)
    return config.get("handle") or re.sub(r"[^a-z0-9]+", "-", config["name"].lower()).strip("-")


def extension_folders_of_type(app_root: Path, kind: str) -> list[Path]:
    return [folder for folder in extension_folders(app_root) if extension_config(folder).get("type") == kind]


def app_copy(tmp_path: Path) -> Path:
    """The app config and extension folders only: the build writes .shopify/ beside them, and a
    test must not leave files in the working tree."""
    root = tmp_path / "app"
    root.mkdir()
    shutil.copy(PROJECT_ROOT / "shopify.app.toml", root)
    for folder in extension_folders(PROJECT_ROOT) + [PROJECT_ROOT / shared for shared in SHARED_FOLDERS]:
        shutil.copytree(folder, root / folder.relative_to(PROJECT_ROOT), ignore=shutil.ignore_patterns("dist"))
    # The UI extensions import preact and @shopify/ui-extensions, pinned in package-lock.json.
    (root / "node_modules").symlink_to(PROJECT_ROOT / "node_modules")
    return root


def shopify_app_build(root: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    # CI=1: no prompts, plain output. No analytics, no notifications fetch, no writes to the
    # user's CLI config: the build must not need (or try) the network.
    env = {**os.environ, "CI": "1", "SHOPIFY_CLI_NO_ANALYTICS": "1", "OPT_OUT_INSTRUMENTATION": "true",
           "SHOPIFY_CLI_NOTIFICATIONS_URL": "http://127.0.0.1:9/notifications.json", "NO_COLOR": "1",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    # The packages are installed already (npm ci); installing again would need the network.
    return subprocess.run([str(CLI), "app", "build", "--no-color", "--skip-dependencies-installation", "--path",
                           str(root)], env=env, capture_output=True, text=True, timeout=240, cwd=root)


@pytest.fixture(scope="module")
def built_app(tmp_path_factory):
    """One clean build for the tests that read its output."""
    tmp_path = tmp_path_factory.mktemp("cli-build")
    root = app_copy(tmp_path)
    result = shopify_app_build(root, tmp_path)
    return root, result, result.stdout + result.stderr


def test_the_shopify_cli_builds_every_extension_offline_without_theme_check_errors(built_app):
    root, result, output = built_app
    assert extension_folders(root), "shopify.app.toml's extension_directories hold no extension"
    assert result.returncode == 0, output
    assert f"{APP_TOML['handle']} built!" in output, output
    assert {extension_config(f)["type"] for f in extension_folders(root)} == {
        "theme", "ui_extension", "flow_trigger", "flow_action"}
    for folder in extension_folders_of_type(root, "theme"):
        assert f"Bundling theme extension {extension_handle(folder)}..." in output, output
        # A theme extension builds in place: its folder is what deploy uploads.
        assert (folder / "blocks").is_dir() and any((folder / "blocks").glob("*.liquid"))
    assert THEME_CHECK_ERROR.findall(output) == [], output


def test_every_ui_extension_is_bundled(built_app):
    root, result, output = built_app
    folders = extension_folders_of_type(root, "ui_extension")
    assert {folder.name for folder in folders} >= {
        "customer-account-rewards", "customer-account-order-status", "checkout-rewards", "admin-customer-points",
        "admin-customer-adjust", "admin-order-points", "pos-rewards"}
    for folder in folders:
        assert f"{extension_handle(folder)} successfully built" in output, output
        assert (folder / "dist" / f"{extension_handle(folder)}.js").is_file(), output


def test_every_ui_extension_bundle_stays_under_shopifys_64_kb_cap(built_app):
    root, _, output = built_app
    for folder in extension_folders_of_type(root, "ui_extension"):
        bundle = folder / "dist" / f"{extension_handle(folder)}.js"
        assert bundle.is_file(), output
        assert bundle.stat().st_size < UI_EXTENSION_BUNDLE_LIMIT_BYTES, f"{bundle.name}: {bundle.stat().st_size} bytes"


def test_a_liquid_error_in_a_block_shows_up_as_a_theme_check_error_in_the_build(tmp_path):
    root = app_copy(tmp_path)
    block = next((root / "theme_extension" / "blocks").glob("*.liquid"))
    block.write_text(block.read_text() + "\n{% if %}\n")
    result = shopify_app_build(root, tmp_path)
    assert "LiquidHTMLSyntaxError" in THEME_CHECK_ERROR.findall(result.stdout + result.stderr)


def test_the_cli_refuses_a_flow_trigger_whose_field_key_flow_cannot_read(tmp_path):
    """Flow extensions print nothing while building, so this proves the CLI does check them:
    trigger field keys may only hold letters and spaces."""
    root = app_copy(tmp_path)
    trigger = root / "extensions" / "tessera-tier-changed" / "shopify.extension.toml"
    trigger.write_text(trigger.read_text().replace('key = "Previous tier"', 'key = "previous_tier_2"'))
    result = shopify_app_build(root, tmp_path)
    assert result.returncode != 0, result.stdout + result.stderr
