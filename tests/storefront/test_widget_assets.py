"""The theme extension's assets and locales: size budget, translations, no hard-coded words,
no HTML built from data, no hard-coded proxy path."""
import gzip
import json
import re

import pytest

from app.loyalty.actions import ACTION_LABELS
from tests.support import PROJECT_ROOT

EXTENSION = PROJECT_ROOT / "theme_extension"
ASSETS = EXTENSION / "assets"
LOCALES = EXTENSION / "locales"
BUDGET_GZIPPED_BYTES = 12 * 1024  # what every storefront page may load: loader, panel and stylesheet
# tessera-programs.js (games and pooled sections) is fetched only for a member of a store with one of
# those modules on, after the panel. 4 KB: about 3.0 KB today plus room for one more module's
# section; past it, split again rather than grow what such a member waits for (16 KB in all at most).
PROGRAMS_BUDGET_GZIPPED_BYTES = 4 * 1024
# tessera-personal.js (greeting, next reward, actions to do, the guest's cart estimate) follows the
# first payload on every panel open: about 1.4 KB; 2 KB keeps it a small second request.
PERSONAL_BUDGET_GZIPPED_BYTES = 2 * 1024
LANGUAGES = ["it", "ro", "pl", "de", "fr", "es"]
# CLDR plural categories for whole numbers (what points, orders and days are).
PLURAL_CATEGORIES = {"en": {"one", "other"}, "it": {"one", "other"}, "de": {"one", "other"}, "fr": {"one", "other"},
                     "es": {"one", "other"}, "ro": {"one", "few", "other"}, "pl": {"one", "few", "many", "other"}}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def scripts() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(ASSETS.glob("*.js"))}


def flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in tree.items():
        flat.update(flatten(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key: value})
    return flat


def locale(name: str) -> dict[str, str]:
    return flatten(json.loads((LOCALES / f"{name}.json").read_text()))


def string_literals(source: str) -> list[str]:
    """The string and template literals of a script (comments and regex literals skipped)."""
    literals, i, previous = [], 0, "("
    while i < len(source):
        char, pair = source[i], source[i:i + 2]
        if pair == "//":
            i = source.index("\n", i)
        elif pair == "/*":
            i = source.index("*/", i) + 2
        elif char in "'\"`":
            end = i + 1
            while source[end] != char:
                end += 2 if source[end] == "\\" else 1
            literals.extend(re.split(r"\$\{[^}]*\}", source[i + 1:end]) if char == "`" else [source[i + 1:end]])
            i, previous = end + 1, char
        elif char == "/" and previous in "(,=:[!&|?{};+":
            end = i + 1
            while source[end] != "/":
                end += 2 if source[end] == "\\" else (source.index("]", end) + 1 - end if source[end] == "[" else 1)
            i, previous = end + 1, "/"
        else:
            previous = char if not char.isspace() else previous
            i += 1
    return literals


def test_js_and_css_fit_the_12_kb_gzipped_budget():
    files = sorted(ASSETS.glob("*.js")) + sorted(ASSETS.glob("*.css"))
    sizes = {p.name: len(gzip.compress(p.read_bytes(), 9)) for p in files}
    assert set(sizes) == {"tessera.js", "tessera-panel.js", "tessera-programs.js", "tessera-personal.js", "tessera.css"}
    programs, personal = sizes.pop("tessera-programs.js"), sizes.pop("tessera-personal.js")
    assert sum(sizes.values()) <= BUDGET_GZIPPED_BYTES, sizes
    assert programs <= PROGRAMS_BUDGET_GZIPPED_BYTES, programs
    assert personal <= PERSONAL_BUDGET_GZIPPED_BYTES, personal


