"""The notifications outbox, its projection, subscriptions, and the dewars' trips, in SQLAlchemy tables.

* `nt_outbox`: one row per message to one person. The row holds the person's id, the kind of
  message and the facts it tells (barcodes, locations, courier numbers), never a name or an
  e-mail address: those are looked up in the personal-data vault when the message is sent, so an
  erased person is never written to. Each row has a unique `dedupe_key`
  (`{event position}.{kind}.{person}`), which is also the e-mail's Message-ID.
* `NotificationProjection` reads the event store's notifications in order (a
  `TrackingProjection`) and writes outbox rows in the same transaction as its tracking row,
  so an event never makes a message twice, nor none.
* `nt_settings`: what each person chose to receive (per kind, per proposal or all), and how.
* `nt_trips`: per dewar, its current trip (the position of its arrival) and its last use,
  for the still-here reminder.

A row's `status`:

| status | meaning |
|---|---|
| pending | made, not yet looked at by a sender |
| sending | claimed by a sender (`claimed_by`) until `lease_until` |
| retrying | the last attempt failed (`last_error`); tried again at `next_attempt_at` |
| sent | the SMTP server accepted it (`sent_at`) |
| skipped | not sent, and never will be (`note` says why: unsubscribed, erased, no longer a member) |
| digest | waits for the daily digest of `digest_day` |
| digested | went out inside the digest row `digest_id` |
| failed | the server refused it for good, or too many attempts failed |
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import (Boolean, Column, Connection, DateTime, Engine, Index, Integer, MetaData, String, Table, Text,
                        and_, delete, func, insert, or_, select, update)
from sqlalchemy.dialects import postgresql, sqlite

from logistics.adapters import accounts as account_tables
from logistics.adapters.projection import TrackingProjection
from logistics.domain import facets as f
from logistics.domain.errors import NotFound
from logistics.service_layer import notifications as n
from logistics.service_layer import sentences
from logistics.service_layer.subscriptions import audience

metadata = MetaData()
S = String(120)

# The statuses are the service layer's words (notifications.py); a row's "digest" status is DIGEST here.
PENDING, SENDING, RETRYING, SENT, SKIPPED, DIGEST, DIGESTED, FAILED = n.OUTBOX_STATUSES
STATUSES = n.OUTBOX_STATUSES

outbox = Table(
    "nt_outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("position", Integer),  # the event's notification id (the trip's, for a reminder; none for a digest)
    Column("kind", S, nullable=False), Column("recipient", S, nullable=False, index=True),
    Column("audience", S, nullable=False), Column("proposal", S), Column("barcode", S),
    Column("facts", Text, nullable=False),
    Column("status", S, nullable=False), Column("delivery", S),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True)), Column("lease_until", DateTime(timezone=True)),
    Column("claimed_by", S), Column("last_error", Text), Column("note", Text),
    Column("digest_day", S), Column("digest_id", Integer, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False), Column("sent_at", DateTime(timezone=True)),
    Index("nt_outbox_due", "status", "next_attempt_at"),
)
settings = Table(
    "nt_settings", metadata,
    Column("subject", S, primary_key=True),  # a person id
    Column("kind", S, primary_key=True), Column("proposal", S, primary_key=True),  # "*": all proposals
    Column("delivery", S, nullable=False), Column("updated_at", DateTime(timezone=True)),
)
trips = Table(
    "nt_trips", metadata,
    Column("dewar_id", S, primary_key=True), Column("trip", Integer, nullable=False),
    Column("last_use_at", DateTime(timezone=True), nullable=False), Column("still_here", Boolean, nullable=False),
    Column("reminded_trip", Integer),
)


def utc(value: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes; every time here is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def dedupe_key(position: int, kind: str, recipient: str) -> str:
    """Unique per event, kind and person; also the Message-ID's left part (dot-atom characters only)."""
    return f"{position}.{kind}.{recipient}"


def _insert_new(conn: Connection, table: Table, rows: list[dict[str, Any]], key: str) -> None:
    """Insert rows whose key is not there yet (a repeat changes nothing)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).on_conflict_do_nothing(index_elements=[key]), rows)


def still_here(dewar: Any) -> bool:
    """Whether a dewar counts as waiting at the facility for its users (see notifications.py)."""
    return dewar.workflow in (f.RECEIVED, f.IN_USE) and dewar.where["kind"] in f.ON_SITE


class Audiences:
    """Who might be told about a dewar: the staff from the accounts table; the rule of who else
    (members, the lab contact) is the service layer's (`subscriptions.audience`)."""

    def __init__(self, app: Any):
        self.app = app

    @staticmethod
    def staff(conn: Connection) -> dict[str, frozenset[str]]:
        """Person ids of enabled personal accounts, by role."""
        a = account_tables.accounts
        rows = conn.execute(select(a.c.person_id, a.c.roles).where(
            a.c.disabled.is_(False), a.c.person_id.is_not(None), a.c.kind == "person"))
        found: dict[str, set[str]] = defaultdict(set)
        for person_id, roles in rows:
            for role in roles.split(","):
                found[role].add(person_id)
        return {role: frozenset(people) for role, people in found.items()}

    def of(self, conn: Connection, proposal: str | None, shipment_id: Any, staff: Mapping[str, frozenset[str]] | None
           = None) -> n.Audience:
        return audience(self.app, proposal, shipment_id, staff if staff is not None else self.staff(conn))


