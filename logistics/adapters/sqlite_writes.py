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
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder

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
    """The library's SQLite datastore, except that its reads (`transaction(commit=False)`: an
    aggregate's events, the notification log, the last notification id; one SELECT each) run on
    this thread's own connection in autocommit mode, as one statement is atomic by itself. The
    library's way (a pooled connection, BEGIN, the SELECT, ROLLBACK) costs 21-28 us a read
    against 3-4 us, and a command reads an aggregate's new events at least once."""

    def __init__(self, datastore: Any):
        self._datastore = datastore
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._datastore, name)

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Any]:
        if commit:
            with self._datastore.transaction(commit=True) as cursor:
                yield cursor
            return
        connection = getattr(self._local, "connection", None)
        if connection is None:
            pool = self._datastore.pool
            connection = sqlite3.connect(pool.db_name, uri=True, check_same_thread=False, isolation_level=None,
                                         timeout=pool.lock_timeout or 5)
            connection.row_factory = sqlite3.Row
            self._local.connection = connection
        cursor = connection.cursor()
        try:
            yield cursor
        except sqlite3.Error as e:  # as the library raises them, for its callers' retries
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
            for n, events in enumerate(batches):
                c.execute("SAVEPOINT command")
                try:
                    ids[n] = self._insert_events(c, events)
                except Exception as e:  # noqa: BLE001 - this caller's alone, if the transaction survived it
                    try:
                        c.execute("ROLLBACK TO command")
                    except sqlite3.Error:
                        raise e from None
                    errors[n] = library_error(e, sqlite3)
                c.execute("RELEASE command")
        return ids, errors
