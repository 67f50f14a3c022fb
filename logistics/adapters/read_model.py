"""The read model: SQLAlchemy tables of current state, for the list questions.

Kept by `Projection`: it reads the event store's notifications in order, applies a batch,
and moves its tracking position in the same transaction as the rows, so a crash never
applies an event twice or skips one. `rebuild` drops the tables and replays every event.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from typing import Any, Callable, Iterable, Sequence
from uuid import UUID

from datetime import datetime, timezone

from sqlalchemy import (Boolean, Column, Connection, DateTime, Engine, Integer, MetaData, Table, Text, TypeDecorator,
                        bindparam, delete, insert, select, update)

from logistics.adapters.projection import AggregateCache, TrackingProjection, fewer_collections, tracking
from logistics.domain.changer import SampleChanger
from logistics.domain.container import Container
from logistics.domain.dewar import Dewar
from logistics.domain.people import Proposal
from logistics.domain.registry import Location
from logistics.domain.sample import Sample
from logistics.domain.shipment import Shipment

class UTCDateTime(TypeDecorator[datetime]):
    """A moment, read back in UTC with its zone on every database: SQLite keeps no zone (its values
    came back naive) and PostgreSQL answers in the session's zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


metadata = MetaData()
S = Text  # no length limit: a value the domain accepts must never stop the projection

shipments = Table(
    "rm_shipments", metadata,
    Column("id", S, primary_key=True), Column("proposal", S, index=True), Column("name", Text),
    Column("workflow", S, index=True), Column("safety_level", S), Column("courier", S),
    Column("tracking_number", S), Column("dewar_count", Integer), Column("labels_printed", Integer),
    Column("registered_at", UTCDateTime()), Column("updated_at", UTCDateTime()),
)
dewars = Table(
    "rm_dewars", metadata,
    Column("id", S, primary_key=True), Column("barcode", S, unique=True), Column("facility_code", S),
    Column("kind", S), Column("shipment_id", S, index=True), Column("proposal", S, index=True),
    Column("where_kind", S), Column("where_code", S, index=True), Column("workflow", S, index=True),
    Column("unexpected", Boolean), Column("return_courier", S), Column("return_tracking", S),
    Column("loaded_count", Integer), Column("updated_at", UTCDateTime()),
)
containers = Table(
    "rm_containers", metadata,
    Column("id", S, primary_key=True), Column("barcode", S, unique=True), Column("container_type", S),
    Column("proposal", S, index=True), Column("shipment_id", S), Column("dewar_id", S, index=True),
    Column("parent_kind", S), Column("parent_id", S), Column("position", S),
    Column("loaded_instrument", S, index=True), Column("loaded_position", S), Column("at_instrument", S),
    Column("disposed", Boolean), Column("updated_at", UTCDateTime()),
)
samples = Table(
    "rm_samples", metadata,
    Column("id", S, primary_key=True), Column("name", Text), Column("kind", S), Column("proposal", S, index=True),
    Column("container_id", S, index=True), Column("position", S), Column("removed", Boolean),
    Column("updated_at", UTCDateTime()),
)
arrivals = Table(  # a table of its own, so that a database made before it only gains a table
    "rm_arrivals", metadata, Column("id", S, primary_key=True), Column("arrived_at", UTCDateTime(), index=True),
)
loads = Table(  # a table of its own, like rm_arrivals: a database made before it only gains a table
    "rm_loads", metadata, Column("id", S, primary_key=True), Column("loaded_at", UTCDateTime()),
    Column("actor", S), Column("station", S),
)
changer_positions = Table(
    "rm_changer_positions", metadata,
    Column("instrument", S, primary_key=True), Column("position", S, primary_key=True),
    Column("accepts", Text), Column("container_id", S),
)
locations = Table("rm_locations", metadata, Column("code", S, primary_key=True), Column("name", Text), Column("kind", S))
proposals = Table("rm_proposals", metadata, Column("code", S, primary_key=True), Column("id", S), Column("title", Text))
members = Table(
    "rm_members", metadata, Column("proposal", S, primary_key=True), Column("person_id", S, primary_key=True),
    Column("role", S),
)
TABLES = [shipments, dewars, arrivals, containers, loads, samples, changer_positions, locations, proposals, members]


