"""The Flow extensions under extensions/ and app/flow/definitions.py describe the same triggers
and actions, and shopify.app.toml lets the CLI find them."""
import tomllib

from app.flow.definitions import ACTIONS, TRIGGERS
from tests.support import PROJECT_ROOT


def extensions_of(kind: str) -> dict[str, dict]:
    found = {}
    for path in sorted((PROJECT_ROOT / "extensions").glob("*/shopify.extension.toml")):
        config = tomllib.loads(path.read_text())
        extension = config["extensions"][0]
        if extension["type"] == kind:
            assert path.parent.name == extension["handle"]
            found[extension["handle"]] = {**extension, "fields": config["settings"]["fields"]}
    return found


def test_every_trigger_declares_the_customer_and_exactly_the_fields_tessera_sends():
    declared = extensions_of("flow_trigger")
    assert set(declared) == {t.handle for t in TRIGGERS}
    for trigger in TRIGGERS:
        fields = declared[trigger.handle]["fields"]
        assert fields[0] == {"type": "customer_reference"}
        assert tuple(f["key"] for f in fields[1:]) == trigger.fields
        assert declared[trigger.handle]["name"] == trigger.title


def test_actions_need_a_customer_and_the_points_action_a_reason():
    declared = extensions_of("flow_action")
    assert set(declared) == set(ACTIONS)
    points = {f.get("key"): f for f in declared["tessera-adjust-points"]["fields"]}
    assert points[None] == {"type": "customer_reference", "required": True}
    assert points["reason"]["required"] is True and points["points"]["type"] == "number_integer"
    for action in declared.values():
        assert action["runtime_url"].startswith("https://") and "/flow/actions/" in action["runtime_url"]


def test_the_app_configuration_lists_the_flow_extensions():
    config = tomllib.loads((PROJECT_ROOT / "shopify.app.toml").read_text())
    assert "extensions/*" in config["extension_directories"]
