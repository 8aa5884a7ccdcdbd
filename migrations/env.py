"""Alembic environment. Run through `flask --app wsgi db upgrade`, which sets the URL."""
from __future__ import annotations

import logging

from alembic import context
from sqlalchemy import create_engine, pool

from app.models import Base

config = context.config
target_metadata = Base.metadata
# Alembic announces its dialect plugin on every run ("Context impl SQLiteImpl.", "Will assume
# non-transactional DDL."), which says nothing to whoever runs `make run`; the lines naming the
# migrations applied stay.
PLUGIN_CHATTER = ("Context impl ", "Will assume ")


def _not_plugin_chatter(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(PLUGIN_CHATTER)


_migration_log = logging.getLogger("alembic.runtime.migration")
if _not_plugin_chatter not in _migration_log.filters:
    _migration_log.addFilter(_not_plugin_chatter)


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool, hide_parameters=True)  # no member data in errors
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # WAL lets the web process read while a worker writes; it is a property of the file.
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        # SQLite's DDL is not transactional for Alembic, so begin_transaction() above commits
        # nothing; the rows it wrote (alembic_version, batch table copies) need this commit.
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
