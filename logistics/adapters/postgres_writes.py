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
from typing import Any, Callable, Sequence
from uuid import UUID

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Composed, Identifier

from logistics.domain.chain import (BACKFILL_PAGE, CHAIN_TABLE, GENESIS, HEAD_TABLE, ChainExists, ChainRow, Head,
                                      HeadRecord, ChainEvent, backfill_links, link_events, now_text, wanted_previous)
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
            linking = self._start_linking(curs, batches)
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
                else:
                    self._link(linking, events, ids[n])
            self._finish_linking(curs, linking)
        return ids, errors

    # Hooks of the chained recorder below: this one links nothing.
    def _start_linking(self, curs: Any, batches: list[Sequence[StoredEvent]]) -> Any:
        return None

    def _link(self, linking: Any, events: Sequence[StoredEvent], ids: Sequence[int] | None) -> None:
        pass

    def _finish_linking(self, curs: Any, linking: Any) -> None:
        pass


def _chain_ddl(schema: str) -> list[Composed]:
    return [
        SQL("CREATE TABLE IF NOT EXISTS {}.{} (position bigint PRIMARY KEY, originator_id text NOT NULL, "
            "originator_version bigint NOT NULL, event_hash bytea NOT NULL, chain_hash bytea NOT NULL)")
        .format(Identifier(schema), Identifier(CHAIN_TABLE)),
        SQL("CREATE TABLE IF NOT EXISTS {}.{} (id int PRIMARY KEY CHECK (id = 1), position bigint NOT NULL, "
            "chain_hash bytea NOT NULL, trusted_from bigint NOT NULL, backfilled_through bigint, "
            "started_at text NOT NULL)").format(Identifier(schema), Identifier(HEAD_TABLE)),
    ]


class _Linking:
    """A transaction's links, made in memory as each command's events are inserted; written at
    the end with one INSERT, with the head's move."""

    def __init__(self, head: Head | None, previous: dict[tuple[str, int], bytes]):
        self.head, self.previous, self.rows = head, previous, []

    @classmethod
    def of(cls, rows: Sequence[Any]) -> "_Linking":
        head = next((Head(r["position"], bytes(r["hash"])) for r in rows if r["originator_id"] is None), None)
        return cls(head, {(r["originator_id"], r["originator_version"]): bytes(r["hash"])
                          for r in rows if r["originator_id"] is not None})

    def add(self, events: Sequence[StoredEvent], ids: Sequence[int] | None) -> None:
        if self.head is None or not ids:  # no head: a database from before the chain, not yet backfilled
            return
        rows, self.head = link_events(self.head, events, ids, self.previous)
        self.rows += rows
        self.previous.update({(r.originator_id, r.originator_version): r.event_hash for r in rows})

    def columns(self) -> tuple[list[Any], ...]:
        return ([r.position for r in self.rows], [r.originator_id for r in self.rows],
                [r.originator_version for r in self.rows], [r.event_hash for r in self.rows],
                [r.chain_hash for r in self.rows])


def _row(row: Any) -> ChainRow:
    return ChainRow(row["position"], row["originator_id"], row["originator_version"], bytes(row["event_hash"]),
                    bytes(row["chain_hash"]))