def test_the_panel_loads_the_program_sections_only_for_a_member_with_such_a_module_on():
    panel = scripts()["tessera-panel.js"]
    assert "programsSrc" in panel and "window.TesseraPrograms" in scripts()["tessera-programs.js"]
    for view in ("membershipView", "householdView", "cashbackView", "gamesView"):
        assert f"this.part('{view}')" in panel and f"{view}() {{" not in panel, view
    assert "data-programs-src=\"{{ 'tessera-programs.js' | asset_url }}\"" in (
        EXTENSION / "snippets" / "tessera-data.liquid").read_text()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_locale_has_exactly_the_default_keys_and_placeholders(language):
    default, translated = locale("en.default"), locale(language)
    assert set(translated) == set(default)
    for key, text in default.items():
        assert set(PLACEHOLDER.findall(translated[key])) == set(PLACEHOLDER.findall(text)), key
        assert translated[key].strip(), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_locale_labels_the_theme_editor_settings(language):
    default = flatten(json.loads((LOCALES / "en.default.schema.json").read_text()))
    translated = flatten(json.loads((LOCALES / f"{language}.schema.json").read_text()))
    assert set(translated) == set(default)


@pytest.mark.parametrize("language", ["en", *LANGUAGES])
def test_counted_words_have_the_plural_forms_of_the_language(language):
    strings = locale("en.default" if language == "en" else language)
    for key in ("tessera.count.points", "tessera.count.orders", "tessera.count.days"):
        forms = dict(form.split(":", 1) for form in strings[key].split("|"))
        assert set(forms) == PLURAL_CATEGORIES[language], key
        assert all("#" in text for text in forms.values()), key


def test_scripts_contain_no_words_for_shoppers():
    """Every word a shopper reads comes from the Liquid-rendered locale strings."""
    english = {text.strip() for text in locale("en.default").values()}
    for name, source in scripts().items():
        for literal in string_literals(source):
            prose = [w for w in literal.split() if re.fullmatch(r"[A-Za-z]{2,}", w)]
            assert len(prose) < 2, f"{name}: {literal!r} looks like words for shoppers"
            assert literal.strip() not in english, f"{name}: {literal!r} is an English string"


def test_the_literal_scanner_finds_hard_coded_words():
    literals = string_literals("const a = 'Copy link'; // 'not this'\nconst b = /'x'/; el(`Hi ${name} there`);")
    assert literals == ["Copy link", "Hi ", " there"]


def test_every_string_the_scripts_ask_for_exists_and_is_passed_from_liquid():
    default = locale("en.default")
    snippet = (EXTENSION / "snippets" / "tessera-strings.liquid").read_text()
    passed = set(re.findall(r'<i data-key="([a-z_.]+)">{{ \'tessera\.\1\' \| t }}</i>', snippet))
    assert passed == {k.removeprefix("tessera.") for k in default if not k.startswith("tessera.launcher.")}
    asked = {lit for source in scripts().values() for lit in string_literals(source)
             if re.fullmatch(r"(panel|guest|member|earn|rewards|code|referral|history|count|error"
                             r"|games|feedback|board|donate)\.[a-z_]*[a-z]", lit)}
    assert asked and asked <= passed
    # Keys the scripts build from data: every way to earn, reward kind and count.
    assert {f"earn.{action}" for action in ACTION_LABELS} <= passed
    assert {"count.points", "count.orders", "count.days", "rewards.combines_order", "rewards.combines_product",
            "rewards.combines_shipping"} <= passed


def test_scripts_never_build_html_from_strings():
    for name, source in scripts().items():
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in source, f"{name} uses {sink}"


def test_scripts_take_the_proxy_path_from_liquid():
    for name, source in scripts().items():
        assert "/apps/" not in source, name
    assert "proxyPath" in scripts()["tessera-panel.js"]
    assert 'data-proxy-path="{{ path | escape }}"' in (EXTENSION / "snippets" / "tessera-data.liquid").read_text()


def test_both_blocks_load_the_small_loader_and_the_stylesheet():
    for block, target in (("launcher", "body"), ("rewards-page", "section")):
        source = (EXTENSION / "blocks" / f"{block}.liquid").read_text()
        schema = json.loads(re.search(r"{% schema %}(.*){% endschema %}", source, re.DOTALL).group(1))
        assert (schema["target"], schema["javascript"], schema["stylesheet"]) == (target, "tessera.js", "tessera.css")