def _shipment(a: Shipment) -> dict[Table, list[dict[str, Any]]]:
    return {shipments: [dict(id=str(a.id), proposal=a.proposal, name=a.name, workflow=a.workflow,
                             safety_level=a.safety_level, courier=a.courier, tracking_number=a.tracking_number,
                             dewar_count=len(a.dewars), labels_printed=a.labels_printed,
                             registered_at=a.created_on, updated_at=a.modified_on)]}


def _dewar(a: Dewar) -> dict[Table, list[dict[str, Any]]]:
    return {dewars: [dict(id=str(a.id), barcode=a.barcode, facility_code=a.facility_code, kind=a.kind,
                          shipment_id=str(a.shipment_id) if a.shipment_id else None, proposal=a.proposal,
                          where_kind=a.where["kind"], where_code=a.where["code"], workflow=a.workflow,
                          unexpected=a.unexpected, return_courier=a.return_courier,
                          return_tracking=a.return_tracking, loaded_count=len(a.loaded), updated_at=a.modified_on)],
            arrivals: [dict(id=str(a.id), arrived_at=a.arrived_at)] if a.arrived_at else []}


def _container(a: Container) -> dict[Table, list[dict[str, Any]]]:
    parent = a.parent or {}
    loaded = a.loaded or {}
    return {containers: [dict(id=str(a.id), barcode=a.barcode, container_type=a.container_type, proposal=a.proposal,
                              shipment_id=a.shipment_id, dewar_id=a.dewar_id, parent_kind=parent.get("kind"),
                              parent_id=parent.get("id"), position=a.position,
                              loaded_instrument=loaded.get("instrument"), loaded_position=loaded.get("position"),
                              at_instrument=a.at_instrument, disposed=a.disposed, updated_at=a.modified_on)],
            loads: [dict(id=str(a.id), loaded_at=a.loaded_at, **(a.loaded_by or {"actor": None, "station": None}))]
            if a.loaded and a.loaded_at else []}


def _sample(a: Sample) -> dict[Table, list[dict[str, Any]]]:
    return {samples: [dict(id=str(a.id), name=a.name, kind=a.kind, proposal=a.proposal, container_id=a.container_id,
                           position=a.position, removed=a.removed, updated_at=a.modified_on)]}


def _changer(a: SampleChanger) -> dict[Table, list[dict[str, Any]]]:
    accepts = ",".join(a.accepts)
    return {changer_positions: [dict(instrument=a.instrument, position=p, accepts=accepts,
                                     container_id=a.occupied.get(p)) for p in a.positions]}


def _location(a: Location) -> dict[Table, list[dict[str, Any]]]:
    return {locations: [dict(code=a.code, name=a.name, kind=a.kind)]}


def _proposal(a: Proposal) -> dict[Table, list[dict[str, Any]]]:
    return {proposals: [dict(code=a.code, id=str(a.id), title=a.title)],
            members: [dict(proposal=a.code, person_id=p, role=r) for p, r in a.members.items()]}


ROWS: dict[type, Callable[[Any], dict[Table, list[dict[str, Any]]]]] = {
    Shipment: _shipment, Dewar: _dewar, Container: _container, Sample: _sample,
    SampleChanger: _changer, Location: _location, Proposal: _proposal,
}
UNPROJECTED = ("logistics.domain.registry:Claim.", "logistics.domain.registry:Counter.",
               "logistics.domain.people:Person.")
# Which column of each table names the aggregate that owns its rows.
OWNER = {shipments: "id", dewars: "id", arrivals: "id", containers: "id", loads: "id", samples: "id", changer_positions: "instrument",
         locations: "code", proposals: "code", members: "proposal"}
OWNER_VALUE = {changer_positions: "instrument", locations: "code", proposals: "code", members: "code"}


# Built once per table, so that SQLAlchemy reuses their compiled form.
REPLACE = {table: (delete(table).where(table.c[column].in_(bindparam("keys", expanding=True))), insert(table))
           for table, column in OWNER.items()}


COPY_AT_LEAST = 200  # rows: from there on PostgreSQL's COPY beats executemany, which sends them one by one


