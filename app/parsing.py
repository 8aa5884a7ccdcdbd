"""Reading request input: one place that turns JSON values and query strings into numbers and
text, or refuses them naming the field.

JSON gives any type for any field, and Python's `str.isdigit()` says yes to '²' and '١٢'
(which `int()` then refuses or reads) and to 5000-digit strings (which `int()` refuses and no
database column holds). So numbers are ASCII digits, at most 19 of them, inside the range a
BIGINT holds, and the caller's own bounds. Bodies get 422 (the request was understood, its
content is wrong); query strings and paths get 400.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from werkzeug.routing import IntegerConverter

# The largest value a BIGINT column (ids, points) holds.
MAX_BIGINT = 2 ** 63 - 1
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,19}")


class InvalidField(ValueError):
    """A field of the request that cannot be read; app/errors.py answers `status` naming it."""

    def __init__(self, field: str, problem: str, *, status: int = 422):
        super().__init__(f"{field}: {problem}")
        self.field, self.problem, self.status = field, problem, status


def is_stored_id(value: str) -> bool:
    """Whether free text (a search box) is an id the database can hold."""
    return bool(re.fullmatch(r"[0-9]{1,19}", value)) and int(value) <= MAX_BIGINT


def whole_number(value: Any, field: str, *, minimum: int = -MAX_BIGINT, maximum: int = MAX_BIGINT,
                 status: int = 422) -> int:
    """A JSON number without a fraction, or a string of ASCII digits, within the bounds."""
    problem = f"a whole number from {minimum} to {maximum}"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidField(field, problem, status=status)
    if isinstance(value, str):
        if not _WHOLE_NUMBER.fullmatch(value.strip()):
            raise InvalidField(field, problem, status=status)
        value = int(value.strip())
    if not minimum <= value <= maximum:
        raise InvalidField(field, problem, status=status)
    return value


def optional_whole_number(value: Any, field: str, **bounds: int) -> int | None:
    return None if value is None or value == "" else whole_number(value, field, **bounds)


def text(value: Any, field: str, *, max_length: int, status: int = 422) -> str:
    """A non-empty JSON string (surrounding spaces dropped) of at most `max_length` characters."""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > max_length:
        raise InvalidField(field, f"text of 1 to {max_length} characters", status=status)
    return value.strip()


def optional_text(value: Any, field: str, *, max_length: int, status: int = 422) -> str | None:
    return None if value is None or value == "" else text(value, field, max_length=max_length, status=status)


class StoredIdConverter(IntegerConverter):
    """`<int:...>` in routes: ASCII digits that fit a BIGINT id. werkzeug's own matches any
    Unicode digit and any length, and a 30-digit id overflowed the database driver (500)."""

    regex = r"[0-9]{1,19}"

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's parameter name
        kwargs.setdefault("max", MAX_BIGINT)
        super().__init__(map, *args, **kwargs)


def query_number(args: Mapping[str, str], name: str, *, default: int, minimum: int, maximum: int,
                 clamp: bool = False) -> int:
    """`?name=` as a whole number: absent or empty gives the default; `clamp` brings a number
    outside the bounds inside them (paging sizes), otherwise it is a 400 like any other."""
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        return default
    if clamp:
        return min(maximum, max(minimum, whole_number(raw, name, status=400)))
    return whole_number(raw, name, minimum=minimum, maximum=maximum, status=400)
