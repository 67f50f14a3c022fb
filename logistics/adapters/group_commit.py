"""Concurrent commands of one process committed together: a group commit, for either database.

A command's `insert_events` call joins a queue. Whichever caller takes the leader's lock first
writes everything queued (its own events among them) in one transaction: one fsync, and on
PostgreSQL one hold of the events table's lock, for the whole group. Each caller's events go in
under a savepoint of their own, so a caller whose events conflict (another command appended the
same aggregate version first) gets the library's IntegrityError and retries, as it would alone,
while the others' events commit. A failed commit fails every caller in the group: none of them
was acknowledged. Outcomes are published only after the commit.

The recorders (sqlite_writes.GroupCommitRecorder, postgres_writes.PostgresGroupCommitRecorder)
say how a group is written (`_write_group`) and which locks elect the leader.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Sequence

from eventsourcing import persistence
from eventsourcing.persistence import OperationalError, StoredEvent

# PEP 249's exceptions, most specific first: sqlite3 and psycopg both have them, and so has the library.
PEP_249 = ("IntegrityError", "InterfaceError", "OperationalError", "DataError", "InternalError", "ProgrammingError",
           "NotSupportedError", "DatabaseError")
INTERRUPTED = "the commit of this command's group was interrupted: nothing in it was recorded; try again"


def library_error(error: Exception, driver: ModuleType) -> Exception:
    """A driver's exception as the library's own (as its datastores convert them), so that the
    application's retries (of an IntegrityError, an OperationalError) see it."""
    for name in PEP_249:
        if isinstance(error, getattr(driver, name)):
            return getattr(persistence, name)(str(error))
    return persistence.PersistenceError(str(error)) if isinstance(error, driver.Error) else error


def _own_copy(error: BaseException) -> BaseException:
    """Each caller raises an exception object of its own (a traceback is per raise)."""
    try:
        return type(error)(*error.args)
    except Exception:  # noqa: BLE001 - a class that cannot be made from its args: the object itself
        return error


@dataclass(eq=False)  # compared by identity: two callers may well send equal events
class _Pending:
    events: Sequence[StoredEvent]
    done: threading.Event = field(default_factory=threading.Event)
    ids: Sequence[int] | None = None
    error: BaseException | None = None


class GroupCommit:
    """Mixed into an eventsourcing application recorder, before it; call `_start_group_commit`."""

    MAX_GROUP = 64

    def _start_group_commit(self, threads: Any, leading: AbstractContextManager[Any]) -> None:
        """`threads`: this process's lock that a caller takes to look whether a leader committed its
        events meanwhile; `leading`: what the leader holds while it writes (taken under `threads`)."""
        self._queue: list[_Pending] = []
        self._queue_guard = threading.Lock()
        self._threads, self._leading = threads, leading

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        mine = _Pending(stored_events)
        with self._queue_guard:
            self._queue.append(mine)
        try:
            while not mine.done.is_set():
                with self._threads:  # a follower whose events a leader committed meanwhile goes no further
                    if mine.done.is_set():
                        break
                    with self._leading:  # the leader: commits what is queued, its own events among them
                        with self._queue_guard:
                            group, self._queue = self._queue[:self.MAX_GROUP], self._queue[self.MAX_GROUP:]
                        if group:
                            self._commit(group, leader=mine)
        except BaseException:  # interrupted before its events were taken: they must never be committed later
            with self._queue_guard:
                queued = any(p is mine for p in self._queue)
                self._queue = [p for p in self._queue if p is not mine]
            if queued:
                raise
            mine.done.wait()  # a leader has them: its outcome is this caller's
        if mine.error is not None:
            error = _own_copy(mine.error)
            if error is mine.error:
                raise error
            raise error from mine.error
        return mine.ids

    def _commit(self, group: list[_Pending], leader: _Pending) -> None:
        try:
            ids, errors = self._write_group([pending.events for pending in group])
        except BaseException as e:  # the commit failed or was interrupted: nothing in the group was recorded
            for pending in group:  # an interrupt (KeyboardInterrupt...) is the leader's alone
                pending.error = e if isinstance(e, Exception) or pending is leader else OperationalError(INTERRUPTED)
        else:
            for n, pending in enumerate(group):
                pending.ids, pending.error = ids.get(n), errors.get(n)
        finally:
            for pending in group:
                pending.done.set()

    def _write_group(self, batches: list[Sequence[StoredEvent]]) \
            -> tuple[dict[int, Sequence[int] | None], dict[int, BaseException]]:
        """Write each caller's events under a savepoint of its own, in one transaction, and commit;
        returns the notification ids of each caller that succeeded and the error of each that did
        not (by position). Raises if the transaction as a whole failed."""
        raise NotImplementedError