def _copy(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Rows into a table with PostgreSQL's COPY, in the connection's transaction (psycopg adapts the values)."""
    names = [column.name for column in table.columns]
    with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row.get(name) for name in names])


def _owner_key(table: Table, aggregate: Any) -> str:
    attribute = OWNER_VALUE.get(table)
    return str(getattr(aggregate, attribute) if attribute else aggregate.id)


class Projection(AggregateCache, TrackingProjection):
    """Applies the event store's notifications to the read-model tables, exactly once."""

    NAME = "read_model"

    def __init__(self, app: Any, engine: Engine, writer: Engine, batch_size: int = 2000, **options: Any):
        self._aggregates: OrderedDict[UUID, Any] = OrderedDict()  # projected aggregates, most recent last
        metadata.create_all(engine)
        super().__init__(app, engine, writer, batch_size, **options)

    def _prepare(self, batch: Iterable[Any]) -> tuple[dict[Table, list[str]], dict[Table, list[dict[str, Any]]]]:
        """Each touched aggregate's new rows (this reads the event store for aggregates not cached)."""
        by_originator: dict[UUID, list[Any]] = defaultdict(list)
        for notification in batch:
            if notification.topic.startswith(UNPROJECTED):
                continue  # claims, counters and people have no rows: not even decoded
            by_originator[notification.originator_id].append(self.app.mapper.to_domain_event(notification))
        owners: dict[Table, list[str]] = defaultdict(list)
        replacement: dict[Table, list[dict[str, Any]]] = defaultdict(list)
        for originator_id, events in by_originator.items():
            aggregate = self._aggregate_before(originator_id, events[0].originator_version)
            for domain_event in events:
                aggregate = domain_event.mutate(aggregate)
            self._remember(originator_id, aggregate)
            rows_of = ROWS.get(type(aggregate))
            if rows_of is None:
                continue
            created = events[0].originator_version == 1  # then it has no rows yet: nothing to delete
            for table, rows in rows_of(aggregate).items():
                if not created:
                    owners[table].append(_owner_key(table, aggregate))
                replacement[table].extend(rows)
        return owners, replacement

    def _write(self, conn: Connection, prepared: Any) -> None:
        owners, replacement = prepared
        for table in dict.fromkeys([*owners, *replacement]):  # an aggregate's rows are replaced whole
            remove, add = REPLACE[table]
            keys = owners.get(table, [])
            for start in range(0, len(keys), 500):
                conn.execute(remove, {"keys": keys[start:start + 500]})
            if len(replacement[table]) >= COPY_AT_LEAST and conn.dialect.name == "postgresql":
                _copy(conn, table, replacement[table])
            elif replacement[table]:
                conn.execute(add, replacement[table])

    def prepare_share(self, batch: Sequence[Any]) -> Any:
        owners, replacement = self._prepare(batch)
        return ({table.name: keys for table, keys in owners.items()},
                {table.name: rows for table, rows in replacement.items()})

    def merge(self, shares: Sequence[Any]) -> Any:
        owners: dict[Table, list[str]] = defaultdict(list)
        replacement: dict[Table, list[dict[str, Any]]] = defaultdict(list)
        for share_owners, share_rows in shares:
            for name, keys in share_owners.items():
                owners[metadata.tables[name]].extend(keys)
            for name, rows in share_rows.items():
                replacement[metadata.tables[name]].extend(rows)
        return owners, replacement

    def rebuild(self, progress: Callable[[int], None] | None = None, workers: Any = None) -> int:
        """Drop the read model and replay every event into it (in larger batches than live).

        `workers` (a parallel_rebuild.Workers) prepare the batches in other processes."""
        batch_size, self.batch_size = self.batch_size, max(self.batch_size, 10_000)
        try:
            with fewer_collections():
                return self._rebuild(progress, workers.prepared_batches(self) if workers else None)
        finally:
            self.batch_size = batch_size

    def _rebuild(self, progress: Callable[[int], None] | None, prepared_batches: Any) -> int:
        with self._lock:
            with self.write_lock, self.writer.begin() as conn:  # one transaction: a crash leaves old or new
                metadata.drop_all(conn, tables=TABLES)
                metadata.create_all(conn, tables=TABLES)
                conn.execute(update(tracking).where(tracking.c.name == self.name).values(position=0))
            self._applied = 0
        applied = self.catch_up(progress=progress, prepared_batches=prepared_batches)
        if prepared_batches:  # they stop at the events recorded when the rebuild began
            applied += self.catch_up(progress=progress)
        return applied

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, sorted: for comparing a live read model with a rebuild."""
        with self.engine.connect() as conn:
            return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr) for t in TABLES}
