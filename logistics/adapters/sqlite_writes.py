"""One writer at a time per SQLite file, queued rather than polling, and concurrent commands committed together.

SQLite lets one transaction write at a time. Each process has two kinds of writers: the event
store (eventsourcing's recorder, its own connections) and SQLAlchemy's writer engines (the read
model's projection, accounts, the outbox), and `serve --workers N` runs N processes. Left alone
they meet in SQLite's busy handler, which sleeps in steps of 1 to 100 ms: the tail latency of
concurrent scans. Here the event store and the projection queue instead: on a lock per database
file within the process, then on an flock(2) of a file beside the database (`FILE-writers`)
between processes, which the kernel hands to the next waiter the moment it is released, and
releases by itself if its holder is killed. SQLite's own locking still guards the data.

`GroupCommitRecorder` is the event store's recorder: concurrent callers' events are written
by whichever of them takes the lock first, in one transaction and one fsync (group_commit.py).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Sequence
from uuid import UUID

from eventsourcing.persistence import OperationalError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from logistics.domain.chain import (BACKFILL_PAGE, CHAIN_TABLE, GENESIS, HEAD_TABLE, ChainExists, ChainRow, Head,
                                      HeadRecord, ChainEvent, backfill_links, link_events, now_text, wanted_previous)
from logistics.adapters.group_commit import GroupCommit, library_error


class WriteLock:
    """Re-entrant: a thread already holding it may take it again. `threads` alone is the
    in-process part (an RLock); entering the WriteLock takes it and then the flock."""

    def __init__(self, path: str):
        self.path = path + "-writers"
        self.threads = threading.RLock()
        self._depth = 0  # changed only by the thread holding self.threads
        self._fd: int | None = None

    def __enter__(self) -> "WriteLock":
        self.threads.acquire()
        try:
            if self._depth == 0:
                if self._fd is None:  # read-only is enough for flock; any user who can read the database can queue
                    self._fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o644)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self.threads.release()
            raise
        self._depth += 1
        return self

    def __exit__(self, *_: Any) -> None:
        try:
            self._depth -= 1
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self.threads.release()


_LOCKS: dict[str, WriteLock] = {}
_LOCKS_GUARD = threading.Lock()


def write_lock(path: str | os.PathLike[str]) -> WriteLock:
    """The write lock of one SQLite file (the same lock for every spelling of its path)."""
    key = os.path.realpath(os.fspath(path))
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, WriteLock(key))


class _SingleStatementReads:
    """The library's SQLite datastore, on connections of this thread's own that keep their
    prepared statements.

    Reads (`transaction(commit=False)`: an aggregate's events, the notification log, the last
    notification id; one SELECT each) run in autocommit mode, as one statement is atomic by
    itself. The library's way (a pooled connection, BEGIN, the SELECT, ROLLBACK) costs 21-28 us
    a read against 3-4 us, and a command reads an aggregate's new events at least once.

    Writes (`transaction(commit=True)`) run BEGIN ... COMMIT as the library's do. The library
    opens its connections with `cached_statements=True`, a statement cache of one entry: every
    statement of a write transaction (BEGIN, SAVEPOINT, the inserts, the chain's, COMMIT) was
    prepared again each time, 3.9 of them per command without the chain and 6.9 with it
    (callgrind, 200 commands at one client: 2.41 and 2.60 M instructions per command)."""

    CACHED_STATEMENTS = 128  # the standard library's default

    def __init__(self, datastore: Any):
        self._datastore = datastore
        self._local = threading.local()  # its connections close when the recorder is dropped

    def __getattr__(self, name: str) -> Any:
        return getattr(self._datastore, name)

    def _connection(self, kind: str) -> sqlite3.Connection:
        connection = getattr(self._local, kind, None)
        if connection is None:
            pool = self._datastore.pool
            connection = sqlite3.connect(pool.db_name, uri=True, check_same_thread=False, isolation_level=None,
                                         timeout=pool.lock_timeout or 5, cached_statements=self.CACHED_STATEMENTS)
            connection.row_factory = sqlite3.Row
            setattr(self._local, kind, connection)
        return connection

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Any]:
        if commit:
            with self._write() as cursor:
                yield cursor
            return
        cursor = self._connection("reader").cursor()
        try:
            yield cursor
        except sqlite3.Error as e:  # as the library raises them, for its callers' retries
            raise library_error(e, sqlite3) from e
        finally:
            cursor.close()

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """The library's SQLiteTransaction on this thread's writer connection: an error inside
        rolls back; sqlite3's errors, inside or at COMMIT, become the library's own, as there."""
        connection = self._connection("writer")
        if connection.in_transaction:  # a write inside a write on this thread: the library's own pool
            with self._datastore.transaction(commit=True) as cursor:
                yield cursor
            return
        cursor = connection.cursor()
        try:
            cursor.execute("BEGIN")
            try:
                yield SQLiteCursor(cursor)
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        except sqlite3.Error as e:
            raise library_error(e, sqlite3) from e
        finally:
            cursor.close()


class GroupCommitRecorder(GroupCommit, SQLiteApplicationRecorder):
    """The SQLite application recorder, committing concurrent `insert_events` calls together,
    the leader holding the database's write lock (in the process, then across processes)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.datastore = _SingleStatementReads(self.datastore)  # type: ignore[assignment]
        self._lock = write_lock(self.datastore.pool.db_name)
        self._start_group_commit(threads=self._lock.threads, leading=self._lock)

    def _write_group(self, batches: list[Sequence[StoredEvent]]) \
            -> tuple[dict[int, Sequence[int] | None], dict[int, BaseException]]:
        ids: dict[int, Sequence[int] | None] = {}
        errors: dict[int, BaseException] = {}
        with self.datastore.transaction(commit=True) as c:
            linker = self._linker(c)
            for n, events in enumerate(batches):
                c.execute("SAVEPOINT command")
                try:
                    ids[n] = self._insert_events(c, events)
                    if linker is not None:
                        linker.add(events, ids[n])
                except Exception as e:  # noqa: BLE001 - this caller's alone, if the transaction survived it
                    try:
                        c.execute("ROLLBACK TO command")
                    except sqlite3.Error:
                        raise e from None
                    errors[n] = library_error(e, sqlite3)
                c.execute("RELEASE command")
            if linker is not None:
                linker.finish()
        if linker is not None:  # committed
            self._committed(linker)
        return ids, errors

    def _linker(self, c: Any) -> "SQLiteLinker | None":
        """Links the events in the transaction (chain.py); this recorder makes none."""
        return None

    def _committed(self, linker: "SQLiteLinker") -> None:
        pass


CHAIN_DDL = (
    f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} (position INTEGER PRIMARY KEY, originator_id TEXT NOT NULL, "
    "originator_version INTEGER NOT NULL, event_hash BLOB NOT NULL, chain_hash BLOB NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {HEAD_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL, "
    "chain_hash BLOB NOT NULL, trusted_from INTEGER NOT NULL, backfilled_through INTEGER, started_at TEXT NOT NULL)",
)


def _stored_id(originator_id: Any) -> str:
    """An aggregate id as the library's SQLite recorder stores it (a UUID as 32 hex digits)."""
    if isinstance(originator_id, UUID):
        return originator_id.hex
    try:
        return UUID(str(originator_id)).hex
    except ValueError:
        return str(originator_id)


class SQLiteLinker:
    """Adds the chain rows of a transaction's events, after they are inserted (so this
    transaction already holds SQLite's write lock when it reads the head), and moves the head.
    `known`: committed links, aggregate -> (version, link), looked up before the table;
    `rows`: the links added (those of commands whose savepoint held)."""

    def __init__(self, c: Any, events_table: str, known: Mapping[str, tuple[int, bytes]] | None = None):
        self.c, self.events_table, self.known = c, events_table, known or {}
        self.head: Head | None = None
        self.read = self.moved = False
        self.rows: list[ChainRow] = []

    def add(self, events: Sequence[StoredEvent], positions: Sequence[int] | None) -> None:
        if not events or not positions:
            return
        c = self.c
        if not self.read:
            c.execute(f"SELECT position, chain_hash FROM {HEAD_TABLE} WHERE id = 1")
            row = c.fetchone()
            self.head, self.read = (Head(row[0], bytes(row[1])) if row else None), True
        if self.head is None:  # a database recorded before the chain, not yet backfilled
            return
        previous: dict[tuple[str, int], bytes] = {}
        for aggregate, version in wanted_previous(events):
            known = self.known.get(aggregate)
            if known is not None and known[0] == version:
                previous[(aggregate, version)] = known[1]
                continue
            c.execute(f"SELECT c.event_hash FROM {self.events_table} e JOIN {CHAIN_TABLE} c ON c.position = e.rowid "
                      "WHERE e.originator_id = ? AND e.originator_version = ?", (_stored_id(aggregate), version))
            row = c.fetchone()
            if row is not None:
                previous[(aggregate, version)] = bytes(row[0])
        rows, head = link_events(self.head, events, positions, previous)
        values = [(r.position, r.originator_id, r.originator_version, r.event_hash, r.chain_hash) for r in rows]
        if len(values) == 1:  # most commands: execute is the cheaper call for one row
            c.execute(f"INSERT INTO {CHAIN_TABLE} VALUES (?, ?, ?, ?, ?)", values[0])
        else:
            c.executemany(f"INSERT INTO {CHAIN_TABLE} VALUES (?, ?, ?, ?, ?)", values)
        self.head, self.moved = head, True
        self.rows += rows

    def finish(self) -> None:
        if self.moved and self.head is not None:
            self.c.execute(f"UPDATE {HEAD_TABLE} SET position = ?, chain_hash = ? WHERE id = 1",
                           (self.head.position, self.head.chain_hash))


def _row(row: Any) -> ChainRow:
    return ChainRow(row[0], row[1], row[2], bytes(row[3]), bytes(row[4]))


LINKS_KEPT = 4096  # aggregates whose last committed link a chained recorder keeps


class ChainedGroupCommitRecorder(GroupCommitRecorder):
    """The group-commit recorder that also links every event into the history's chains (chain.py),
    in the transaction that records it. It is also the chain's store for `verify`.

    It keeps the last link it committed of each of the last LINKS_KEPT aggregates it wrote: an
    aggregate's version and its link never change once committed (whichever process wrote
    them), so the next command on it needs no query for the link it follows. Kept only after
    the commit, of commands whose savepoint held. Inserting one event (an aggregate's
    versions 1 to 6 in turn, interleaved with the others) took 0.325 ms of CPU with that query,
    0.294 ms without it, against 0.198 ms without the chain (0.333 ms before this recorder
    kept links, parsed each aggregate id once rather than three times and inserted one row with
    `execute`)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._links: dict[str, tuple[int, bytes]] = {}  # used by the leader alone (under the write lock)

    def create_table(self) -> None:
        # Several processes start on one file at once (serve --workers, a worker beside them).
        # The library's transaction is a deferred BEGIN: it reads the schema, then writes; if
        # another process wrote in between (SQLAlchemy's tables, which do not take our flock),
        # SQLite answers "database is locked" at once, without its busy wait (CI saw a server die
        # so). The DDL is idempotent, so it is taken under the write lock and tried again.
        for attempt in range(50):
            try:
                with self._lock:
                    super().create_table()
                    with self.datastore.transaction(commit=True) as c:
                        for statement in CHAIN_DDL:
                            c.execute(statement)
                        c.execute(f"INSERT INTO {HEAD_TABLE} SELECT 1, 0, ?, 1, NULL, ? WHERE NOT EXISTS "
                                  f"(SELECT 1 FROM {HEAD_TABLE}) AND NOT EXISTS "
                                  f"(SELECT 1 FROM {self.events_table_name})", (GENESIS, now_text()))
                return
            except OperationalError as e:
                if "locked" not in str(e) or attempt == 49:
                    raise
                time.sleep(0.1)

    def _linker(self, c: Any) -> SQLiteLinker:
        return SQLiteLinker(c, self.events_table_name, self._links)

    def _committed(self, linker: SQLiteLinker) -> None:
        links = self._links
        for row in linker.rows:
            links.pop(row.originator_id, None)  # to the end: the aggregate least recently written goes first
            links[row.originator_id] = (row.originator_version, row.event_hash)
        while len(links) > LINKS_KEPT:
            del links[next(iter(links))]

    def _read(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return c.fetchall()

    def chain_head(self) -> HeadRecord | None:
        rows = self._read(f"SELECT position, chain_hash, trusted_from, backfilled_through, started_at "
                          f"FROM {HEAD_TABLE} WHERE id = 1")
        return HeadRecord(rows[0][0], bytes(rows[0][1]), rows[0][2], rows[0][3], rows[0][4]) if rows else None

    def chain_rows(self, after: int, limit: int) -> list[ChainRow]:
        return [_row(r) for r in self._read(f"SELECT * FROM {CHAIN_TABLE} WHERE position > ? ORDER BY position "
                                            "LIMIT ?", (after, limit))]

    def chain_row_before(self, position: int) -> ChainRow | None:
        rows = self._read(f"SELECT * FROM {CHAIN_TABLE} WHERE position < ? ORDER BY position DESC LIMIT 1", (position,))
        return _row(rows[0]) if rows else None

    def chain_row_at(self, position: int) -> ChainRow | None:
        rows = self._read(f"SELECT * FROM {CHAIN_TABLE} WHERE position = ?", (position,))
        return _row(rows[0]) if rows else None

    def aggregate_link(self, originator_id: str, version: int) -> bytes | None:
        rows = self._read(f"SELECT c.event_hash FROM {self.events_table_name} e JOIN {CHAIN_TABLE} c "
                          "ON c.position = e.rowid WHERE e.originator_id = ? AND e.originator_version = ?",
                          (_stored_id(originator_id), version))
        return bytes(rows[0][0]) if rows else None

    def chain_rows_of(self, originator_id: str) -> list[ChainRow]:
        """An aggregate's links, by version (found through the events table's key)."""
        return [_row(r) for r in self._read(f"SELECT c.* FROM {self.events_table_name} e JOIN {CHAIN_TABLE} c "
                                            "ON c.position = e.rowid WHERE e.originator_id = ? "
                                            "ORDER BY e.originator_version", (_stored_id(originator_id),))]

    def backfill(self, progress: Callable[[int], None] | None = None) -> HeadRecord:
        """Link the events recorded before the chain existed, in one transaction holding the write
        lock (writers wait; none of their events can slip in unlinked)."""
        with self._lock, self.datastore.transaction(commit=True) as c:
            c.execute(f"SELECT 1 FROM {HEAD_TABLE}")
            if c.fetchone():
                raise ChainExists
            c.execute(f"DELETE FROM {CHAIN_TABLE}")
            head, aggregates, after = Head(0, GENESIS), {}, 0
            while True:
                c.execute(f"SELECT rowid, originator_id, originator_version, topic, state FROM {self.events_table_name} "
                          "WHERE rowid > ? ORDER BY rowid LIMIT ?", (after, BACKFILL_PAGE))
                events = [ChainEvent(r[0], r[1], r[2], r[3], bytes(r[4])) for r in c.fetchall()]
                if not events:
                    break
                rows = list(backfill_links(events, head, aggregates))
                c.executemany(f"INSERT INTO {CHAIN_TABLE} VALUES (?, ?, ?, ?, ?)",
                              [(r.position, r.originator_id, r.originator_version, r.event_hash, r.chain_hash)
                               for r in rows])
                head, after = Head(rows[-1].position, rows[-1].chain_hash), rows[-1].position
                if progress:
                    progress(len(rows))
            record = HeadRecord(head.position, head.chain_hash, head.position + 1, head.position, now_text())
            c.execute(f"INSERT INTO {HEAD_TABLE} VALUES (1, ?, ?, ?, ?, ?)",
                      (record.position, record.chain_hash, record.trusted_from, record.backfilled_through,
                       record.started_at))
        return record