def rows_of(notices: Iterable[n.Notice], position: int, now: datetime, barcode: str | None,
            due: datetime | None = None) -> list[dict[str, Any]]:
    """Outbox rows, due from `due` (the event's time) or else `now`."""
    return [dict(dedupe_key=dedupe_key(position, x.kind, x.recipient), position=position, kind=x.kind,
                 recipient=x.recipient, audience=x.audience, proposal=x.proposal, barcode=barcode,
                 facts=json.dumps(dict(x.facts), sort_keys=True, default=str), status=PENDING, attempts=0,
                 next_attempt_at=due or now, created_at=now) for x in notices]


# Topics the projection decodes; every other notification is skipped without decoding.
MESSAGE_EVENTS = ("Dewar.Arrived", "Dewar.ArrivedUnexpectedly", "Dewar.DamageReported", "Dewar.ContentsChecked",
                  "Dewar.DispatchBooked", "Dewar.Dispatched")
USE_EVENTS = ("Dewar.TakenToInstrument", "Dewar.ContainerLoaded", "Dewar.ContainerUnloaded")
END_EVENTS = ("Dewar.DispatchRequested", "Dewar.Returned", "Dewar.Closed", "Dewar.Cancelled",
              "Dewar.AssignedToShipment")
CONTAINER_USE = "Container.TakenToInstrument"
DECODED = frozenset((*MESSAGE_EVENTS, *USE_EVENTS, *END_EVENTS, CONTAINER_USE))


def event_name(topic: str) -> str:
    """`logistics.domain.dewar:Dewar.Arrived` -> `Dewar.Arrived`."""
    return topic.rpartition(":")[2]


def dewar_facts(app: Any, dewar: Any) -> dict[str, Any]:
    """What every message about a dewar tells of it: plain facts, no personal data."""
    shipment_name = None
    if dewar.shipment_id:
        try:
            shipment_name = app.shipment(dewar.shipment_id).name
        except NotFound:
            pass
    return {"barcode": dewar.barcode, "facility_code": dewar.facility_code, "proposal": dewar.proposal,
            "dewar_id": str(dewar.id), "shipment_id": str(dewar.shipment_id) if dewar.shipment_id else None,
            "shipment": shipment_name}


def facts_of(app: Any, dewar: Any, event: Any, name: str) -> dict[str, Any]:
    """What a message about this event tells: plain facts, no personal data."""
    facts = {**dewar_facts(app, dewar), "at": event.timestamp.isoformat()}
    for key in ("location", "note", "description", "notes", "ok", "courier", "tracking_number"):
        if hasattr(event, key):
            facts[key] = getattr(event, key)
    if name == "Dewar.Dispatched":
        facts["courier"], facts["tracking_number"] = dewar.return_courier, dewar.return_tracking
    facts["sentence"] = sentences.text(app.describe(event), _names(app, dewar))
    return facts


def _names(app: Any, dewar: Any) -> sentences.Names:
    """Names for a message: the dewar as it was, location names from the registry; no personal data."""
    from logistics.domain.registry import Location

    def location_names() -> dict[str, str]:
        code = dewar.where.get("code") if isinstance(dewar.where, dict) else None
        try:
            return {code: app.repository.get(Location.create_id(code)).name} if code else {}
        except Exception:  # noqa: BLE001 - a message still goes out with the code alone
            return {}
    row = {"id": str(dewar.id), "barcode": dewar.barcode, "kind": dewar.kind, "proposal": dewar.proposal}
    return sentences.Names(lambda kind, ids: [row] if kind == "dewar" and row["id"] in ids else [],
                           sees=lambda _proposal: True, location_names=location_names())


