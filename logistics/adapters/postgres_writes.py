"""Concurrent commands of one process committed together on PostgreSQL.

eventsourcing's PostgreSQL recorder takes an EXCLUSIVE lock on the events table in every
transaction that inserts events (so that notification ids commit in the order they are issued),
and holds it until the commit: commands from every process take turns, one commit each.
`PostgresGroupCommitRecorder` writes the commands queued in this process meanwhile in one such
transaction (group_commit.py): one lock, one NOTIFY, one commit for the group, each command's
events under a savepoint of their own. A command alone is written the library's own way
(pipelined, without a savepoint): sequential commands (the command line, an import) were 0.16x
raw psycopg inserts that way and 0.12x with a savepoint and a round trip per statement.
"""

from __future__ import annotations

import threading
from contextlib import nullcontext
from typing import Any, Sequence

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.pq import TransactionStatus

from logistics.adapters.group_commit import GroupCommit, library_error


class PostgresGroupCommitRecorder(GroupCommit, PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # PostgreSQL's table lock orders the processes; in this one, the leader is whoever holds this
        self._start_group_commit(threads=threading.Lock(), leading=nullcontext())

    def _write_group(self, batches: list[Sequence[StoredEvent]]) \
            -> tuple[dict[int, Sequence[int] | None], dict[int, BaseException]]:
        if len(batches) == 1:  # a command alone: the library's own way (pipelined, no savepoint)
            return {0: PostgresApplicationRecorder.insert_events(self, batches[0])}, {}
        return self._write_savepointed(batches)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's insert_events
    def _write_savepointed(self, batches: list[Sequence[StoredEvent]]) \
            -> tuple[dict[int, Sequence[int] | None], dict[int, BaseException]]:
        ids: dict[int, Sequence[int] | None] = {}
        errors: dict[int, BaseException] = {}
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._lock_table(curs)
            self._notify_channel(curs)
            for n, events in enumerate(batches):
                if not events:
                    ids[n] = None
                    continue
                try:
                    with conn.transaction():  # a savepoint: a command whose events fail, fails alone
                        PostgresAggregateRecorder._insert_stored_events(self, curs, events)
                        ids[n] = self._fetch_ids_after_insert_events(curs, events)
                except Exception as e:  # noqa: BLE001 - this command's alone, if the transaction survived it
                    if conn.info.transaction_status != TransactionStatus.INTRANS:
                        raise
                    errors[n] = library_error(e, psycopg)
        return ids, errors
