"""Shopify Flow in the demo store: flowTriggerReceive accepts only the triggers the app declares
(app.flow.definitions, the same as extensions/), with every field of the trigger in the payload,
and keeps what it received for the demo store's page."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app.flow.definitions import TRIGGERS_BY_HANDLE

MAX_PAYLOAD_BYTES = 50_000  # Flow refuses larger trigger payloads


def receive_trigger(state: dict, handle: str | None, payload: Any, now: datetime) -> dict[str, Any]:
    problem = trigger_problem(handle, payload)
    if problem:
        return {"userErrors": [problem]}
    state.setdefault("flow_triggers", []).append({"handle": handle, "payload": payload, "at": now.isoformat()})
    return {"userErrors": []}


def trigger_problem(handle: str | None, payload: Any) -> dict[str, Any] | None:
    definition = TRIGGERS_BY_HANDLE.get(handle or "")
    if definition is None:
        return {"field": ["handle"], "message": f"Invalid handle '{handle}'."}
    if not isinstance(payload, dict):
        return {"field": ["payload"], "message": "Payload must be a JSON object."}
    if len(json.dumps(payload)) > MAX_PAYLOAD_BYTES:
        return {"field": ["payload"], "message": f"Payload exceeds the {MAX_PAYLOAD_BYTES} bytes limit."}
    missing = [key for key in ("customer_id", *definition.fields) if payload.get(key) in (None, "")]
    if missing:
        return {"field": ["payload"], "message": f"Errors validating schema: missing required properties "
                                                 f"{', '.join(missing)}."}
    return None