class ChainedPostgresRecorder(PostgresGroupCommitRecorder):
    """The group-commit recorder that also links every event into the history's chains (chain.py),
    in the transaction that records it, under the events table's lock; also the chain's store.

    A command alone still costs two round trips, as the library's way does: the lock, the insert
    and the reading of the head and of each aggregate's previous link go in one pipeline; the
    chain rows, the head's move and the commit in the next. A group reads once and writes its
    links once, not per command."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        schema = Identifier(self.datastore.schema)
        chain, head, events = Identifier(CHAIN_TABLE), Identifier(HEAD_TABLE), Identifier(self.events_table_name)
        id_type = SQL(self.datastore.originator_id_type)
        # the head (under the events table's lock: the head this transaction extends), and the link of
        # each aggregate's version before its first event here (committed before: a command saves
        # the version after the one it read, and two in one group with the same aggregate conflict)
        self._sql_head_and_previous = SQL(
            "SELECT NULL AS originator_id, NULL::bigint AS originator_version, chain_hash AS hash, position "
            "FROM {s}.{h} WHERE id = 1 UNION ALL "
            "SELECT e.originator_id::text, e.originator_version, c.event_hash, c.position "
            "FROM {s}.{e} e JOIN {s}.{c} c ON c.position = e.notification_id "
            "WHERE (e.originator_id, e.originator_version) IN "
            "(SELECT * FROM unnest(%s::{t}[], %s::bigint[]))").format(s=schema, h=head, e=events, c=chain, t=id_type)
        self._sql_insert_links = SQL(
            "INSERT INTO {}.{} SELECT * FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::bytea[], %s::bytea[])"
        ).format(schema, chain)
        self._sql_move_head = SQL("UPDATE {}.{} SET position = %s, chain_hash = %s WHERE id = 1").format(schema, head)
        self._schema, self._chain, self._head, self._events = schema, chain, head, events

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as curs:
            for statement in _chain_ddl(self.datastore.schema):
                curs.execute(statement, prepare=False)
            self._lock_table(curs)  # no process records events unlinked meanwhile
            curs.execute(SQL("INSERT INTO {s}.{h} SELECT 1, 0, %s, 1, NULL, %s WHERE NOT EXISTS (SELECT 1 FROM {s}.{h}) "
                             "AND NOT EXISTS (SELECT 1 FROM {s}.{e})").format(s=self._schema, h=self._head,
                                                                             e=self._events),
                         (GENESIS, now_text()), prepare=False)

    # --- writing ------------------------------------------------------------------------------
    def _write_group(self, batches: list[Sequence[StoredEvent]]) \
            -> tuple[dict[int, Sequence[int] | None], dict[int, BaseException]]:
        if len(batches) == 1:
            return {0: self._write_alone(batches[0])}, {}
        return self._write_savepointed(batches)

    def _previous_params(self, events: Sequence[StoredEvent]) -> tuple[list[Any], list[int]]:
        wanted = wanted_previous(events)
        return [UUID(a) if self.datastore.originator_id_type == "uuid" else a for a, _ in wanted], [v for _, v in wanted]

    def _start_linking(self, curs: Any, batches: list[Sequence[StoredEvent]]) -> "_Linking":
        # each command's own wants: a stale command's (X, 26) must not hide a fresh one's (X, 27)
        ids: list[Any] = []
        versions: list[int] = []
        for batch in batches:
            batch_ids, batch_versions = self._previous_params(batch)
            ids += batch_ids
            versions += batch_versions
        curs.execute(self._sql_head_and_previous, (ids, versions), prepare=True)
        return _Linking.of(curs.fetchall())

    def _link(self, linking: "_Linking", events: Sequence[StoredEvent], ids: Sequence[int] | None) -> None:
        linking.add(events, ids)

    def _finish_linking(self, curs: Any, linking: "_Linking") -> None:
        if linking.rows:
            curs.execute(self._sql_insert_links, linking.columns(), prepare=True)
            curs.execute(self._sql_move_head, (linking.head.position, linking.head.chain_hash), prepare=True)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's insert_events
    def _write_alone(self, events: Sequence[StoredEvent]) -> Sequence[int] | None:
        if not events:
            return None
        exc: Exception | None = None
        ids: Sequence[int] | None = None
        with self.datastore.get_connection() as conn:
            with conn.pipeline() as pipeline, conn.transaction():
                with conn.cursor() as curs, conn.cursor() as look:
                    try:
                        self._insert_stored_events(curs, events)  # the lock, the NOTIFY, the insert
                        look.execute(self._sql_head_and_previous, self._previous_params(events), prepare=True)
                        pipeline.sync()  # a conflict raises here, as in the library's insert_events
                        ids = self._fetch_ids_after_insert_events(curs, events)
                        linking = _Linking.of(look.fetchall())
                    except Exception as e:  # noqa: BLE001 - the library's way: raised after the pipeline
                        exc = e
                    else:  # an error from here on leaves the transaction block: nothing is committed
                        linking.add(events, ids)
                        self._finish_linking(curs, linking)
            if exc:
                raise exc
        return ids

    # --- reading (the chain's store) --------------------------------------------------------------
    def _read(self, statement: Composed, params: Sequence[Any] = ()) -> list[Any]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params, prepare=True)
            return curs.fetchall()

    def chain_head(self) -> HeadRecord | None:
        rows = self._read(SQL("SELECT * FROM {}.{} WHERE id = 1").format(self._schema, self._head))
        if not rows:
            return None
        r = rows[0]
        return HeadRecord(r["position"], bytes(r["chain_hash"]), r["trusted_from"], r["backfilled_through"],
                          r["started_at"])

    def chain_rows(self, after: int, limit: int) -> list[ChainRow]:
        return [_row(r) for r in self._read(SQL("SELECT * FROM {}.{} WHERE position > %s ORDER BY position LIMIT %s")
                                            .format(self._schema, self._chain), (after, limit))]

    def chain_row_before(self, position: int) -> ChainRow | None:
        rows = self._read(SQL("SELECT * FROM {}.{} WHERE position < %s ORDER BY position DESC LIMIT 1")
                          .format(self._schema, self._chain), (position,))
        return _row(rows[0]) if rows else None

    def chain_row_at(self, position: int) -> ChainRow | None:
        rows = self._read(SQL("SELECT * FROM {}.{} WHERE position = %s").format(self._schema, self._chain), (position,))
        return _row(rows[0]) if rows else None

    def aggregate_link(self, originator_id: str, version: int) -> bytes | None:
        rows = self._read(self._sql_head_and_previous,
                          self._previous_params([ChainEvent(0, originator_id, version + 1, "", b"")]))
        return next((bytes(r["hash"]) for r in rows if r["originator_id"] is not None), None)

    def chain_rows_of(self, originator_id: str) -> list[ChainRow]:
        """An aggregate's links, by version (found through the events table's key)."""
        key = UUID(originator_id) if self.datastore.originator_id_type == "uuid" else originator_id
        return [_row(r) for r in self._read(
            SQL("SELECT c.* FROM {s}.{e} e JOIN {s}.{c} c ON c.position = e.notification_id "
                "WHERE e.originator_id = %s ORDER BY e.originator_version")
            .format(s=self._schema, e=self._events, c=self._chain), (key,))]

    def backfill(self, progress: Callable[[int], None] | None = None) -> HeadRecord:
        """Link the events recorded before the chain existed, in one transaction holding the events
        table's lock (writers wait; none of their events can slip in unlinked)."""
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            curs.execute(SQL("SET LOCAL lock_timeout = 0"))
            curs.execute(SQL("SELECT 1 FROM {}.{}").format(self._schema, self._head))
            if curs.fetchone():
                raise ChainExists
            curs.execute(SQL("DELETE FROM {}.{}").format(self._schema, self._chain))
            head, aggregates, after = Head(0, GENESIS), {}, 0
            while True:
                curs.execute(SQL("SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{} "
                                 "WHERE notification_id > %s ORDER BY notification_id LIMIT %s")
                             .format(self._schema, self._events), (after, BACKFILL_PAGE))
                events = [ChainEvent(r["notification_id"], r["originator_id"], r["originator_version"], r["topic"],
                                 bytes(r["state"])) for r in curs.fetchall()]
                if not events:
                    break
                rows = list(backfill_links(events, head, aggregates))
                curs.execute(self._sql_insert_links, ([r.position for r in rows], [r.originator_id for r in rows],
                                                      [r.originator_version for r in rows],
                                                      [r.event_hash for r in rows], [r.chain_hash for r in rows]))
                head, after = Head(rows[-1].position, rows[-1].chain_hash), rows[-1].position
                if progress:
                    progress(len(rows))
            record = HeadRecord(head.position, head.chain_hash, head.position + 1, head.position, now_text())
            curs.execute(SQL("INSERT INTO {}.{} VALUES (1, %s, %s, %s, %s, %s)").format(self._schema, self._head),
                         (record.position, record.chain_hash, record.trusted_from, record.backfilled_through,
                          record.started_at))
        return record
