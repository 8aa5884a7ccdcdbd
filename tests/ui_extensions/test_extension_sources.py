"""The UI extensions' own checks that need no Shopify: their pure helpers under node's test
runner, every string they show present in the theme widget's 7 locales, and the address they
call Tessera at equal to the app's application_url."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib

import pytest

from tests.support import API_VERSION, PROJECT_ROOT

EXTENSIONS = PROJECT_ROOT / "extensions"
UI_EXTENSIONS = sorted(p.parent for p in EXTENSIONS.glob("*/shopify.extension.toml")
                       if tomllib.loads(p.read_text()).get("extensions", [{}])[0].get("type") == "ui_extension")
LOCALES = sorted(p.name.replace(".schema", "") for p in (PROJECT_ROOT / "theme_extension" / "locales").glob("*.json")
                 if ".schema." not in p.name)
# `t('balance.points', {...})`, `t(message.key, ...)` is checked through the helpers' keys below.
TRANSLATED = re.compile(r"\bt\('([a-z_.]+)'")
PLURAL_FORMS = {"zero", "one", "two", "few", "many", "other"}
NODE = shutil.which("node")


def flat_keys(tree: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in tree.items():
        if isinstance(value, dict) and not set(value) <= PLURAL_FORMS:
            keys |= flat_keys(value, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


def locale(folder, name) -> dict:
    return json.loads((folder / "locales" / name).read_text())


def test_the_seven_ui_extensions_are_there():
    assert [folder.name for folder in UI_EXTENSIONS] == [
        "admin-customer-adjust", "admin-customer-points", "admin-order-points", "checkout-rewards",
        "customer-account-order-status", "customer-account-rewards", "pos-rewards"]


@pytest.mark.parametrize("folder", UI_EXTENSIONS, ids=lambda f: f.name)
def test_every_extension_speaks_the_widgets_seven_locales_with_the_same_keys(folder):
    assert len(LOCALES) == 7
    english = flat_keys(locale(folder, "en.default.json"))
    for name in LOCALES:
        assert flat_keys(locale(folder, name)) == english, f"{folder.name}/locales/{name}"


@pytest.mark.parametrize("folder", UI_EXTENSIONS, ids=lambda f: f.name)
def test_every_string_an_extension_shows_is_in_its_locales(folder):
    english = flat_keys(locale(folder, "en.default.json"))
    used = {key for source in (folder / "src").glob("*.js*") for key in TRANSLATED.findall(source.read_text())}
    assert used and used <= english, sorted(used - english)
    assert "name" in english  # the extension's name in the admin (`name = "t:name"`)


def test_plural_strings_give_every_form_polish_and_romanian_need():
    rewards = EXTENSIONS / "customer-account-rewards"
    assert set(locale(rewards, "pl.json")["balance"]["points"]) == {"one", "few", "many", "other"}
    assert set(locale(rewards, "ro.json")["balance"]["points"]) == {"one", "few", "other"}


def test_the_helpers_message_keys_are_in_the_extensions_that_use_them():
    order_keys = flat_keys(locale(EXTENSIONS / "customer-account-order-status", "en.default.json"))
    assert {"order.processing", "order.earned", "order.earned_pending", "order.earned_taken_back"} <= order_keys
    checkout_keys = flat_keys(locale(EXTENSIONS / "checkout-rewards", "en.default.json"))
    assert {"checkout.not_a_code", "checkout.needs_points", "checkout.below_minimum",
            "checkout.does_not_combine"} <= checkout_keys
    adjust_keys = flat_keys(locale(EXTENSIONS / "admin-customer-adjust", "en.default.json"))
    assert {"adjust.points_invalid", "adjust.reason_required"} <= adjust_keys
    pos_keys = flat_keys(locale(EXTENSIONS / "pos-rewards", "en.default.json"))
    assert {"tile.no_customer", "tile.open", "tile.balance", "modal.needs_points", "modal.not_a_code"} <= pos_keys


def test_the_pos_extension_is_a_tile_and_its_modal():
    config = tomllib.loads((EXTENSIONS / "pos-rewards" / "shopify.extension.toml").read_text())
    assert {target["target"] for target in config["extensions"][0]["targeting"]} == {
        "pos.home.tile.render", "pos.home.modal.render"}


def test_the_extensions_call_tessera_at_the_apps_application_url():
    application_url = tomllib.loads((PROJECT_ROOT / "shopify.app.toml").read_text())["application_url"]
    config = (EXTENSIONS / "common" / "config.js").read_text()
    assert f"TESSERA_APP_URL = '{application_url.rstrip('/')}'" in config


@pytest.mark.parametrize("folder", [f for f in UI_EXTENSIONS if not f.name.startswith(("admin-", "pos-"))], ids=lambda f: f.name)
def test_storefront_side_extensions_may_call_tessera(folder):
    config = tomllib.loads((folder / "shopify.extension.toml").read_text())
    assert config["extensions"][0]["capabilities"]["network_access"] is True


@pytest.mark.parametrize("folder", UI_EXTENSIONS, ids=lambda f: f.name)
def test_every_extension_targets_the_apps_api_version(folder):
    assert tomllib.loads((folder / "shopify.extension.toml").read_text())["api_version"] == API_VERSION


@pytest.mark.skipif(NODE is None, reason="node is not installed (make test installs it)")
def test_the_extensions_pure_helpers_pass_under_nodes_test_runner():
    folders = [str(folder) for folder in sorted(EXTENSIONS.glob("*/test")) if folder.is_dir()]
    assert str(EXTENSIONS / "common" / "test") in folders and str(EXTENSIONS / "checkout-rewards" / "test") in folders
    result = subprocess.run([NODE, "--test", *folders], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^# fail 0$", result.stdout, re.M) and not re.search(r"^# pass 0$", result.stdout, re.M)
