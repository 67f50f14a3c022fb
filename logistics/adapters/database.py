"""One database URL configures everything: the event store and the read model.

`sqlite:///logistics.db` (the default) or `postgresql://user@host:5432/dbname`.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Engine, NullPool, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from logistics.adapters.sqlite_writes import write_lock

DEFAULT_URL = "sqlite:///logistics.db"
ENV_VAR = "LOGISTICS_DATABASE_URL"
SCHEMA_LOCK_KEY = 0x6C6F6769  # the advisory lock the processes creating tables take turns on ("logi")


class DatabaseURLError(ValueError):
    pass


@dataclass(frozen=True)
class Database:
    url: URL

    @classmethod
    def from_url(cls, text: str | None = None) -> "Database":
        text = text or os.environ.get(ENV_VAR) or DEFAULT_URL
        try:
            url = make_url(text)
        except ArgumentError:
            raise DatabaseURLError(
                f"database URL {text!r} is not valid: expected sqlite:///FILE or postgresql://USER@HOST:PORT/DBNAME"
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise DatabaseURLError(f"database URL {text!r} names {url.get_backend_name()!r}: expected sqlite or postgresql")
        if url.get_backend_name() == "sqlite" and not url.database:
            raise DatabaseURLError(f"database URL {text!r} names no file: an in-memory database would lose every event")
        return cls(url)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.database or "")

    def eventsourcing_env(self) -> dict[str, str]:
        if self.is_sqlite:
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": "30",
                "APPLICATION_RECORDER_TOPIC": "logistics.adapters.sqlite_writes:ChainedGroupCommitRecorder",
            }
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.url.database or "postgres",
            "POSTGRES_HOST": self.url.host or "127.0.0.1",
            "POSTGRES_PORT": str(self.url.port or 5432),
            "POSTGRES_USER": self.url.username or "postgres",
            "POSTGRES_PASSWORD": self.url.password or "",
            "POSTGRES_POOL_SIZE": "5",  # per process: at most 25 connections in all (see engine())
            "POSTGRES_MAX_OVERFLOW": "5",
            "APPLICATION_RECORDER_TOPIC": "logistics.adapters.postgres_writes:ChainedPostgresRecorder",
        }

    @contextmanager
    def schema_lock(self) -> Iterator[None]:
        """Held while creating missing tables. On PostgreSQL two processes doing that at once can
        fail ("tuple concurrently updated", "relation already exists"): processes starting together
        (serve --workers N, a worker) take turns on an advisory lock, which PostgreSQL releases by
        itself if its holder dies. SQLite serialises its schema changes itself."""
        if self.is_sqlite:
            yield
            return
        engine = create_engine(self.url.set(drivername="postgresql+psycopg"), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
        finally:
            engine.dispose()

    def write_lock(self) -> AbstractContextManager[Any]:
        """Held around a write transaction so that this process's SQLite writers queue instead of
        meeting in SQLite's busy handler (see sqlite_writes.py); nothing on PostgreSQL."""
        return write_lock(self.sqlite_path) if self.is_sqlite else nullcontext()

    def engine(self, *, writer: bool = False, rebuildable: bool = False) -> Engine:
        """A SQLAlchemy engine; on SQLite the writer engine takes the write lock at BEGIN.

        `rebuildable`: for tables that can be rebuilt from the events (the read model), whose
        position commits with them. On SQLite such a writer skips the fsync at each commit
        (synchronous=NORMAL: a commit survives a killed process, and after a power cut the
        rows and their position roll back together and are applied again)."""
        if self.is_sqlite:
            engine = create_engine(self.url.set(drivername="sqlite+pysqlite"), connect_args={"timeout": 30})

            @event.listens_for(engine, "connect")
            def _connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
                dbapi_connection.isolation_level = None
                dbapi_connection.execute("PRAGMA journal_mode=WAL")
                dbapi_connection.execute("PRAGMA busy_timeout=30000")
                dbapi_connection.execute(f"PRAGMA synchronous={'NORMAL' if rebuildable else 'FULL'}")

            @event.listens_for(engine, "begin")
            def _begin(conn):  # type: ignore[no-untyped-def]
                conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

            return engine
        size, overflow = (2, 3) if writer else (5, 5)
        engine = create_engine(self.url.set(drivername="postgresql+psycopg"), pool_size=size, max_overflow=overflow,
                               pool_pre_ping=True)
        if rebuildable:  # the same reasoning on PostgreSQL: lost commits are lost with their position
            @event.listens_for(engine, "connect")
            def _relaxed(dbapi_connection, _record):  # type: ignore[no-untyped-def]
                with dbapi_connection.cursor() as cursor:
                    cursor.execute("SET synchronous_commit TO off")
                dbapi_connection.commit()
        return engine
