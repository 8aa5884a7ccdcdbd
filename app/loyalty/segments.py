"""Segments: owner-defined groups of members, as conditions on member figures, and audiences
(who a reward or campaign is for).

A segment is `{"name", "match": "all"|"any", "conditions": [{"field", "op", "value"}]}`. Each
field has a kind, and the kind says which operators and values it takes (FIELDS, OPS_BY_KIND):

| kind    | fields                                                   | ops                                 |
|---------|----------------------------------------------------------|-------------------------------------|
| choice  | lifecycle_stage, rfm_segment                             | eq, ne, in                          |
| text    | tier (a tier key)                                        | eq, ne, in                          |
| country | country (ISO 3166 alpha-2 of the default address)        | eq, ne, in                          |
| score   | recency, frequency, monetary (1-5)                       | eq, ne, in, gt, gte, lt, lte        |
| integer | points_balance, lifetime_points, orders_count            | eq, ne, in, gt, gte, lt, lte        |
| money   | total_spent (shop currency, e.g. "49.90")                | eq, ne, in, gt, gte, lt, lte        |
| month   | birthday_month (1-12)                                    | eq, ne, in, gt, gte, lt, lte        |
| date    | last_order_at, first_order_at (ISO date or date-time)    | gt, gte, lt, lte, within_days (int) |
| boolean | accepts_marketing                                        | eq, ne                              |
| tags    | customer_tags (the customer's tags in Shopify)           | contains (a tag), in (any of tags)  |

`in` takes a list of 1-100 values of the field's kind. A member without a value (no order yet,
no birthday) matches no comparison on it, `ne` included. Validation here is pure; queries/
segments.py compiles a validated segment to one SQL query.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timezone
from datetime import date as date_type
from decimal import Decimal, InvalidOperation
from typing import Any

from app.loyalty.errors import InvalidInput
from app.loyalty.lifecycle import STAGES
from app.loyalty.rfm import SEGMENTS as RFM_SEGMENTS

FIELDS = {
    "lifecycle_stage": "choice", "rfm_segment": "choice", "recency": "score", "frequency": "score",
    "monetary": "score", "tier": "text", "points_balance": "integer", "lifetime_points": "integer",
    "total_spent": "money", "orders_count": "integer", "last_order_at": "date", "first_order_at": "date",
    "birthday_month": "month", "accepts_marketing": "boolean", "customer_tags": "tags", "country": "country",
}
CHOICES = {"lifecycle_stage": STAGES, "rfm_segment": RFM_SEGMENTS}
_ORDERED = ("eq", "ne", "in", "gt", "gte", "lt", "lte")
OPS_BY_KIND = {
    "choice": ("eq", "ne", "in"), "text": ("eq", "ne", "in"), "country": ("eq", "ne", "in"),
    "score": _ORDERED, "integer": _ORDERED, "money": _ORDERED, "month": _ORDERED,
    "date": ("gt", "gte", "lt", "lte", "within_days"), "boolean": ("eq", "ne"), "tags": ("contains", "in"),
}
OPS = ("eq", "ne", "in", "gt", "gte", "lt", "lte", "contains", "within_days")
MATCHES = ("all", "any")
MAX_CONDITIONS = 30
MAX_IN_VALUES = 100
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any  # normalised: str, int, Decimal, bool, aware datetime, or a tuple of these for `in`

    def as_json(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "value": _json_value(self.value)}


@dataclass(frozen=True)
class SegmentRule:
    name: str
    match: str
    conditions: tuple[Condition, ...]

    def conditions_json(self) -> list[dict[str, Any]]:
        return [c.as_json() for c in self.conditions]


class _Bad(ValueError):
    """One condition's problem, as a sentence."""


def parse_segment(body: Any) -> SegmentRule:
    """A segment from the API body; InvalidInput names every bad part (e.g. `conditions[1].op`)."""
    if not isinstance(body, dict):
        raise InvalidInput("Send the segment as a JSON object.", {"body": "must be a JSON object"})
    problems: dict[str, str] = {}
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 80:
        problems["name"] = "a name of 1 to 80 characters is required"
    match = body.get("match", "all")
    if match not in MATCHES:
        problems["match"] = "must be 'all' (every condition) or 'any' (at least one)"
    conditions = _parse_conditions(body.get("conditions"), problems)
    if problems:
        raise InvalidInput(_summary(problems), problems)
    return SegmentRule(name.strip(), match, conditions)