class NotificationProjection(TrackingProjection):
    """Events to outbox rows (and dewar trips), in order, exactly once. Starts at the head of the
    log when first made: switching notifications on does not mail out the past."""

    NAME = "notifications"

    def __init__(self, app: Any, engine: Engine, writer: Engine, batch_size: int = 500):
        metadata.create_all(writer)
        self.audiences = Audiences(app)
        super().__init__(app, engine, writer, batch_size, start_at_head=True)

    def _apply(self, conn: Connection, batch: Sequence[Any]) -> None:
        staff: dict[str, frozenset[str]] | None = None
        now = datetime.now(timezone.utc)
        for notification in batch:
            name = event_name(notification.topic)
            if name not in DECODED:
                continue
            event = self.app.mapper.to_domain_event(notification)
            if name == CONTAINER_USE:
                self._container_used(conn, notification, event)
                continue
            dewar = self.app.repository.get(notification.originator_id, version=notification.originator_version)
            self._track_trip(conn, notification.id, name, dewar, event)
            if name not in MESSAGE_EVENTS:
                continue
            happening = n.Happening(event=name, data=dict(event.__dict__), proposal=dewar.proposal,
                                    facts=facts_of(self.app, dewar, event, name))
            if n.rule(happening) is None:
                continue
            if staff is None:
                staff = self.audiences.staff(conn)
            audience = self.audiences.of(conn, dewar.proposal, dewar.shipment_id, staff)
            _insert_new(conn, outbox, rows_of(n.notices_for(happening, audience), notification.id, now,
                                              dewar.barcode, due=event.timestamp), "dedupe_key")

    def _track_trip(self, conn: Connection, position: int, name: str, dewar: Any, event: Any) -> None:
        key = str(dewar.id)
        if name in ("Dewar.Arrived", "Dewar.ArrivedUnexpectedly"):
            conn.execute(delete(trips).where(trips.c.dewar_id == key))
            conn.execute(insert(trips).values(dewar_id=key, trip=position, last_use_at=event.timestamp,
                                              still_here=still_here(dewar), reminded_trip=None))
        elif name in USE_EVENTS:
            conn.execute(update(trips).where(trips.c.dewar_id == key)
                         .values(last_use_at=event.timestamp, still_here=still_here(dewar)))
        elif name in END_EVENTS or name in MESSAGE_EVENTS:
            conn.execute(update(trips).where(trips.c.dewar_id == key).values(still_here=still_here(dewar)))

    def _container_used(self, conn: Connection, notification: Any, event: Any) -> None:
        container = self.app.repository.get(notification.originator_id, version=notification.originator_version)
        if container.dewar_id:
            conn.execute(update(trips).where(trips.c.dewar_id == container.dewar_id)
                         .values(last_use_at=event.timestamp))


