"""Engines and sessions for SQLite and PostgreSQL.

SQLite is tuned for an office that must not lose a record: WAL (readers never block the
writer), ``synchronous=FULL`` (a commit survives power loss), foreign keys on, and a busy
timeout. Write transactions start with ``BEGIN IMMEDIATE``: a deferred transaction that later
upgrades to a write lock fails at once with "database is locked" instead of waiting, which is
exactly what many concurrent field uploads would hit. Reads stay deferred so they run beside
the writer. Within one process, SQLite writers also queue on a lock of their own: SQLite's
busy handler polls with growing sleeps, so under 50 concurrent uploads on a loaded disk an
unlucky writer could sleep past the whole busy timeout while others kept winning ("database
is locked", a 500); a lock hands the database to waiting writers in turn. Other processes
(CLI jobs) still meet the busy timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

_IMMEDIATE = "plantscout_sqlite_immediate"
_SQLITE_WRITE_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def _sqlite_write_lock(url: str) -> threading.RLock:
    """One lock per database file in this process, whichever engine opened it."""
    database = make_url(url).database or ":memory:"
    key = database if database == ":memory:" else str(Path(database).resolve())
    with _LOCKS_GUARD:
        return _SQLITE_WRITE_LOCKS.setdefault(key, threading.RLock())


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_db_engine(url: str, *, pool_size: int = 10, max_overflow: int = 30) -> Engine:
    """An engine with the per-backend settings described in the module docstring."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=False,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(
        url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True, future=True
    )


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the driver so that BEGIN is ours (see module doc).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=30000",
    ):
        cursor.execute(pragma)
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    immediate = connection.get_execution_options().get(_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@dataclass
class Database:
    """The engine plus two session factories: plain (reads) and write (locks early on SQLite)."""

    engine: Engine
    reader: sessionmaker[Session]
    writer: sessionmaker[Session]
    write_lock: threading.RLock | None = None  # SQLite only: writers queue in this process

    @classmethod
    def connect(cls, url: str, *, pool_size: int = 10, max_overflow: int = 30) -> Database:
        engine = create_db_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        write_engine = engine.execution_options(**{_IMMEDIATE: True})
        return cls(
            engine=engine,
            reader=sessionmaker(bind=engine, expire_on_commit=False),
            writer=sessionmaker(bind=write_engine, expire_on_commit=False),
            write_lock=_sqlite_write_lock(url) if is_sqlite(url) else None,
        )

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading. Closing ends its transaction; loaded rows stay readable
        (detached, not expired), so a handler may use them after the block."""
        with self.reader() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends normally, else rolled back."""
        if self.write_lock is None:
            with self.writer() as session, session.begin():
                yield session
            return
        with self.write_lock, self.writer() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
