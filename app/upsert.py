"""`INSERT ... ON CONFLICT DO NOTHING RETURNING` that SQLAlchemy can cache.

The dialect `insert().on_conflict_do_nothing()` constructs are compiled again on every
execution (they carry no cache key), which showed up as a large share of the webhook ack and
of event processing. The same statement as text with typed bind parameters compiles once;
both SQLite (3.35+) and PostgreSQL accept this syntax.
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Table, bindparam, text
from sqlalchemy.sql.elements import TextClause


@lru_cache(maxsize=32)
def insert_ignoring_conflicts(table: Table, conflict_columns: tuple[str, ...], returning: str = "id") -> TextClause:
    """Every column but the primary key must be given a value when executing."""
    columns = [c for c in table.columns if not c.primary_key]
    sql = (f"INSERT INTO {table.name} ({', '.join(c.name for c in columns)}) "
           f"VALUES ({', '.join(':' + c.name for c in columns)}) "
           f"ON CONFLICT ({', '.join(conflict_columns)}) DO NOTHING RETURNING {returning}")
    return text(sql).bindparams(*[bindparam(c.name, type_=c.type) for c in columns])