class OutboxStore:
    """The outbox's SQL: adding, claiming, finishing and listing rows; settings; trips. The service
    layer sees it through the `service_layer.ports.OutboxStore` protocol."""

    def __init__(self, engine: Engine, writer: Engine):
        self.engine, self.writer = engine, writer

    # --- the sender ---------------------------------------------------------------------------
    def claim(self, now: datetime, worker: str, lease: timedelta, limit: int) -> list[dict[str, Any]]:
        """Take up to `limit` due rows for this worker: pending or retrying ones whose time has come,
        and ones whose sender's lease ran out (it died). Nobody else takes them until the lease ends."""
        due = or_(and_(outbox.c.status.in_((PENDING, RETRYING)), outbox.c.next_attempt_at <= now),
                  and_(outbox.c.status == SENDING, outbox.c.lease_until < now))
        with self.writer.begin() as conn:
            ids = list(conn.execute(select(outbox.c.id).where(due).order_by(outbox.c.id).limit(limit)
                                    .with_for_update(skip_locked=True)).scalars())
            if not ids:
                return []
            conn.execute(update(outbox).where(outbox.c.id.in_(ids))
                         .values(status=SENDING, claimed_by=worker, lease_until=now + lease))
            rows = conn.execute(select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id)).mappings()
            return [_plain(dict(r)) for r in rows]

    def renew(self, row_id: int, worker: str, now: datetime, lease: timedelta) -> bool:
        """Extend this worker's lease on a row before sending it; False if the lease was lost."""
        with self.writer.begin() as conn:
            return conn.execute(update(outbox).where(
                outbox.c.id == row_id, outbox.c.claimed_by == worker, outbox.c.status == SENDING,
                outbox.c.lease_until >= now).values(lease_until=now + lease)).rowcount == 1

    def finish(self, row_id: int, worker: str, status: str, **values: Any) -> bool:
        """Record what became of a claimed row (sent, skipped, retrying, digest, failed)."""
        with self.writer.begin() as conn:
            return conn.execute(update(outbox).where(
                outbox.c.id == row_id, outbox.c.claimed_by == worker, outbox.c.status == SENDING)
                .values(status=status, lease_until=None, **values)).rowcount == 1

    # --- the digest ---------------------------------------------------------------------------
    def make_digests(self, today: str, now: datetime) -> int:
        """Gather every row waiting for a digest of a day before `today` into one row per person.
        The digest's key is the person and `today`: made once a day, never twice."""
        made = 0
        with self.writer.begin() as conn:
            waiting = conn.execute(select(outbox.c.id, outbox.c.recipient, outbox.c.digest_day)
                                   .where(outbox.c.status == DIGEST, outbox.c.digest_day < today)
                                   .order_by(outbox.c.id).with_for_update()).all()
            by_person: dict[str, list[Any]] = defaultdict(list)
            for row in waiting:
                by_person[row.recipient].append(row)
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            for person, rows in by_person.items():
                days = sorted({r.digest_day for r in rows})
                day = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
                new = dict(dedupe_key=f"digest.{today}.{person}", position=None, kind=n.DAILY_DIGEST, recipient=person,
                           audience="digest", proposal=None, barcode=None,
                           facts=json.dumps({"day": day, "count": len(rows)}), status=PENDING, delivery=n.IMMEDIATE,
                           attempts=0, next_attempt_at=now, created_at=now)
                digest_id = conn.execute(dialect.insert(outbox).values(**new)
                                         .on_conflict_do_nothing(index_elements=["dedupe_key"])
                                         .returning(outbox.c.id)).scalar()
                if digest_id is None:
                    continue  # today's digest for this person exists: these wait for tomorrow's
                conn.execute(update(outbox).where(outbox.c.id.in_([r.id for r in rows]))
                             .values(status=DIGESTED, digest_id=digest_id))
                made += 1
        return made

    def digest_items(self, digest_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [_plain(dict(r)) for r in conn.execute(select(outbox).where(outbox.c.digest_id == digest_id)
                                                          .order_by(outbox.c.id)).mappings()]

    # --- the still-here reminder ---------------------------------------------------------------
    def remind_stale(self, cutoff: datetime, make: Any) -> int:
        """For each dewar still here whose last use is before `cutoff` and that was not reminded of on
        this trip: `make(conn, trip_row)` gives the outbox rows; they are added and the trip marked
        reminded in one transaction."""
        reminded = 0
        with self.writer.begin() as conn:
            due = conn.execute(select(trips).where(
                trips.c.still_here.is_(True), trips.c.last_use_at <= cutoff,
                or_(trips.c.reminded_trip.is_(None), trips.c.reminded_trip != trips.c.trip))
                .order_by(trips.c.last_use_at).with_for_update(skip_locked=True)).mappings().all()
            for trip in due:
                rows = make(conn, dict(trip))
                if rows is None:  # not here after all (the trips table was behind)
                    conn.execute(update(trips).where(trips.c.dewar_id == trip["dewar_id"]).values(still_here=False))
                    continue
                _insert_new(conn, outbox, rows, "dedupe_key")
                conn.execute(update(trips).where(trips.c.dewar_id == trip["dewar_id"])
                             .values(reminded_trip=trip["trip"]))
                reminded += 1
        return reminded

    # --- subscriptions ---------------------------------------------------------------------------
    def settings_of(self, subjects: Iterable[str]) -> dict[str, dict[tuple[str, str], str]]:
        """Each person's choices: {person: {(kind, proposal or "*"): delivery}}."""
        subjects = sorted(set(subjects))
        found: dict[str, dict[tuple[str, str], str]] = {s: {} for s in subjects}
        if not subjects:
            return found
        with self.engine.connect() as conn:
            for row in conn.execute(select(settings).where(settings.c.subject.in_(subjects))):
                found[row.subject][(row.kind, row.proposal)] = row.delivery
        return found

    def choose(self, subject: str, kind: str, proposal: str | None, delivery: str, now: datetime) -> None:
        key = proposal or n.ANY_PROPOSAL
        with self.writer.begin() as conn:
            conn.execute(delete(settings).where(settings.c.subject == subject, settings.c.kind == kind,
                                                settings.c.proposal == key))
            conn.execute(insert(settings).values(subject=subject, kind=kind, proposal=key, delivery=delivery,
                                                 updated_at=now))

    def staff(self) -> dict[str, frozenset[str]]:
        """Person ids of the enabled personal staff accounts, by role."""
        with self.engine.connect() as conn:
            return Audiences.staff(conn)

    # --- looking ---------------------------------------------------------------------------------
    def rows(self, status: str | None = None, limit: int = 100, kind: str | None = None,
             recipient: str | None = None) -> list[dict[str, Any]]:
        query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
        if status:
            query = query.where(outbox.c.status == status)
        if kind:
            query = query.where(outbox.c.kind == kind)
        if recipient:
            query = query.where(outbox.c.recipient == recipient)
        with self.engine.connect() as conn:
            return [_plain(dict(r)) for r in conn.execute(query).mappings()]

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {s: c for s, c in conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("next_attempt_at", "lease_until", "created_at", "sent_at"):
        row[key] = utc(row[key])
    row["facts"] = json.loads(row["facts"]) if row.get("facts") else {}
    return row

