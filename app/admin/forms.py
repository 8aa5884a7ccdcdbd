"""HTML form posts -> the dicts the services validate.

Field names are the settings' paths (`earning.points_per_unit`, `campaigns.0.name`), so the
field paths in a validation error point straight back at the inputs. Conventions:
- an empty input is None (the service says if the field is required);
- a checkbox comes after a hidden "false" input of the same name: the last value wins;
- a name ending in `[]` is a list: all values, each split on commas, empty ones dropped; an
  empty list is None ("no restriction").
"""
from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from werkzeug.datastructures import MultiDict

from app.admin.access import CSRF_FIELD
from app.loyalty.errors import InvalidInput
from app.parsing import is_stored_id

# Program sections and the settings keys each one's form posts.
PROGRAM_SECTIONS = {"earning": ("earning",), "actions": ("actions",), "campaigns": ("campaigns",),
                    "tiers": ("tiers",), "referrals": ("referrals",), "expiry": ("expiry", "clawback"),
                    "widget": ("widget",), "mail": ("mail",), "cashback": ("cashback",), "membership": ("membership",),
                    "households": ("households",), "lifecycle": ("lifecycle", "win_back")}
REQUIRED = "Required."


def _split(values: list[str]) -> list[str] | None:
    items = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return items or None


def _assign(target: dict, path: list[str], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _lists(node: Any) -> Any:
    """{"0": a, "2": b} -> [a, b] (rows removed in the browser leave gaps in the numbering)."""
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(is_stored_id(key) for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def unflatten(form: MultiDict) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name in form.keys():
        if name == CSRF_FIELD:
            continue
        if name.endswith("[]"):
            _assign(result, name[:-2].split("."), _split(form.getlist(name)))
        else:
            value = form.getlist(name)[-1].strip()
            _assign(result, name.split("."), value if value else None)
    return _lists(result)


def blank_fields(form: MultiDict) -> set[str]:
    return {name for name in form.keys() if not name.endswith("[]") and not form.getlist(name)[-1].strip()}


def explain_blanks(exc: InvalidInput, blanks: set[str]) -> InvalidInput:
    """"Input should be a valid decimal" for an empty box reads better as "Required."."""
    exc.fields = {field: REQUIRED if field in blanks else problem for field, problem in exc.fields.items()}
    return exc


def shop_zone(iana_timezone: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(iana_timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_input_value(value: str | datetime | None, zone: ZoneInfo) -> str:
    """A stored UTC time as a datetime-local input value in the shop's time zone."""
    if not value:
        return ""
    at = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return at.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _aware(value: Any, zone: ZoneInfo) -> Any:
    """datetime-local inputs have no zone: they are the shop's local time."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?", value):
        return value
    return datetime.fromisoformat(value).replace(tzinfo=zone).isoformat()


def _campaigns(submitted: list[dict] | None, current: list[dict], zone: ZoneInfo) -> list[dict]:
    """Campaign rows; products already looked up for unchanged collections are kept."""
    known = {c["key"]: c for c in current}
    if not isinstance(submitted or [], list) or not all(isinstance(row, dict) for row in submitted or []):
        raise InvalidInput("The campaign rows could not be read; reload the page and try again.",
                           {"campaigns": "rows numbered 0, 1, 2, ..."})
    campaigns = []
    for row in submitted or []:
        row = {**row, "starts_at": _aware(row.get("starts_at"), zone), "ends_at": _aware(row.get("ends_at"), zone)}
        before = known.get(row.get("key"))
        if before and row.get("collection_ids") and [str(i) for i in before.get("collection_ids") or []] == \
                [str(i) for i in row["collection_ids"]]:
            row["collection_product_ids"] = before.get("collection_product_ids")
        campaigns.append(row)
    return campaigns


def program_settings(section: str, form: MultiDict, current: dict, *, iana_timezone: str | None) -> dict[str, Any]:
    """The current settings with one section replaced by the form's values."""
    if section not in PROGRAM_SECTIONS:
        raise InvalidInput("Unknown settings section.", {"section": ", ".join(PROGRAM_SECTIONS)})
    submitted = unflatten(form)
    settings = copy.deepcopy(current)
    for key in PROGRAM_SECTIONS[section]:
        settings[key] = submitted.get(key) or ([] if key == "campaigns" else {})
    if section == "campaigns":
        settings["campaigns"] = _campaigns(settings["campaigns"], current.get("campaigns", []),
                                           shop_zone(iana_timezone))
    if section == "mail":  # the program page holds the sender only; the Emails page the rest
        settings["mail"] = {**current.get("mail", {}), **{k: v or "" for k, v in (submitted.get("mail") or {}).items()}}
    if section == "actions":
        for social in ("social_follow", "social_share"):
            rule = settings["actions"].get(social) or {}
            rule["networks"] = {n: url for n, url in (rule.get("networks") or {}).items() if url}
    return settings


REWARD_INTS = ("points_cost", "code_expiry_days", "per_member_limit", "variant_id", "points_per_unit", "min_points",
               "max_points")
REWARD_BOOLS = ("combines_with_order", "combines_with_product", "combines_with_shipping", "enabled", "members_only")


def reward_data(form: MultiDict) -> dict[str, Any]:
    """Typed values for the reward validator; text that is not a number is passed on as is so
    the validator names the field."""
    data = unflatten(form)
    for key in REWARD_INTS:
        if isinstance(data.get(key), str) and is_stored_id(data[key]):
            data[key] = int(data[key])
    for key in REWARD_BOOLS:
        if key in data:
            data[key] = data[key] == "true"
    return data


def adjustment_points(value: str | None) -> int | str | None:
    value = (value or "").strip().replace(",", "").replace("+", "")
    return int(value) if re.fullmatch(r"-?\d{1,9}", value) else value or None
