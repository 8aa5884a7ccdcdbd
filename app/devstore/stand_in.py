"""The demo store's Shopify as one object per app: its memory (a JSON file), its rate-limit
buckets, where its Admin schema lives, and the demo app's credentials."""
from __future__ import annotations

import re

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from graphql import GraphQLSchema
from sqlalchemy.engine import make_url

from app.devstore.cost import Throttle
from app.devstore.oauth import AppCredentials
from app.devstore.schema import admin_schema_for
from app.devstore.state import DemoState


@dataclass(frozen=True)
class LostAnswer:
    root_field: str
    applied: bool
    status: int


def default_state_path(database_url: str, instance_path: str) -> Path:
    """Beside a SQLite database (`instance/demo.db` -> `instance/demo.db.devstore.json`), so each
    demo or test database has its own store; otherwise in the instance folder."""
    database = make_url(database_url).database if database_url.startswith("sqlite") else None
    if database and database != ":memory:":
        return Path(f"{database}.devstore.json")
    return Path(instance_path) / "devstore.json"


@dataclass
class StandIn:
    state: DemoState
    throttle: Throttle
    api_version: str
    schema_file: str | None = None
    # Network faults to play on the next matching Admin calls (see lose_answer).
    faults: list["LostAnswer"] = field(default_factory=list)

    @classmethod
    def from_config(cls, config: dict[str, Any], instance_path: str) -> "StandIn":
        path = config.get("DEVSTORE_STATE_PATH") or default_state_path(config["DATABASE_URL"], instance_path)
        throttle = Throttle(config.get("DEVSTORE_THROTTLE_MAXIMUM", 2000.0),
                            config.get("DEVSTORE_THROTTLE_RESTORE_RATE", 100.0))
        return cls(DemoState(Path(path)), throttle, config["SHOPIFY_API_VERSION"],
                   config.get("DEVSTORE_ADMIN_SCHEMA") or None)

    @property
    def bulk_files(self) -> Path:
        """Bulk operations' JSONL files, beside the state file."""
        return self.state.path.with_name(self.state.path.name + ".bulk")

    def lose_answer(self, root_field: str, *, applied: bool, status: int = 502) -> None:
        """The next call to `root_field` fails with `status` - after Shopify applied it (the
        answer was lost on the way back) or before (the request never arrived)."""
        self.faults.append(LostAnswer(root_field, applied, status))

    def fault_for(self, body: Any) -> "LostAnswer | None":
        query = (body or {}).get("query") if isinstance(body, dict) else None
        fault = next((f for f in self.faults if query and re.search(rf"\b{f.root_field}\s*\(", query)), None)
        if fault is not None:
            self.faults.remove(fault)
        return fault

    def schema(self) -> GraphQLSchema:
        """Raises AdminSchemaMissing with what to do when the schema file cannot be found."""
        return admin_schema_for(self.api_version, self.schema_file)


def stand_in() -> StandIn:
    return current_app.extensions["devstore"]


def credentials(config: dict[str, Any]) -> AppCredentials:
    return AppCredentials(api_key=config["SHOPIFY_API_KEY"], api_secret=config["SHOPIFY_API_SECRET"],
                          app_url=config["APP_URL"].rstrip("/"), scopes=config["SCOPES"])
