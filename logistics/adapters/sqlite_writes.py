"""One writer at a time per SQLite file within a process, and concurrent commands committed together.

SQLite lets one transaction write at a time. A process has two kinds of writers: the event
store (eventsourcing's recorder, its own connections) and SQLAlchemy's writer engines (the read
model's projection, accounts, the outbox). Left alone they meet in SQLite's busy handler, which
sleeps in steps of 1 to 100 ms: the tail latency of concurrent scans. Here they queue on one
in-process lock per database file instead; other processes still meet in the busy handler.

`GroupCommitRecorder` is the event store's recorder: concurrent callers' events are written
by whichever of them takes the lock first, in one transaction and one fsync (a group commit).
Each caller's events go in under a savepoint of their own, so a caller whose events conflict
(another command appended the same aggregate version first) gets the library's IntegrityError
and retries, as it would alone, while the others' events commit. A failed commit fails every
caller in the group: none of them was acknowledged.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder

_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def write_lock(path: str | os.PathLike[str]) -> threading.RLock:
    """The process's write lock for one SQLite file (the same lock for every spelling of its path)."""
    key = os.path.realpath(os.fspath(path))
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.RLock())


@dataclass
class _Pending:
    events: Sequence[StoredEvent]
    done: threading.Event = field(default_factory=threading.Event)
    ids: Sequence[int] | None = None
    error: BaseException | None = None


class GroupCommitRecorder(SQLiteApplicationRecorder):
    """The SQLite application recorder, committing concurrent `insert_events` calls together."""

    MAX_GROUP = 64

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._lock = write_lock(self.datastore.pool.db_name)
        self._queue: list[_Pending] = []
        self._queue_guard = threading.Lock()

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        mine = _Pending(stored_events)
        with self._queue_guard:
            self._queue.append(mine)
        while not mine.done.is_set():
            with self._lock:  # the leader: commits what is queued, its own events among them (or already done)
                if not mine.done.is_set():
                    with self._queue_guard:
                        group, self._queue = self._queue[:self.MAX_GROUP], self._queue[self.MAX_GROUP:]
                    self._commit(group)
        if mine.error is not None:
            raise mine.error
        return mine.ids

    def _commit(self, group: list[_Pending]) -> None:
        try:
            with self.datastore.transaction(commit=True) as c:
                for pending in group:
                    c.execute("SAVEPOINT command")
                    try:
                        pending.ids = self._insert_events(c, pending.events)
                    except sqlite3.IntegrityError as e:  # this command lost a race: it alone retries
                        c.execute("ROLLBACK TO command")
                        pending.error = IntegrityError(e)
                    c.execute("RELEASE command")
        except Exception as e:  # the commit failed (the library's own error): nothing in the group was recorded
            for pending in group:
                pending.ids, pending.error = None, pending.error or e
        finally:
            for pending in group:
                pending.done.set()
