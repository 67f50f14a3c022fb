"""Our events, projected into a facility's ISPyB database as its own tools expect to read them.

Shipments become `Shipping` rows (and `ShippingHasSession`), each trip of a dewar a `Dewar` row
(with `DewarRegistry` for facility dewars and a `DewarTransportHistory` row for each where or
workflow event), each trip of a container a `Container` row (with `ContainerRegistry`, its parent
cane, its sample-changer place and `ContainerHistory`), each sample a `BLSample` with its
`Crystal`, `Protein` and `DiffractionPlan`. Proposals, visits (`BLSession`) are looked up, never
created: what cannot be matched waits in `ispyb_pending` (our database) and is projected once its
row appears.

Exactly once, across two databases. The tracking position and the id map (our ids -> ISPyB's
integer ids) live in our database and move in one transaction; each batch's ISPyB rows are one
MariaDB transaction, committed just before it. A process killed between the two commits leaves a
batch that ISPyB has and our database does not know of: the next process (and this one after any
failure) therefore replays its first batch *carefully*, finding each row it would create by its
marker (`source` = 'logistics:<our id>') before creating it, and each history row by its time and
status. The batch size is fixed so that this first batch covers the one that was interrupted.
Later batches skip those look-ups: they are the only writer of rows marked as ours.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence
from uuid import UUID

from sqlalchemy import (Column, Connection, DateTime, Engine, Integer, MetaData, Table, Text, and_, bindparam,
                        delete, insert, select, tuple_, update)

from logistics.adapters.ispyb.mapping import AT_FACILITY, MARK, Mapping, load_mapping, mark, split_proposal, visit_of
from logistics.adapters.projection import AggregateCache, TrackingProjection

logger = logging.getLogger("logistics.ispyb")

metadata = MetaData()
# Our ids -> ISPyB's. kind: shipping (key: shipment id), dewar (dewar id/shipment id: one row per
# trip), container (container id/shipment id), container_now (container id: its current trip's
# row), sample, crystal, plan (sample id), protein (proposal/acronym), dewar_registry, container_registry.
ids = Table("ispyb_ids", metadata, Column("kind", Text, primary_key=True), Column("key", Text, primary_key=True),
            Column("ispyb_id", Integer, nullable=False))
# What waits for a row we may not create (a proposal, a visit) or for its parent.
pending = Table("ispyb_pending", metadata, Column("aggregate_id", Text, primary_key=True), Column("kind", Text),
                Column("name", Text), Column("reason", Text), Column("since", DateTime))
# What we last wrote into each of our Container rows' sample-changer columns: a difference is the beamline's.
placed = Table("ispyb_placed", metadata, Column("container_id", Integer, primary_key=True),
               Column("beamline", Text), Column("position", Text))
# The ContainerHistory rows we wrote, until the read-back has passed them (the rest are the beamline's).
own_history = Table("ispyb_own_history", metadata, Column("history_id", Integer, primary_key=True))

PROJECTED = ("logistics.domain.shipment:", "logistics.domain.dewar:", "logistics.domain.container:",
             "logistics.domain.sample:")
DEWAR_HISTORY = frozenset({"Registered", "AssignedToShipment", "Sent", "Arrived", "Moved", "TakenToInstrument",
                           "DispatchRequested", "DispatchBooked", "Dispatched", "Returned", "Closed", "Cancelled",
                           "ArrivedUnexpectedly", "DispatchCancelled"})
BATCH = 2000  # notifications; fixed (see above). bench_ispyb, 0.03 year: 763 events/s in batches of 500, NEW with 2000
CHUNK = 500  # rows per multi-row INSERT


def naive(moment: datetime | None) -> datetime | None:
    """ISPyB's DATETIME columns hold UTC without a zone, to the second."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)


def ispyb_table(name: str) -> Table:
    from ispyb.sqlalchemy import Base  # the optional 'ispyb' extra
    return Base.metadata.tables[name]


@dataclass
class Work:
    """Rows to write for a batch, keyed so that the last state of each row in the batch wins."""

    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    dewars: dict[str, dict[str, Any]] = field(default_factory=dict)  # trip key -> row
    dewar_ends: dict[str, str] = field(default_factory=dict)  # trip key -> final status of a trip that ended
    dewar_history: list[dict[str, Any]] = field(default_factory=list)
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    detached: set[str] = field(default_factory=set)  # container trip keys that ended (unpacked)
    container_history: list[dict[str, Any]] = field(default_factory=list)
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)
    aggregates: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (kind, name): for the pending list

    def __bool__(self) -> bool:
        return bool(self.shipments or self.dewars or self.dewar_ends or self.containers or self.detached
                    or self.samples or self.dewar_history or self.container_history)


def not_had(rows: list[dict[str, Any]], have: Counter, key: tuple[str, ...]) -> list[dict[str, Any]]:
    """History rows not yet in ISPyB: as many of each kind as it lacks (two moves in one second are two rows)."""
    out = []
    for row in rows:
        k = tuple(row[c] for c in key)
        if have[k] > 0:
            have[k] -= 1
        else:
            out.append(row)
    return out


def trip(entity_id: Any, shipment_id: Any) -> str | None:
    return f"{entity_id}/{shipment_id}" if shipment_id else None


