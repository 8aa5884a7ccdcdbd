"""Set-based SQL for batches of rows (the historical import, the webhook path's order batches).

On PostgreSQL a batch's rows travel as one JSON document (INSERT ... SELECT FROM
json_populate_recordset) and id lists as one array (`= ANY(array)`): the statement text is the
same for every batch, so the driver and the server prepare it once. A multi-row VALUES list or
an IN list with 1000 placeholders is a new, long text every time, and parsing it cost the
driver more than the server spent executing it.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, any_, literal, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement, TextClause


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def among(session: Session, column, values: Iterable) -> ColumnElement:
    """`column IN values`, as one array parameter on PostgreSQL (see above)."""
    values = list(values)
    if _is_postgres(session):
        return column == any_(literal(values, postgresql.ARRAY(column.type)))
    return column.in_(values)


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]], *, conflict: tuple[str, ...] | None,
                returning: tuple[str, ...] = ()) -> list[tuple]:
    """INSERT rows (all with the same keys) ignoring conflicts (on `conflict`, or any unique
    constraint when None); the `returning` columns of the rows actually inserted."""
    if not rows:
        return []
    if _is_postgres(session):
        statement = _json_insert(table, tuple(rows[0]), conflict, returning)
        result = session.execute(statement, {"rows": json.dumps(rows, default=_json_value)})
    else:
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict) if conflict else None)
        result = session.execute(statement.returning(*[table.c[r] for r in returning]) if returning else statement,
                                 rows)
    return [tuple(row) for row in result] if returning else []


@lru_cache(maxsize=16)
def _json_insert(table: Table, columns: tuple[str, ...], conflict: tuple[str, ...] | None,
                 returning: tuple[str, ...]) -> TextClause:
    names = ", ".join(columns)
    target = f"({', '.join(conflict)}) " if conflict else ""
    sql = (f"INSERT INTO {table.name} ({names}) SELECT {names} FROM json_populate_recordset(NULL::{table.name}, "
           f"CAST(:rows AS json)) ON CONFLICT {target}DO NOTHING"
           + (f" RETURNING {', '.join(returning)}" if returning else ""))
    return text(sql)


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()  # aware UTC: PostgreSQL reads it as timestamptz
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
