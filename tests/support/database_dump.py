"""Every row of every table as text: for proving a piece of personal data is nowhere."""
from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import select

from app.models import Base


def _text(value) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return "" if value is None else str(value)


def dump_all_rows(t) -> list[str]:
    """One line per row, "table: col=value | ...", across every table the models define."""
    lines = []
    with t.db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)).mappings():
                lines.append(f"{table.name}: " + " | ".join(f"{k}={_text(v)}" for k, v in row.items()))
    return lines


def rows_mentioning(t, needles: list[str]) -> list[str]:
    return [line for line in dump_all_rows(t) if any(n.lower() in line.lower() for n in needles)]