class Collector:
    """Turns decoded events, applied to their aggregates one by one, into a Work."""

    def __init__(self, mapping: Mapping):
        self.mapping, self.work = mapping, Work()
        self.current_trip: dict[str, str] = {}  # container id -> its latest trip in this batch

    def add(self, before: Any, domain_event: Any, after: Any, key_before: str | None,
            loaded_before: dict[str, str] | None) -> None:
        name = type(after).__name__
        getattr(self, f"_{name.lower()}")(domain_event, after, key_before, loaded_before)

    def _shipment(self, e: Any, s: Any, _key: Any, _loaded: Any) -> None:
        self.work.aggregates[str(s.id)] = ("shipment", s.name)
        status = {"registered": "opened", "cancelled": "cancelled"}.get(s.workflow, "sent to facility")
        self.work.shipments[str(s.id)] = dict(
            id=str(s.id), proposal=s.proposal, shippingName=s.name[:45], base_status=status,
            SAFETYLEVEL=s.safety_level[:8].capitalize(), deliveryAgent_agentName=s.courier,
            deliveryAgent_flightCode=s.tracking_number, creationDate=naive(s.created_on),
            bltimeStamp=naive(s.modified_on))

    def _dewar(self, e: Any, d: Any, key_before: str | None, _loaded: Any) -> None:
        self.work.aggregates[str(d.id)] = ("dewar", d.barcode)
        event = type(e).__name__
        key = trip(d.id, d.shipment_id)
        status = self.mapping.dewar_status(d.workflow, bool(d.loaded))
        location = self.mapping.storage_location(d.where)
        if event == "ContainerUnpacked":  # taken out before sending (not a puck back from its last trip)
            self.work.detached.add(f"{e.container_id}/{d.shipment_id}")
            self.work.containers.pop(f"{e.container_id}/{d.shipment_id}", None)
        if event == "Cancelled" and key_before and key_before != key:  # a facility dewar's trip was cancelled
            self.work.dewar_ends[key_before] = "cancelled"
            self.work.dewar_history.append(dict(trip=key_before, dewarStatus="cancelled", storageLocation=location,
                                                arrivalDate=naive(e.timestamp)))
        if key is None:
            return
        self.work.dewars[key] = dict(
            trip=key, dewar=str(d.id), shipment=str(d.shipment_id), proposal=d.proposal,
            visit=visit_of(d.barcode) if d.facility_code is None else None,
            code=(d.facility_code or d.barcode)[:45], barCode=None if d.facility_code else d.barcode[:45],
            facilityCode=d.facility_code, type=self.mapping.dewar_type(d.kind), dewarStatus=status,
            storageLocation=location, trackingNumberFromSynchrotron=d.return_tracking, bltimeStamp=naive(e.timestamp))
        if event in DEWAR_HISTORY:
            self.work.dewar_history.append(dict(trip=key, dewarStatus=status, storageLocation=location,
                                                arrivalDate=naive(e.timestamp)))

    def _container(self, e: Any, c: Any, key_before: str | None, loaded_before: dict[str, str] | None) -> None:
        self.work.aggregates[str(c.id)] = ("container", c.barcode)
        event = type(e).__name__
        key = trip(c.id, c.shipment_id)
        if key is None:  # unpacked: its trip's row stays as that trip's record (the dewar says if it was taken out)
            return
        self.work.detached.discard(key)
        previous = self.current_trip.get(str(c.id))
        if previous and previous != key and previous in self.work.containers:
            self.work.containers[previous]["barcode"] = None  # ISPyB's barcodes are unique: the current trip's
        self.current_trip[str(c.id)] = key
        loaded = c.loaded or {}
        parent = c.parent or {}
        self.work.containers[key] = dict(
            trip=key, container=str(c.id), shipment=str(c.shipment_id), dewar=c.dewar_id,
            parent=trip(parent["id"], c.shipment_id) if parent.get("kind") == "container" else None,
            position=c.position, barcode=c.barcode, code=c.barcode, containerType=c.container_type,
            sampleChangerLocation=loaded.get("position"), beamlineLocation=loaded.get("instrument") or c.at_instrument,
            containerStatus="disposed" if c.disposed else ("processing" if loaded else None),
            bltimeStamp=naive(e.timestamp), proposal=c.proposal)
        if str(getattr(e, "actor", "")).startswith("ispyb:"):
            return  # the beamline software wrote its own history row: no echo
        row = None
        if event == "Loaded":
            row = dict(status="processing", location=loaded.get("position"), beamlineName=loaded.get("instrument"))
        elif event == "Unloaded" and loaded_before:
            row = dict(status="at facility", location=loaded_before.get("position"),
                       beamlineName=loaded_before.get("instrument"))
        elif event == "Disposed":
            row = dict(status="disposed", location=None, beamlineName=None)
        if row:
            self.work.container_history.append(dict(trip=key, blTimeStamp=naive(e.timestamp), **row))

    def _sample(self, e: Any, s: Any, _key: Any, _loaded: Any) -> None:
        self.work.aggregates[str(s.id)] = ("sample", s.name)
        self.work.samples[str(s.id)] = dict(
            id=str(s.id), container=s.container_id, position=s.position, name=s.name, kind=s.kind,
            attributes=dict(s.attributes), safety=dict(s.safety), proposal=s.proposal,
            recordTimeStamp=naive(s.created_on))


class Waiting(Exception):
    """A row cannot be written yet: what it waits for."""


