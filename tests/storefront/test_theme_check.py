"""Shopify's theme-check, with its theme-app-extension config, passes on theme_extension/."""
import shutil
import subprocess

import pytest

from tests.support import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "theme-check.mjs"


def run_theme_check(folder) -> subprocess.CompletedProcess:
    if shutil.which("node") is None or not (PROJECT_ROOT / "node_modules" / "@shopify" / "theme-check-node").is_dir():
        pytest.skip("theme-check skipped: node or node_modules missing (`make test` installs them with npm ci)")
    return subprocess.run(["node", str(SCRIPT), str(folder)], capture_output=True, text=True, timeout=120)


def test_theme_extension_passes_theme_check_with_the_app_extension_config():
    result = run_theme_check(PROJECT_ROOT / "theme_extension")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 offenses" in result.stdout and "theme-app-extension" in result.stdout


def test_theme_check_reports_a_missing_translation(tmp_path):
    """The check really runs: a block using a key en.default.json lacks is reported."""
    copy = tmp_path / "theme_extension"
    shutil.copytree(PROJECT_ROOT / "theme_extension", copy)
    block = copy / "blocks" / "rewards-page.liquid"
    block.write_text(block.read_text().replace("'tessera.panel.loading'", "'tessera.panel.no_such_key'"))
    result = run_theme_check(copy)
    assert result.returncode == 1
    assert "TranslationKeyExists" in result.stdout and "tessera.panel.no_such_key" in result.stdout
