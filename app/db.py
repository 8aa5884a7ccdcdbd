"""Engine and sessions (plain SQLAlchemy 2.0).

SQLite and PostgreSQL get the same guarantees by different means:
- PostgreSQL: READ COMMITTED plus `SELECT ... FOR NO KEY UPDATE` on the member row where a service
  must not race (redemptions, clawbacks).
- SQLite (WAL): a writing transaction starts with `BEGIN IMMEDIATE`, so it takes the write
  lock before it reads. A deferred transaction that reads and then writes fails with
  SQLITE_BUSY_SNAPSHOT when another writer committed in between, instead of waiting.
  Read-only sessions keep a plain deferred BEGIN, so readers never wait for writers.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY_OPTION = "tessera_read_only"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every test
        # Take transaction control away from pysqlite so the "begin" hook below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str, *, sqlite_synchronous: str = "FULL", pool_size: int = 10) -> Engine:
    # Statement parameters are members' emails, names and addresses: an error message (logged,
    # and kept on inbox rows and import jobs) must show the statement, never the values.
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)
        _configure_sqlite(engine, sqlite_synchronous)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True, hide_parameters=True)


TRANSACTION_CACHE = "tessera_transaction_cache"


def transaction_cache(session: Session) -> dict:
    """Values that hold for the current transaction only (emptied when it ends)."""
    return session.info.setdefault(TRANSACTION_CACHE, {})


def _forget_transaction_cache(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(TRANSACTION_CACHE, None)


WROTE = "wrote"


def has_uncommitted_writes(session: Session) -> bool:
    """Whether the session's transaction holds changes, flushed or not, that a commit would keep."""
    return bool(session.new or session.dirty or session.deleted) or transaction_cache(session).get(WROTE, False)


def _note_flush(session: Session, _flush_context) -> None:
    transaction_cache(session)[WROTE] = True


def _note_bulk_write(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        transaction_cache(state.session)[WROTE] = True


class Database:
    """One engine and two session factories: writers and readers."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._writer = sessionmaker(bind=engine, expire_on_commit=False)
        self._reader = sessionmaker(bind=engine.execution_options(**{READ_ONLY_OPTION: True}),
                                    expire_on_commit=False)
        for factory in (self._writer, self._reader):
            event.listen(factory, "after_transaction_end", _forget_transaction_cache)
            event.listen(factory, "after_flush", _note_flush)
            event.listen(factory, "do_orm_execute", _note_bulk_write)

    def session(self, *, read_only: bool = False) -> Session:
        return (self._reader if read_only else self._writer)()

    @contextmanager
    def scope(self, *, read_only: bool = False) -> Iterator[Session]:
        """A session for a job or CLI command; whatever a service did not commit is rolled back.
        (close() rolls back without expiring loaded objects, so callers may still read them.)"""
        session = self.session(read_only=read_only)
        try:
            yield session
        finally:
            session.close()

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)