class IspybProjection(AggregateCache, TrackingProjection):
    """Applies the event store's notifications to an ISPyB database, exactly once (see the module)."""

    NAME = "ispyb"

    def __init__(self, app: Any, engine: Engine, writer: Engine, ispyb: Engine, *, write_lock: Any = None,
                 mapping: Mapping | None = None):
        metadata.create_all(writer)
        super().__init__(app, engine, writer, BATCH, write_lock=write_lock)
        self.ispyb, self.mapping = ispyb, mapping or load_mapping()
        self._careful = 1  # batches still to replay carefully: the first one of a process, and after a failure
        self._ids: dict[tuple[str, str], int] = {}
        self._found: dict[tuple[str, Any], int] = {}  # proposals, visits and proteins looked up (never a miss)
        with ispyb.connect() as ix:
            mode, step = ix.exec_driver_sql("SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment").one()
        # MariaDB's "consecutive" lock modes (0 and 1) give a multi-row INSERT's rows consecutive ids
        # from LAST_INSERT_ID() on, `step` apart; mode 2 ("interleaved") does not: one row per INSERT then.
        self._consecutive, self._step = int(mode) <= 1, int(step)

    # --- the two commits ------------------------------------------------------------------
    def catch_up(self, *args: Any, **kwargs: Any) -> int:
        try:
            return super().catch_up(*args, **kwargs)
        except BaseException:
            self._careful = 1  # our commit may have failed after ISPyB's
            raise

    def _prepare(self, batch: Sequence[Any]) -> Work:
        by_originator: dict[UUID, list[Any]] = defaultdict(list)
        for notification in batch:
            if notification.topic.startswith(PROJECTED):
                by_originator[notification.originator_id].append(self.app.mapper.to_domain_event(notification))
        collector = Collector(self.mapping)
        for originator_id, events in by_originator.items():
            aggregate = self._aggregate_before(originator_id, events[0].originator_version)
            aggregate = self._collect(collector, aggregate, events)
            self._remember(originator_id, aggregate)
        return collector.work

    @staticmethod
    def _collect(collector: Collector, aggregate: Any, events: Iterable[Any]) -> Any:
        for domain_event in events:
            key_before = loaded_before = None
            if aggregate is not None:
                key_before = trip(aggregate.id, getattr(aggregate, "shipment_id", None))
                loaded_before = dict(aggregate.loaded) if isinstance(getattr(aggregate, "loaded", None), dict) else None
            aggregate = domain_event.mutate(aggregate)
            collector.add(None, domain_event, aggregate, key_before, loaded_before)
        return aggregate

    def _write(self, conn: Connection, work: Any, retry: bool = False) -> None:
        careful = self._careful > 0
        writer = _Writer(self, conn, careful, retry)
        with self.ispyb.begin() as ix:
            writer.write(ix, work)
        # ISPyB has committed: from here on the ids are real, whatever becomes of our transaction
        writer.record()
        self._careful = max(0, self._careful - 1)

    def retry_pending(self) -> int:
        """Project again what waited, from its whole history, in one careful batch; returns how many
        aggregates are still waiting."""
        with self.engine.connect() as conn:
            waiting = [r.aggregate_id for r in conn.execute(select(pending.c.aggregate_id))]
        if not waiting:
            return 0
        collector = Collector(self.mapping)
        order = {"shipment": 0, "dewar": 1, "container": 2, "sample": 3}
        kinds = {}
        with self.engine.connect() as conn:
            kinds = {r.aggregate_id: r.kind for r in conn.execute(select(pending.c.aggregate_id, pending.c.kind))}
        for aggregate_id in sorted(waiting, key=lambda a: order.get(kinds.get(a, ""), 9)):
            self._collect(collector, None, self.app.events.get(UUID(aggregate_id)))
        with self._lock, self.write_lock, self.writer.begin() as conn:
            careful, self._careful = self._careful, 1
            try:
                self._write(conn, collector.work, retry=True)
            finally:
                self._careful = max(self._careful, careful - 1 if careful else 0)
        with self.engine.connect() as conn:
            return len(conn.execute(select(pending.c.aggregate_id)).all())

    def pending(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(pending).order_by(pending.c.since, pending.c.name))]

    # --- look-ups (cached once found: a missing row is looked for again next time) ----------
    def lookup(self, ix: Connection, what: str, key: Any, query: Callable[[], Any]) -> int | None:
        found = self._found.get((what, key))
        if found is None:
            found = ix.execute(query()).scalar()
            if found is not None:
                self._found[(what, key)] = found
        return found

    def proposal_id(self, ix: Connection, code: str) -> int:
        letters, number = split_proposal(code)
        P = ispyb_table("Proposal")
        found = self.lookup(ix, "proposal", code, lambda: select(P.c.proposalId).where(
            P.c.proposalCode == letters, P.c.proposalNumber == number))
        if found is None:
            raise Waiting(f"proposal {code} is not in ISPyB")
        return found

    def session_id(self, ix: Connection, proposal: str, visit: int) -> int:
        proposal_id = self.proposal_id(ix, proposal)
        S = ispyb_table("BLSession")
        found = self.lookup(ix, "visit", (proposal, visit), lambda: select(S.c.sessionId).where(
            S.c.proposalId == proposal_id, S.c.visit_number == visit).order_by(S.c.sessionId).limit(1))
        if found is None:
            raise Waiting(f"visit {proposal}-{visit} is not in ISPyB")
        return found

    # --- ids -------------------------------------------------------------------------------
    def insert_rows(self, ix: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
        """Insert rows (all with the same columns); their new ids in order."""
        new: list[int] = []
        if not self._consecutive:
            return [ix.execute(insert(table).values(row)).inserted_primary_key[0] for row in rows]
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            first = multirow(ix, table, chunk)
            new.extend(first + n * self._step for n in range(len(chunk)))
        return new


def multirow(ix: Connection, table: Table, rows: list[dict[str, Any]], update: bool = False) -> int:
    """One multi-row INSERT (ON DUPLICATE KEY UPDATE: an upsert) written with the driver's own escaping;
    returns the first new id. SQLAlchemy compiles `insert().values([...])` afresh for every list:
    measured 11.8 of the 58 s a simulated 0.03 year took to sync, 0.3 s written this way."""
    columns = list(rows[0])
    cursor = ix.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    values = ", ".join(cursor.mogrify(one, [row[c] for c in columns]) for row in rows)
    sql = f"INSERT INTO `{table.name}` ({', '.join(f'`{c}`' for c in columns)}) VALUES {values}"
    if update:
        sql += " ON DUPLICATE KEY UPDATE " + ", ".join(f"`{c}` = VALUES(`{c}`)" for c in columns)
    cursor.execute(sql)
    return int(cursor.lastrowid)


class _Writer:
    """One batch's writes: ISPyB rows in foreign-key order, then our id map and pending list."""

    def __init__(self, projection: IspybProjection, conn: Connection, careful: bool, retry: bool = False):
        self.p, self.conn, self.careful, self.retry = projection, conn, careful, retry
        self.m = projection.mapping
        self.new_ids: dict[tuple[str, str], int] = {}
        self.absent: set[tuple[str, str]] = set()  # looked for in our id map (preload) and not there
        self.waiting: dict[str, str] = {}  # aggregate id -> reason
        self.done: set[str] = set()
        self.touched_shippings: set[int] = set()
        self.touched_containers: set[int] = set()
        self.placed: dict[int, tuple[str | None, str | None]] = {}
        self.own_history: list[int] = []
        self.aggregates: dict[str, tuple[str, str]] = {}

    def id(self, kind: str, key: str | None) -> int | None:
        if key is None:
            return None
        found = self.new_ids.get((kind, key)) or self.p._ids.get((kind, key))
        if found is None and (kind, key) not in self.absent:
            found = self.conn.execute(select(ids.c.ispyb_id).where(ids.c.kind == kind, ids.c.key == key)).scalar()
            if found is not None:
                self.p._ids[(kind, key)] = found
        return found

    def preload(self, kind: str, keys: Iterable[str]) -> None:
        """One query for the ids of many rows, rather than one each."""
        wanted = [k for k in keys if k and (kind, k) not in self.p._ids and (kind, k) not in self.new_ids]
        for start in range(0, len(wanted), 500):
            for row in self.conn.execute(select(ids.c.key, ids.c.ispyb_id).where(
                    ids.c.kind == kind, ids.c.key.in_(wanted[start:start + 500]))):
                self.p._ids[(kind, row.key)] = row.ispyb_id
        self.absent.update((kind, k) for k in wanted if (kind, k) not in self.p._ids)

    def wait(self, aggregate_id: str, reason: str) -> None:
        self.waiting.setdefault(aggregate_id, reason)

    def write(self, ix: Connection, work: Work) -> None:
        self.ix, self.aggregates = ix, work.aggregates
        self.shippings(work)
        self.dewars(work)
        self.dewar_history(work)
        self.containers(work)
        self.container_history(work)
        self.samples(work)
        self.consistent()
        if self.retry:  # only a replay of its whole history takes a record off the pending list
            self.done = set(work.aggregates) - set(self.waiting)

    def record(self) -> None:
        """Our side, in our transaction: the new ids, what waits and what no longer does."""
        changed = {k: v for k, v in self.new_ids.items() if self.p._ids.get(k) != v}
        if changed:  # a careful replay, or a container's next trip, may replace ids held already
            keys = list(changed)
            for start in range(0, len(keys), 500):
                self.conn.execute(delete(ids).where(tuple_(ids.c.kind, ids.c.key).in_(keys[start:start + 500])))
            self.conn.execute(insert(ids), [dict(kind=k, key=key, ispyb_id=v) for (k, key), v in changed.items()])
            self.p._ids.update(changed)
        if self.own_history:  # a careful replay may claim rows an earlier batch already claimed
            known = set(self.conn.execute(select(own_history.c.history_id).where(
                own_history.c.history_id.in_(self.own_history))).scalars())
            fresh = sorted(set(self.own_history) - known)
            if fresh:
                self.conn.execute(insert(own_history), [dict(history_id=h) for h in fresh])
        if self.placed:
            self.conn.execute(delete(placed).where(placed.c.container_id.in_(list(self.placed))))
            self.conn.execute(insert(placed), [dict(container_id=k, beamline=b, position=pos)
                                               for k, (b, pos) in self.placed.items()])
        if self.done:
            done = list(self.done)
            for start in range(0, len(done), 500):
                self.conn.execute(delete(pending).where(pending.c.aggregate_id.in_(done[start:start + 500])))
        if self.waiting:
            known = set(self.conn.execute(select(pending.c.aggregate_id).where(
                pending.c.aggregate_id.in_(list(self.waiting)))).scalars())
            for aggregate_id in known:
                self.conn.execute(update(pending).where(pending.c.aggregate_id == aggregate_id).values(
                    reason=self.waiting.pop(aggregate_id)))
        if self.waiting:
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            self.conn.execute(insert(pending), [
                dict(aggregate_id=a, kind=self.aggregates.get(a, ("?", ""))[0], name=self.aggregates.get(a, ("", a))[1],
                     reason=reason, since=now) for a, reason in self.waiting.items()])

    # --- helpers ---------------------------------------------------------------------------
    def existing(self, table: Table, id_column: str, parent_column: str, parents: list[int]) -> dict[tuple[int, str], int]:
        """In a careful replay: (parent id, source) -> id of our rows under these parents."""
        if not self.careful or not parents:
            return {}
        t = table
        rows = self.ix.execute(select(t.c[id_column], t.c[parent_column], t.c.source).where(
            t.c[parent_column].in_(parents), t.c.source.like(f"{MARK}%")))
        return {(r[1], r[2]): r[0] for r in rows}

    def upsert(self, table: Table, id_column: str, rows: list[dict[str, Any]]) -> None:
        """Update rows we created (their ids are in the rows), many to a statement."""
        for start in range(0, len(rows), CHUNK):
            multirow(self.ix, table, rows[start:start + CHUNK], update=True)

    # --- Shipping ----------------------------------------------------------------------------
    def shippings(self, work: Work) -> None:
        T = ispyb_table("Shipping")
        self.preload("shipping", work.shipments)
        new, known = [], []
        for sid, s in work.shipments.items():
            try:
                proposal_id = self.p.proposal_id(self.ix, s["proposal"])
            except Waiting as e:
                self.wait(sid, str(e))
                continue
            row = dict(proposalId=proposal_id, shippingName=s["shippingName"], shippingStatus=s["base_status"],
                       SAFETYLEVEL=s["SAFETYLEVEL"], deliveryAgent_agentName=s["deliveryAgent_agentName"],
                       deliveryAgent_flightCode=s["deliveryAgent_flightCode"], creationDate=s["creationDate"],
                       bltimeStamp=s["bltimeStamp"], source=mark(sid))
            (known if self.id("shipping", sid) else new).append((sid, row))
        if self.careful and new:
            marks = [row["source"] for _, row in new]
            found = {r.source: r.shippingId for r in self.ix.execute(
                select(T.c.shippingId, T.c.source).where(T.c.source.in_(marks)))}
            for sid, row in list(new):
                if row["source"] in found:
                    self.new_ids[("shipping", sid)] = found[row["source"]]
                    new.remove((sid, row))
                    known.append((sid, row))
        for (sid, _), new_id in zip(new, self.p.insert_rows(self.ix, T, [row for _, row in new])):
            self.new_ids[("shipping", sid)] = new_id
        self.upsert(T, "shippingId", [dict(shippingId=self.id("shipping", sid), **row) for sid, row in known])
        self.touched_shippings.update(self.id("shipping", sid) for sid, _ in [*new, *known])  # type: ignore[misc]
        self.base_status = {self.id("shipping", sid): row["shippingStatus"] for sid, row in [*new, *known]}

    # --- Dewar ------------------------------------------------------------------------------
    def dewars(self, work: Work) -> None:
        T, R, H = ispyb_table("Dewar"), ispyb_table("DewarRegistry"), ispyb_table("ShippingHasSession")
        self.preload("dewar", [*work.dewars, *work.dewar_ends])
        self.preload("shipping", {d["shipment"] for d in work.dewars.values()})
        new, known, sessions = [], [], set()
        for key, d in work.dewars.items():
            shipping_id = self.id("shipping", d["shipment"])
            if shipping_id is None:
                self.wait(d["dewar"], "waits for its shipment")
                continue
            session_id = None
            try:
                if d["visit"]:
                    session_id = self.p.session_id(self.ix, d["visit"][0], d["visit"][1])
                    sessions.add((shipping_id, session_id))
            except Waiting as e:
                self.wait(d["dewar"], str(e))
                continue
            row = dict(shippingId=shipping_id, code=d["code"], barCode=d["barCode"], facilityCode=d["facilityCode"],
                       type=d["type"], dewarStatus=d["dewarStatus"], storageLocation=d["storageLocation"],
                       trackingNumberFromSynchrotron=d["trackingNumberFromSynchrotron"],
                       firstExperimentId=session_id, dewarRegistryId=self.registry(R, d["facilityCode"]),
                       bltimeStamp=d["bltimeStamp"], source=mark(d["dewar"]))
            (known if self.id("dewar", key) else new).append((key, row))
        found = self.existing(T, "dewarId", "shippingId", [row["shippingId"] for _, row in new])
        for key, row in list(new):
            if (row["shippingId"], row["source"]) in found:
                self.new_ids[("dewar", key)] = found[(row["shippingId"], row["source"])]
                new.remove((key, row))
                known.append((key, row))
        self.free_unique(T, "barCode", "dewarId", [row for _, row in new])
        for (key, _), new_id in zip(new, self.p.insert_rows(self.ix, T, [row for _, row in new])):
            self.new_ids[("dewar", key)] = new_id
        self.upsert(T, "dewarId", [dict(dewarId=self.id("dewar", key), **row) for key, row in known])
        ended = [(self.id("dewar", key), status) for key, status in work.dewar_ends.items() if self.id("dewar", key)]
        for dewar_id, status in ended:
            self.ix.execute(update(T).where(T.c.dewarId == dewar_id).values(dewarStatus=status))
        self.touched_shippings.update(row["shippingId"] for _, row in [*new, *known])
        if sessions:
            have = set(self.ix.execute(select(H.c.shippingId, H.c.sessionId).where(
                H.c.shippingId.in_({s for s, _ in sessions}))).all())
            missing = [dict(shippingId=s, sessionId=v) for s, v in sessions - {tuple(h) for h in have}]
            if missing:
                self.ix.execute(insert(H), missing)

    def registry(self, R: Table, facility_code: str | None) -> int | None:
        """The facility dewar's DewarRegistry row: found by its code, else registered."""
        if not facility_code:
            return None
        found = self.id("dewar_registry", facility_code)
        if found is None:
            found = self.ix.execute(select(R.c.dewarRegistryId).where(R.c.facilityCode == facility_code)).scalar()
            if found is None:
                found = self.ix.execute(insert(R).values(facilityCode=facility_code)).inserted_primary_key[0]
            self.new_ids[("dewar_registry", facility_code)] = found
        return found

    def free_unique(self, table: Table, column: str, id_column: str, rows: list[dict[str, Any]]) -> None:
        """A barcode is unique in ISPyB: an earlier trip's row of ours gives it up to the new trip's row;
        another system's row keeps it, and ours goes without."""
        codes = [r[column] for r in rows if r.get(column)]
        if not codes:
            return
        holders = self.ix.execute(select(table.c[id_column], table.c[column], table.c.source).where(
            table.c[column].in_(codes))).all()
        ours = [h[0] for h in holders if (h[2] or "").startswith(MARK)]
        if ours:
            self.ix.execute(update(table).where(table.c[id_column].in_(ours)).values({column: None}))
        theirs = {h[1] for h in holders if not (h[2] or "").startswith(MARK)}
        for r in rows:
            if r.get(column) in theirs:
                r[column] = None

    def dewar_history(self, work: Work) -> None:
        H = ispyb_table("DewarTransportHistory")
        rows = []
        for h in work.dewar_history:
            dewar_id = self.id("dewar", h["trip"])
            if dewar_id is not None:
                rows.append(dict(dewarId=dewar_id, dewarStatus=h["dewarStatus"], storageLocation=h["storageLocation"],
                                 arrivalDate=h["arrivalDate"]))
        if self.careful and rows:
            have = Counter(tuple(r) for r in self.ix.execute(select(
                H.c.dewarId, H.c.arrivalDate, H.c.dewarStatus, H.c.storageLocation).where(
                H.c.dewarId.in_({r["dewarId"] for r in rows}))))
            rows = not_had(rows, have, ("dewarId", "arrivalDate", "dewarStatus", "storageLocation"))
        if rows:
            self.ix.execute(insert(H), rows)

    # --- Container ---------------------------------------------------------------------------
    def containers(self, work: Work) -> None:
        T, R = ispyb_table("Container"), ispyb_table("ContainerRegistry")
        self.preload("container", [*work.containers, *work.detached])
        self.preload("dewar", [trip(c["dewar"], c["shipment"]) for c in work.containers.values()])  # type: ignore[misc]
        # parents (canes) before their pucks
        ordered = sorted(work.containers.items(), key=lambda kv: kv[1]["parent"] is not None)
        registries = self.container_registries(R, {c["code"] for c in work.containers.values()})
        for key in work.detached:
            container_id = self.id("container", key)
            if container_id:
                self.ix.execute(update(T).where(T.c.containerId == container_id).values(
                    dewarId=None, barcode=None, containerStatus="removed", sampleChangerLocation=None))
        for level in (False, True):
            new, known = [], []
            for key, c in ordered:
                if (c["parent"] is not None) != level:
                    continue
                dewar_id = self.id("dewar", trip(c["dewar"], c["shipment"]))
                parent_id = self.id("container", c["parent"]) if c["parent"] else None
                if dewar_id is None or (c["parent"] and parent_id is None):
                    self.wait(c["container"], "waits for its dewar")
                    continue
                position = c["position"]
                row = dict(dewarId=dewar_id, currentDewarId=dewar_id, code=c["code"][:45],
                           barcode=c["barcode"] and c["barcode"][:45],
                           containerType=c["containerType"][:20], capacity=self.capacity(c["containerType"]),
                           sampleChangerLocation=c["sampleChangerLocation"], beamlineLocation=c["beamlineLocation"],
                           containerStatus=c["containerStatus"], parentContainerId=parent_id,
                           parentContainerLocation=int(position) if position and str(position).isdigit() else None,
                           containerRegistryId=registries.get(c["code"]), bltimeStamp=c["bltimeStamp"],
                           source=mark(c["container"]))
                (known if self.id("container", key) else new).append((key, row))
            found = self.existing(T, "containerId", "dewarId", [row["dewarId"] for _, row in new])
            for key, row in list(new):
                if (row["dewarId"], row["source"]) in found:
                    self.new_ids[("container", key)] = found[(row["dewarId"], row["source"])]
                    new.remove((key, row))
                    known.append((key, row))
            self.free_unique(T, "barcode", "containerId", [row for _, row in new])
            for (key, _), new_id in zip(new, self.p.insert_rows(self.ix, T, [row for _, row in new])):
                self.new_ids[("container", key)] = new_id
            self.upsert(T, "containerId", [dict(containerId=self.id("container", key), **row) for key, row in known])
            for key, row in [*new, *known]:
                container_id = self.id("container", key)
                assert container_id is not None
                self.new_ids[("container_now", key.split("/")[0])] = container_id
                self.touched_containers.add(container_id)
                self.placed[container_id] = (row["beamlineLocation"], row["sampleChangerLocation"])

    def capacity(self, container_type: str) -> int | None:
        try:
            return self.p.app.catalogue.container_type(container_type).capacity
        except Exception:  # noqa: BLE001 - a type no longer in the catalogue: no capacity
            return None

    def container_registries(self, R: Table, barcodes: set[str]) -> dict[str, int]:
        """ContainerRegistry rows of pucks (its barcode column holds 20 characters), found or registered."""
        wanted = {b for b in barcodes if len(b) <= 20}
        out = {b: i for b in wanted if (i := self.id("container_registry", b)) is not None}
        missing = wanted - set(out)
        if missing:
            for r in self.ix.execute(select(R.c.containerRegistryId, R.c.barcode).where(R.c.barcode.in_(missing))):
                out[r.barcode] = r.containerRegistryId
                self.new_ids[("container_registry", r.barcode)] = r.containerRegistryId
            rows = [dict(barcode=b, comments="registered by the logistics tracker") for b in sorted(missing - set(out))]
            for row, new_id in zip(rows, self.p.insert_rows(self.ix, R, rows)):
                out[row["barcode"]] = new_id
                self.new_ids[("container_registry", row["barcode"])] = new_id
        return out

    def container_history(self, work: Work) -> None:
        H = ispyb_table("ContainerHistory")
        rows = []
        for h in work.container_history:
            container_id = self.id("container", h["trip"])
            if container_id is not None:
                rows.append(dict(containerId=container_id, blTimeStamp=h["blTimeStamp"], status=h["status"],
                                 location=h["location"], beamlineName=h["beamlineName"]))
        already: list[int] = []
        if self.careful and rows:
            # A batch ISPyB committed before we could: its rows are there, and still ours. They are
            # claimed as our own history, or the read-back would take them for the beamline's
            # loads and record them again (seen after a SIGKILL: 9 Loaded events by ispyb:i03).
            key = ("containerId", "blTimeStamp", "status", "location", "beamlineName")
            ids_of: dict[tuple[Any, ...], list[int]] = defaultdict(list)
            for r in self.ix.execute(select(H.c.containerHistoryId, H.c.containerId, H.c.blTimeStamp, H.c.status,
                                            H.c.location, H.c.beamlineName).where(
                    H.c.containerId.in_({r["containerId"] for r in rows})).order_by(H.c.containerHistoryId)):
                ids_of[tuple(r[1:])].append(r[0])
            missing = []
            for row in rows:  # as many of each as ISPyB has are there; the newest: the batch cut off
                had = ids_of[tuple(row[c] for c in key)]
                if had:
                    already.append(had.pop())
                else:
                    missing.append(row)
            rows = missing
        self.own_history = [*already, *(self.p.insert_rows(self.ix, H, rows) if rows else [])]

    # --- BLSample, Crystal, Protein, DiffractionPlan ------------------------------------------
    def samples(self, work: Work) -> None:
        S, C, P, D = ispyb_table("BLSample"), ispyb_table("Crystal"), ispyb_table("Protein"), ispyb_table("DiffractionPlan")
        self.preload("sample", work.samples)
        self.preload("container_now", {s["container"] for s in work.samples.values() if s["container"]})
        rows = []
        for sid, s in work.samples.items():
            container_id = self.id("container_now", s["container"]) if s["container"] else None
            if s["container"] and container_id is None:
                self.wait(sid, "waits for its container")
                continue
            columns, rest_at, rest = self.m.sample_columns(s["kind"], s["attributes"])
            protein_id = None
            if self.m.has_protein(s["kind"]) and columns.get("Protein", {}).get("acronym"):
                try:
                    protein_id = self.protein(P, s["proposal"], columns["Protein"], s["safety"])
                except Waiting as e:
                    self.wait(sid, str(e))
                    continue
            rows.append((sid, s, container_id, columns, rest_at, rest, protein_id))
        existing: dict[str, tuple[int, int | None, int | None]] = {}
        if self.careful:
            new_marks = [mark(sid) for sid, *_ in rows if self.id("sample", sid) is None]
            if new_marks:
                existing = {r.source[len(MARK):]: (r.blSampleId, r.crystalId, r.diffractionPlanId) for r in self.ix.execute(
                    select(S.c.blSampleId, S.c.crystalId, S.c.diffractionPlanId, S.c.source).where(S.c.source.in_(new_marks)))}
                for sid, (sample_id, crystal_id, plan_id) in existing.items():
                    self.new_ids[("sample", sid)] = sample_id
                    for kind, value in (("crystal", crystal_id), ("plan", plan_id)):
                        if value:
                            self.new_ids[(kind, sid)] = value
        self.preload("crystal", [sid for sid, *_ in rows])
        self.preload("plan", [sid for sid, *_ in rows])
        plans, crystals = [], []
        for sid, s, _cid, columns, rest_at, rest, protein_id in rows:
            plan = dict(diffractionPlanId=self.id("plan", sid), comments=None, scanParameters=None)
            if rest_at == "DiffractionPlan.scanParameters" and rest:
                plan["scanParameters"] = json.dumps(rest, sort_keys=True, default=str)
            plans.append((sid, plan))
            if protein_id is not None:
                crystal = {c: None for c in ("spaceGroup", "cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma")}
                crystal.update(columns.get("Crystal", {}))
                crystals.append((sid, dict(crystalId=self.id("crystal", sid), proteinId=protein_id, name=s["name"][:255],
                                           crystalUUID=sid, **crystal)))
        self.rows_with_ids(D, "diffractionPlanId", "plan", plans)
        self.rows_with_ids(C, "crystalId", "crystal", crystals)
        samples = []
        for sid, s, container_id, columns, _at, _rest, _protein in rows:
            blsample = {c: None for c in ("code", "loopType", "comments", "support", "blottingTime",
                                          "preparationHumidity", "volume", "packingFraction")}
            blsample.update({k: (str(v)[:45] if k in ("code", "loopType") else v)
                             for k, v in columns.get("BLSample", {}).items()})
            samples.append((sid, dict(blSampleId=self.id("sample", sid), containerId=container_id, name=s["name"][:45],
                                      location=s["position"], crystalId=self.id("crystal", sid),
                                      diffractionPlanId=self.id("plan", sid), source=mark(sid), **blsample)))
        self.rows_with_ids(S, "blSampleId", "sample", samples)

    def rows_with_ids(self, table: Table, id_column: str, kind: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
        new = [(k, {c: v for c, v in r.items() if c != id_column}) for k, r in rows if r[id_column] is None]
        for (key, _), new_id in zip(new, self.p.insert_rows(self.ix, table, [r for _, r in new])):
            self.new_ids[(kind, key)] = new_id
        self.upsert(table, id_column, [r for _, r in rows if r[id_column] is not None])

    def protein(self, P: Table, proposal: str, columns: dict[str, Any], safety: dict[str, Any]) -> int:
        """The proposal's Protein of this acronym: found, or registered (it is the user's own data)."""
        acronym = str(columns["acronym"])[:45]
        proposal_id = self.p.proposal_id(self.ix, proposal)
        found = self.p.lookup(self.ix, "protein", (proposal_id, acronym), lambda: select(P.c.proteinId).where(
            P.c.proposalId == proposal_id, P.c.acronym == acronym).order_by(P.c.proteinId).limit(1))
        if found is None:
            found = self.ix.execute(insert(P).values(proposalId=proposal_id, acronym=acronym,
                                                     name=str(columns.get("name") or acronym)[:255],
                                                     isCreatedBySampleSheet=1)).inserted_primary_key[0]
            self.p._found[("protein", (proposal_id, acronym))] = found
            self.new_ids[("protein", f"{proposal}/{acronym}")] = found
        return found

    # --- statuses kept consistent --------------------------------------------------------------
    def consistent(self) -> None:
        """Containers follow their dewar unless loaded or disposed; a shipment follows its dewars."""
        Sh, De = ispyb_table("Shipping"), ispyb_table("Dewar")
        if self.touched_containers:  # their shipments, so that a container written alone follows its dewar
            found = self.ix.execute(select(De.c.shippingId).join(ispyb_table("Container"), ispyb_table("Container").c.dewarId == De.c.dewarId)
                                    .where(ispyb_table("Container").c.containerId.in_(self.touched_containers)).distinct())
            self.touched_shippings.update(found.scalars())
        shippings = [s for s in self.touched_shippings if s]
        if not shippings:
            return
        for start in range(0, len(shippings), 500):
            part = shippings[start:start + 500]
            self.ix.exec_driver_sql(
                "UPDATE Container c JOIN Dewar d ON d.dewarId = c.dewarId "
                "SET c.containerStatus = CASE "
                "  WHEN c.containerStatus IN ('disposed', 'removed') THEN c.containerStatus "
                "  WHEN c.sampleChangerLocation IS NOT NULL AND c.sampleChangerLocation <> '' THEN 'processing' "
                f"  WHEN d.dewarStatus IN ({', '.join(repr(s) for s in AT_FACILITY)}) THEN 'at facility' "
                "  ELSE d.dewarStatus END "
                f"WHERE d.shippingId IN ({', '.join(str(int(s)) for s in part)}) AND c.source LIKE 'logistics:%%'")
            self.ix.exec_driver_sql(
                "UPDATE Dewar d JOIN Shipping s ON s.shippingId = d.shippingId "
                "SET d.trackingNumberToSynchrotron = LEFT(s.deliveryAgent_flightCode, 30) "
                f"WHERE s.shippingId IN ({', '.join(str(int(s)) for s in part)}) AND d.source LIKE 'logistics:%%'")
            statuses: dict[int, list[str]] = defaultdict(list)
            bases = dict(self.ix.execute(select(Sh.c.shippingId, Sh.c.shippingStatus).where(Sh.c.shippingId.in_(part))).all())
            for shipping_id, status in self.ix.execute(select(De.c.shippingId, De.c.dewarStatus).where(De.c.shippingId.in_(part))):
                statuses[shipping_id].append(status)
            changes = []
            for shipping_id in part:
                base = self.base_status.get(shipping_id, bases.get(shipping_id))
                if base in ("opened", "cancelled"):
                    status = base
                else:
                    status = self.m.shipping_status(statuses.get(shipping_id, [])) or base
                if status != bases.get(shipping_id):
                    changes.append(dict(sid=shipping_id, status=status))
            if changes:
                self.ix.execute(update(Sh).where(Sh.c.shippingId == bindparam("sid")).values(
                    shippingStatus=bindparam("status")), changes)