def parse_stored_conditions(conditions: list[dict]) -> tuple[Condition, ...]:
    """Conditions as saved (validated when saved); a rule that no longer validates is an error."""
    problems: dict[str, str] = {}
    parsed = _parse_conditions(conditions, problems)
    if problems:
        raise InvalidInput(_summary(problems), problems)
    return parsed


def _summary(problems: dict[str, str]) -> str:
    where, problem = next(iter(problems.items()))
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return f"The segment is not valid: {where}: {problem}{more}. Fix it and send it again."


def _parse_conditions(raw: Any, problems: dict[str, str]) -> tuple[Condition, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_CONDITIONS:
        problems["conditions"] = f"a list of 1 to {MAX_CONDITIONS} conditions is required"
        return ()
    parsed = []
    for index, item in enumerate(raw):
        try:
            parsed.append(parse_condition(item))
        except _Bad as exc:
            problems[f"conditions[{index}]"] = f"{_describe(item)}: {exc}"
    return tuple(parsed)


def _describe(item: Any) -> str:
    if not isinstance(item, dict):
        return "condition"
    return f"field '{item.get('field')}', op '{item.get('op')}'"


def parse_condition(item: Any) -> Condition:
    if not isinstance(item, dict) or set(item) - {"field", "op", "value"}:
        raise _Bad('each condition is an object {"field", "op", "value"} and nothing else')
    field, op = item.get("field"), item.get("op")
    if field not in FIELDS:
        raise _Bad(f"unknown field; use one of {', '.join(FIELDS)}")
    kind = FIELDS[field]
    if op not in OPS_BY_KIND[kind]:
        raise _Bad(f"{field} takes the ops {', '.join(OPS_BY_KIND[kind])}"
                   + (" (within_days is for dates: last_order_at, first_order_at)" if op == "within_days" else ""))
    if "value" not in item:
        raise _Bad("a value is required")
    return Condition(field, op, _value(field, kind, op, item["value"]))


def _value(field: str, kind: str, op: str, value: Any) -> Any:
    if op == "in":
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_IN_VALUES:
            raise _Bad(f"'in' takes a list of 1 to {MAX_IN_VALUES} values")
        return tuple(dict.fromkeys(_scalar(field, kind, v) for v in value))
    if op == "within_days":
        if not _is_int(value) or not 1 <= value <= 36500:
            raise _Bad("within_days takes a whole number of days from 1 to 36500")
        return value
    return _scalar(field, kind, value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _scalar(field: str, kind: str, value: Any) -> Any:
    return _PARSERS[kind](field, value)


def _choice(field: str, value: Any) -> str:
    if value not in CHOICES[field]:
        raise _Bad(f"value must be one of {', '.join(CHOICES[field])}")
    return value


def _text(field: str, value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 255:
        raise _Bad("value must be a text of 1 to 255 characters")
    return value.strip()


def _tag(field: str, value: Any) -> str:
    tag = _text(field, value)
    if "," in tag:
        raise _Bad("a tag cannot contain a comma; use 'in' for several tags")
    return tag.lower()


def _country(field: str, value: Any) -> str:
    if not isinstance(value, str) or not _COUNTRY.match(value):
        raise _Bad("value must be a two-letter country code such as US or DE")
    return value.upper()


def _ranged(low: int | None, high: int | None, what: str):
    def parse(field: str, value: Any) -> int:
        if not _is_int(value) or (low is not None and value < low) or (high is not None and value > high):
            raise _Bad(f"value must be {what}")
        return value
    return parse


def _money(field: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, str, float)):
        raise _Bad('value must be an amount in the shop currency, e.g. "49.90"')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise _Bad('value must be an amount in the shop currency, e.g. "49.90"') from None
    if not amount.is_finite() or amount < 0 or amount > Decimal("1e12"):
        raise _Bad("value must be an amount from 0 up to 1,000,000,000,000")
    return amount


def _date(field: str, value: Any) -> datetime:
    if not isinstance(value, str):
        raise _Bad('value must be an ISO date or date-time, e.g. "2026-01-31" or "2026-01-31T12:00:00Z"')
    try:
        if len(value) == 10:
            return datetime.combine(date_type.fromisoformat(value), time(), tzinfo=timezone.utc)
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _Bad('value must be an ISO date or date-time, e.g. "2026-01-31" or "2026-01-31T12:00:00Z"') from None
    if at.tzinfo is None:
        raise _Bad("a date-time needs a timezone, e.g. 2026-01-31T12:00:00Z")
    return at.astimezone(timezone.utc)


def _boolean(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad("value must be true or false")
    return value


_PARSERS = {
    "choice": _choice, "text": _text, "country": _country, "score": _ranged(1, 5, "a whole number from 1 to 5"),
    "integer": _ranged(None, None, "a whole number"), "money": _money,
    "month": _ranged(1, 12, "a month number from 1 to 12"), "date": _date, "boolean": _boolean, "tags": _tag,
}


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


# ---- built-in segments: one per lifecycle stage ------------------------------------------------

BUILT_IN_PREFIX = "lifecycle:"


def built_in_rules() -> dict[str, SegmentRule]:
    """id -> the read-only segment of a lifecycle stage (`lifecycle:at_risk` ...)."""
    return {f"{BUILT_IN_PREFIX}{stage}": SegmentRule(f"Lifecycle: {stage.replace('_', ' ')}", "all",
                                                     (Condition("lifecycle_stage", "eq", stage),))
            for stage in STAGES}


# ---- audiences: who a reward or campaign is for ----------------------------------------------

@dataclass(frozen=True)
class MemberAudience:
    """The facts about a member an audience is checked against."""

    lifecycle_stage: str | None
    segment_ids: frozenset[int] = frozenset()


def in_audience(member: MemberAudience | None, *, segment_ids: list[int] | tuple[int, ...] | None,
                lifecycle_stages: list[str] | tuple[str, ...] | None) -> bool:
    """Empty audience: everyone. Otherwise members of any listed segment or stage; a member
    whose facts are unknown is outside every restricted audience."""
    if not segment_ids and not lifecycle_stages:
        return True
    if member is None:
        return False
    return member.lifecycle_stage in (lifecycle_stages or ()) or bool(member.segment_ids & set(segment_ids or ()))


def parse_audience(data: dict, problems: dict[str, str], *, prefix: str = "") -> tuple[list[int] | None,
                                                                                      list[str] | None]:
    """(segment_ids, lifecycle_stages) from a reward or campaign body, None for "not limited";
    problems are added under `prefix + field`."""
    ids, stages = data.get("segment_ids"), data.get("lifecycle_stages")
    if ids is not None and (not isinstance(ids, list) or not all(_is_int(i) and i > 0 for i in ids)):
        problems[f"{prefix}segment_ids"] = "a list of segment ids (numbers), or null for every member"
        ids = None
    if stages is not None and (not isinstance(stages, list) or not all(s in STAGES for s in stages)):
        problems[f"{prefix}lifecycle_stages"] = f"a list of lifecycle stages ({', '.join(STAGES)}), or null"
        stages = None
    return (sorted(set(ids)) or None) if ids else None, (list(dict.fromkeys(stages)) or None) if stages else None


# ---- facts from Shopify's customer payloads ----------------------------------------------------

def customer_tags_text(tags: Any) -> str | None:
    """Shopify's tags ("vip, wholesale" in webhooks, a list in GraphQL) as stored: ", "-joined,
    without blanks or repeats; None when the payload says nothing about tags."""
    if tags is None:
        return None
    items = tags.split(",") if isinstance(tags, str) else [str(t) for t in tags] if isinstance(tags, list) else []
    return ", ".join(dict.fromkeys(t.strip() for t in items if t.strip()))


def customer_country(payload: dict) -> str | None:
    code = (payload.get("default_address") or {}).get("country_code")
    return code.upper() if isinstance(code, str) and _COUNTRY.match(code) else None
