"""The tracker's application service: one method per command, plain values in and out.

Each command loads the aggregates it needs, lets them apply their rules, and saves every
changed aggregate in one atomic transaction through `Logistics.run_command`, the unit of work. A conflicting concurrent save is retried from
the start; a claim on a barcode that another save took first then reports AlreadyExists.
Once its events are durable a command calls `on_recorded`: by default the read model catches
up before the command returns (read-your-writes); a server projects in the background and makes
its readers wait instead (bootstrap.System.project_in_background).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from copy import deepcopy
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Protocol, Sequence, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent, Repository
from eventsourcing.persistence import IntegrityError, OperationalError

from logistics.domain import facets, identifiers as ids, loading, packing
from logistics.domain.by import By
from logistics.domain.catalogue import Catalogue, bounded, follow_schema
from logistics.domain.changer import SampleChanger
from logistics.domain.container import Container
from logistics.domain.dewar import Dewar
from logistics.domain.errors import AlreadyExists, DomainError, InvalidValue, NotFound, NotPermitted, UnknownBarcode
from logistics.domain.people import Person, Proposal
from logistics.domain.registry import Claim, Counter, Location, claim_id
from logistics.domain.sample import Sample
from logistics.domain.shipment import Shipment, safety_level
from logistics.service_layer.erasure import ErasureReport, PersonalData, Purger

BARCODE = "barcode"
SERIAL = "dewar-serial"  # each mail-in serial is allocated once, facility-wide: a claim names its one code
RETRY_SECONDS, RETRIES = 5.0, 200  # how long, and how often at most, a command overtaken by others' saves tries again
LOCATION_KINDS = ("storage",)
RESOLVED_KEPT = 50_000  # texts remembered by resolve() and location(), each, then forgotten all at once
logger = logging.getLogger("logistics.application")
T = TypeVar("T")


def project(aggregate: Any, domain_events: Iterable[Any]) -> Any:
    """The library's projector (`project_aggregate`) without its per-event `isinstance` check
    against a runtime Protocol, which costs about 30 µs on Python 3.11 (typing walks the
    Protocol's members every time); our events are all the library's own classes."""
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


class _Trusted(threading.local):
    """The ids of the aggregates a command's trusting attempt took from the cache as they were
    (see `Logistics.run_command`); None outside such an attempt. Per thread: each command runs in one."""
    taken: set[Any] | None = None


class _Repository(Repository):
    """The library's repository, projecting with `project` unless told otherwise. Within a trusting
    attempt of a command, an aggregate in the cache is taken (copied) as it is, without the read of
    any newer events the library does first ("fast-forward": one SELECT, 10% of a scan's
    instructions in the service layer, callgrind)."""

    trusted = _Trusted()

    def get(self, aggregate_id: Any, *, version: int | None = None, projector_func: Any = project,
            **options: Any) -> Any:
        taken = self.trusted.taken
        if taken is not None and version is None and self.cache is not None:
            try:
                cached = self.cache.get(aggregate_id)
            except KeyError:
                pass
            else:
                taken.add(aggregate_id)
                return deepcopy(cached)
        return super().get(aggregate_id, version=version, projector_func=projector_func, **options)


def _remember(memo: dict[str, T], text: str, value: T) -> T:
    """What a scanned text stands for, kept for the next scan of it; at most RESOLVED_KEPT texts."""
    if len(memo) >= RESOLVED_KEPT:
        memo.clear()
    memo[text] = value
    return value


class _StaleRead(Exception):
    """What a command read was overtaken by another client's save: run it again."""


class Sealer(Protocol):
    def seal(self, subject: str, data: dict[str, Any]) -> str: ...
    def open(self, sealed: str) -> dict[str, Any]: ...
    def erase(self, subject: str) -> None: ...


def _text(value: str, what: str, longest: int = 200) -> str:
    text = ids.scanned(value or "")
    if not 1 <= len(text) <= longest:
        raise InvalidValue(f"{what} {value!r} is not valid: expected 1 to {longest} characters")
    return text


def barcode_key(text: str) -> str:
    """The stored form of any barcode typed or scanned; a mail-in shape must pass its check."""
    code = ids.scanned(text)
    if ids.looks_like_mail_in(code):
        return str(ids.MailInBarcode.parse(code))
    if not 1 <= len(code) <= 64:
        raise ids.InvalidBarcode(f"{text!r} is not a barcode: expected 1 to 64 printable characters")
    return code.upper()


class Logistics(Application):
    name = "logistics"
    snapshotting_intervals = {Dewar: 50, Container: 50, Shipment: 50, SampleChanger: 50, Proposal: 50, Counter: 50}

    def __init__(self, env: dict[str, str], catalogue: Catalogue, sealer: Sealer,
                 facility_codes: ids.FacilityCodes = ids.FacilityCodes(), transcoder: type | None = None):
        self._transcoder_class = transcoder
        super().__init__({"AGGREGATE_CACHE_MAXSIZE": "5000", **env})
        self.catalogue, self.sealer, self.facility_codes = catalogue, sealer, facility_codes
        self.on_recorded: Callable[[int], None] = lambda notification_id: None
        # Set by bootstrap: where else an erased person's data may be (erasure.py), and their proposals
        self.erasers: dict[str, Purger] = {}
        self.proposals_of_person: Callable[[str], Iterable[str]] = lambda person_id: ()
        self._claims: dict[UUID, tuple[str, UUID]] = {}  # claims and locations never change once made
        self._locations: set[str] = set()
        self._location_of: dict[str, str] = {}  # text scanned -> its location code, as _resolved for barcodes
        self._resolved: dict[str, tuple[str, UUID]] = {}  # text scanned -> its claim: a station scans the same codes

    def construct_repository(self) -> Repository:
        repository = super().construct_repository()
        repository.__class__ = _Repository  # same state, our default projector
        return repository

    def save(self, *aggregates: Any, **kwargs: Any) -> Any:
        """The library's save, for aggregates only (all `run_command` saves), without its Protocol
        `isinstance` checks per aggregate (slow on Python 3.11, see `project`). A snapshot is taken of
        the aggregate in hand when one of its events reaches a snapshot interval: the library reads
        it back from the event store instead (50 events projected again, 15% of a scan's CPU
        averaged over scans, measured with yappi)."""
        return self._save(aggregates, kwargs, copy_into_cache=True)

    def _save(self, aggregates: Sequence[Any], kwargs: dict[str, Any], copy_into_cache: bool) -> Any:
        """`copy_into_cache=False`: the saved aggregates go into the cache as they are (their holder
        never changes them again); else a copy, as the holder may (the simulator keeps changing its)."""
        processing_event: ProcessingEvent[Any] = ProcessingEvent()
        for aggregate in aggregates:
            if aggregate is not None:
                processing_event.events.extend(aggregate.collect_events())
                processing_event.aggregates[aggregate.id] = aggregate
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        if self.repository.cache is not None:  # the next command on it starts from here: no event to read back
            for aggregate_id, aggregate in processing_event.aggregates.items():
                self.repository.cache.put(aggregate_id, deepcopy(aggregate) if copy_into_cache else aggregate)
        self._snapshot_in_hand(processing_event)
        self._notify(recordings)
        return recordings

    def _snapshot_in_hand(self, processing_event: ProcessingEvent[Any]) -> None:
        if self.snapshots is None:
            return
        due = {event.originator_id for event in processing_event.events
               if (interval := self.snapshotting_intervals.get(
                   type(processing_event.aggregates.get(event.originator_id)))) is not None
               and event.originator_version % interval == 0}
        if due:
            in_hand = [processing_event.aggregates[i] for i in due]
            self.snapshots.put([getattr(type(a), "Snapshot", type(self).snapshot_class).take(a) for a in in_hand])

    def construct_transcoder(self) -> Any:
        if self._transcoder_class is None:
            return super().construct_transcoder()
        transcoder = self._transcoder_class()
        self.register_transcodings(transcoder)
        return transcoder

    # --- plumbing ----------------------------------------------------------------------
    def run_command(self, command: Callable[[], tuple[Sequence[Any], T]], catch_up: bool = True,
                    trusting: bool = False) -> T:
        """The unit of work: the tracker's one transaction boundary. Every command of this
        application, the spreadsheet importer and the simulator save through it.

        `command()` loads what it needs, lets the aggregates apply their rules, and returns
        (the aggregates and claims it changed, its result). The contract:

        - Atomic save: everything it returns is saved in one transaction, or nothing is (a
          refused rule raises a DomainError before anything is saved).
        - Retry on conflict: when another save overtook what it read (a version conflict, or a
          claim it allocated itself already taken), `command()` runs again from the start on fresh
          state, for up to RETRY_SECONDS; so it must have no effect other than its return value.
          A claim on a key another save took first reports AlreadyExists.
        - Read-your-writes: once the events are durable, `on_recorded` runs (by default the read
          model catches up before this returns; a server's readers wait instead). `catch_up=False`
          is for a bulk load that catches the read model up once at its end (the simulator).
        - `trusting=True`, for a command that gets every aggregate it changes inside `command()` and
          never changes them after (the dewar commands, a scanner's every scan): its first attempt
          takes the aggregates in this process's cache as they are, without reading newer events
          (which another process, `serve --workers`, may have saved). A copy that was out of date
          cannot be saved: its event's version is taken, and the command runs again reading fresh.
          Nor is a decision trusted that saves nothing to prove the copies current (a refusal,
          nothing changed, an aggregate read but not saved): the command runs again reading fresh.
          The saved aggregates go into the cache as they are, not copied.
        """
        deadline = time.monotonic() + RETRY_SECONDS
        trusted = _Repository.trusted
        for attempt in range(RETRIES):
            if attempt >= 3:  # overtaken again and again (many clients on one aggregate): yield the way a little
                time.sleep(random.uniform(0, 0.001))
            outer, trusted.taken = trusted.taken, (set() if trusting and attempt == 0 else None)
            try:
                changed, result = command()
            except _StaleRead:
                if time.monotonic() > deadline:
                    break
                continue
            except DomainError:
                if trusted.taken:  # refused on what the cache held: that must be current first
                    continue
                raise
            finally:
                taken, trusted.taken = trusted.taken, outer
            if taken and not taken <= {aggregate.id for aggregate in changed}:
                continue  # decided on cached copies that this save would not prove current: again, reading fresh
            if not changed:
                return result
            try:
                recordings = self._save(changed, {}, copy_into_cache=not trusting)
            except (IntegrityError, OperationalError):
                if time.monotonic() > deadline or attempt == RETRIES - 1:
                    raise
                continue
            if recordings and catch_up:
                self._after_recorded(max(r.notification.id for r in recordings))
            return result
        raise _StaleRead("the command was overtaken by concurrent changes too often; try again")

    def _after_recorded(self, notification_id: int) -> None:
        """Read-your-writes. The command is durable by now: a failure here must not turn its
        acknowledgement into an error (a retried command would be recorded twice)."""
        for attempt in range(3):
            try:
                self.on_recorded(notification_id)
                return
            except Exception:  # noqa: BLE001 - logged; the read model catches up later
                logger.warning("read model not yet at %s (attempt %s)", notification_id, attempt + 1, exc_info=True)
                time.sleep(0.05 * (attempt + 1))

    def _get(self, aggregate_id: UUID | str, kind: type, what: str) -> Any:
        try:
            aggregate = self.repository.get(UUID(str(aggregate_id)))
        except (AggregateNotFoundError, ValueError):
            raise NotFound(f"{what} {aggregate_id!r} does not exist") from None
        if not isinstance(aggregate, kind):
            raise NotFound(f"{aggregate_id!r} is not a {what}")
        return aggregate

    def claim(self, key: str, entity_type: str, entity_id: UUID, by: By, namespace: str = BARCODE,
              allocated: bool = False) -> Claim:
        """A claim on a unique key (a barcode, a shipment's name), to be saved by `run_command` with
        the aggregate it names. A key taken already is AlreadyExists; a key we allocated ourselves
        that is taken means a stale read, and the command runs again."""
        if claim_id(namespace, key) in self.repository:
            if allocated:
                raise _StaleRead
            raise AlreadyExists(f"{namespace} {key!r} is already registered", field=namespace)
        return Claim(namespace=namespace, key=key, entity_type=entity_type, entity_id=str(entity_id), **by.fields)

    def _refuse_misread_serial(self, text: str, key: str) -> None:
        """A mail-in code whose check character passes but whose serial belongs to another code:
        a character lost or added outside the serial (1 in 37 of those pass the check) is a misread."""
        if ids.looks_like_mail_in(key):
            serial = f"{ids.MailInBarcode.parse(key).serial:07d}"
            if claim_id(SERIAL, serial) in self.repository:
                raise ids.InvalidBarcode(
                    f"{text!r} is not a barcode we allocated (its serial {serial} belongs to another code): "
                    "it was misread or mistyped; scan it again or type it exactly as printed")

    def resolve(self, barcode: str) -> tuple[str, UUID]:
        """Which entity a scanned or typed barcode names: (type, id)."""
        known = self._resolved.get(barcode)
        if known is not None:  # the same text resolved before (a station scans the same codes again and again):
            return known       # no checks and no uuid5 hash again; a claim never changes once made
        code = barcode_key(barcode)
        key = claim_id(BARCODE, code)
        if key not in self._claims:
            try:
                claim = self.repository.get(key)
            except AggregateNotFoundError:
                self._refuse_misread_serial(barcode, code)
                raise UnknownBarcode(f"no dewar or container has the barcode {barcode!r}") from None
            self._claims[key] = (claim.entity_type, UUID(claim.entity_id))
        return _remember(self._resolved, barcode, self._claims[key])

    def dewar(self, barcode: str) -> Dewar:
        kind, entity_id = self.resolve(barcode)
        if kind != "dewar":
            raise InvalidValue(f"{barcode!r} is a {kind}'s barcode, not a dewar's")
        return self.repository.get(entity_id)

    def container(self, barcode: str) -> Container:
        kind, entity_id = self.resolve(barcode)
        if kind != "container":
            raise InvalidValue(f"{barcode!r} is a {kind}'s barcode, not a container's")
        return self.repository.get(entity_id)

    def shipment(self, shipment_id: UUID | str) -> Shipment:
        return self._get(shipment_id, Shipment, "shipment")

    def sample(self, sample_id: UUID | str) -> Sample:
        return self._get(sample_id, Sample, "sample")

    def counter(self, name: str) -> Counter | None:
        """A counter of allocated numbers (the mail-in dewar serials), or None before its first use."""
        counter_id = Counter.create_id(name)
        return self.repository.get(counter_id) if counter_id in self.repository else None

    def has_proposal(self, code: str) -> bool:
        return Proposal.create_id(code) in self.repository

    def proposal(self, code: str) -> Proposal:
        code = ids.proposal_code(code)
        try:
            return self.repository.get(Proposal.create_id(code))
        except AggregateNotFoundError:
            raise NotFound(f"proposal {code!r} is not registered") from None

    def changer(self, instrument: str) -> SampleChanger:
        name = self.catalogue.instrument(instrument).name
        try:
            return self.repository.get(SampleChanger.create_id(name))
        except AggregateNotFoundError:
            raise NotFound(f"instrument {name!r} is not registered") from None

    def location(self, text: str) -> str:
        known = self._location_of.get(text)
        if known is not None:  # the same text scanned before: no checks again (a registered location stays so)
            return known
        code = ids.location_code(text)
        if code not in self._locations:
            if Location.create_id(code) not in self.repository:
                raise InvalidValue(f"location {code!r} is not registered: scan a location barcode such as loc-goods-in")
            self._locations.add(code)
        return _remember(self._location_of, text, code)

    def _package_of(self, container: Container) -> Dewar | None:
        return self.repository.get(UUID(container.dewar_id)) if container.dewar_id else None

    # --- admin -------------------------------------------------------------------------
    def register_location(self, code: str, name: str, kind: str, by: By) -> str:
        code = ids.location_code(code)
        if kind not in LOCATION_KINDS:
            raise InvalidValue(f"location kind {kind!r} is not valid: expected one of {', '.join(LOCATION_KINDS)}")
        return self.run_command(lambda: ([] if Location.create_id(code) in self.repository
                                  else [Location(code=code, name=_text(name, "location name"), kind=kind, **by.fields)], code))

    def register_instrument(self, name: str, by: By) -> str:
        instrument = self.catalogue.instrument(name)

        def command() -> tuple[list[Any], str]:
            if SampleChanger.create_id(instrument.name) in self.repository:
                return [], instrument.name
            layout = instrument.changer
            return [SampleChanger(instrument=instrument.name, model=layout.model if layout else None,
                                  positions=list(layout.positions) if layout else [],
                                  accepts=list(layout.accepts) if layout else [], **by.fields)], instrument.name
        return self.run_command(command)

    def register_facility_dewar(self, code: str, by: By, kind: str = "dewar") -> UUID:
        code = self.facility_codes.parse(code)

        def command() -> tuple[list[Any], UUID]:
            dewar = Dewar(barcode=code, kind=kind, facility_code=code, shipment_id=None, proposal=None, **by.fields)
            return [dewar, self.claim(code, "dewar", dewar.id, by)], dewar.id
        return self.run_command(command)

    def register_proposal(self, code: str, title: str, by: By) -> str:
        code = ids.proposal_code(code)

        def command() -> tuple[list[Any], str]:
            if Proposal.create_id(code) in self.repository:
                raise AlreadyExists(f"proposal {code!r} is already registered")
            return [Proposal(code=code, title=_text(title, "proposal title"), **by.fields)], code
        return self.run_command(command)

    def register_person(self, name: str, email: str, by: By, phone: str | None = None) -> UUID:
        person_id = str(uuid4())
        if "@" not in (email or ""):
            raise InvalidValue(f"e-mail address {email!r} is not valid: expected name@domain")
        details = self.sealer.seal(person_id, {"name": _text(name, "name"), "email": email.strip(), "phone": phone})
        return self.run_command(lambda: ([p := Person(person_id=person_id, details=details, **by.fields)], p.id))

    def add_member(self, proposal: str, person_id: UUID | str, role: str, by: By) -> None:
        def command() -> tuple[list[Any], None]:
            p = self.proposal(proposal)
            self._get(person_id, Person, "person")
            p.add_member(str(person_id), role, by)
            return [p], None
        self.run_command(command)

    def add_lab_contact(self, proposal: str, person_id: UUID | str, address: dict[str, Any], by: By) -> str:
        contact_id = str(uuid4())
        self.proposal(proposal)
        person_id = self._get(person_id, Person, "person").id  # a key is made only for a real person
        sealed = self.sealer.seal(str(person_id), {"lines": list(address.get("lines", [])),
                                                    "country": address.get("country", ""),
                                                    "label": address.get("label", "")})

        def command() -> tuple[list[Any], str]:
            p = self.proposal(proposal)
            p.add_lab_contact(contact_id, str(person_id), sealed, by)
            return [p], contact_id
        return self.run_command(command)

    def erase_person(self, person_id: UUID | str, by: By) -> ErasureReport:
        """A data-protection erasure (erasure.py): what the system wrote of the person in clear is
        purged (the `erasers`), the erasure is recorded (who, when), and the person's key goes last;
        histories stay whole. Running it again purges again and records nothing more."""
        person = self._get(person_id, Person, "person")
        subject = str(person.id)
        details = self.sealer.open(person.details)
        addresses = []
        for code in self.proposals_of_person(subject):
            try:
                contacts = self.proposal(code).lab_contacts.values()
            except NotFound:
                continue
            addresses += [self.sealer.open(c["address"]) for c in contacts if c["person"] == subject]
        found = PersonalData.of({} if details.get("erased") else details,
                                [a for a in addresses if not a.get("erased")])
        purged = {what: purge(subject, found) for what, purge in self.erasers.items()}
        already = person.erased

        def command() -> tuple[list[Any], None]:
            person = self._get(person_id, Person, "person")
            if person.erased:
                return [], None
            person.erase(**by.fields)
            return [person], None
        self.run_command(command)
        self.sealer.erase(subject)
        return ErasureReport(subject, by.actor, already, purged)

    def person_details(self, person_id: UUID | str) -> dict[str, Any]:
        return self.sealer.open(self._get(person_id, Person, "person").details)

    # --- user group: shipments and their contents ----------------------------------------
    def create_shipment(self, proposal: str, name: str, by: By, safety: str = "green",
                        sending_contact: str | None = None, return_contact: str | None = None) -> UUID:
        name = _text(name, "shipment name", 80)
        level = safety_level(safety)

        def command() -> tuple[list[Any], UUID]:
            p = self.proposal(proposal)
            for contact in (sending_contact, return_contact):
                if contact:
                    p.lab_contact(contact)
            s = Shipment(proposal=p.code, name=name, sending_contact=sending_contact,
                         return_contact=return_contact or sending_contact, safety_level=level, **by.fields)
            claim = self.claim(f"{p.code}/{name.lower()}", "shipment", s.id, by, namespace="shipment-name")
            return [s, claim], s.id
        return self.run_command(command)

    def find_shipment(self, proposal: str, name: str) -> UUID:
        key = f"{ids.proposal_code(proposal)}/{ids.scanned(name).lower()}"
        try:
            return UUID(self.repository.get(claim_id("shipment-name", key)).entity_id)
        except AggregateNotFoundError:
            raise NotFound(f"proposal {proposal} has no shipment named {name!r}") from None

    def add_mail_in_dewar(self, shipment_id: UUID | str, visit: int, beamline: str, by: By, kind: str = "dewar") -> str:
        beamline = self.catalogue.instrument(beamline).name
        if kind not in ("dewar", "parcel"):
            raise InvalidValue(f"package kind {kind!r} is not valid: expected dewar or parcel")

        def command() -> tuple[list[Any], str]:
            shipment = self.shipment(shipment_id)
            counter_id = Counter.create_id("dewar-serial")
            counter = self.repository.get(counter_id) if counter_id in self.repository else Counter(name="dewar-serial")
            code = ids.MailInBarcode.allocate(shipment.proposal, int(visit), beamline, counter.value + 1)
            counter.take(code.serial)
            dewar = Dewar(barcode=str(code), kind=kind, facility_code=None, shipment_id=shipment.id,
                          proposal=shipment.proposal, **by.fields)
            shipment.add_dewar(str(dewar.id), by)
            return [counter, dewar, shipment, self.claim(str(code), "dewar", dewar.id, by, allocated=True),
                    self.claim(f"{code.serial:07d}", "dewar", dewar.id, by, namespace=SERIAL, allocated=True)], str(code)
        return self.run_command(command)

    def add_facility_dewar(self, shipment_id: UUID | str, code: str, by: By) -> str:
        def command() -> tuple[list[Any], str]:
            shipment = self.shipment(shipment_id)
            dewar = self.dewar(self.facility_codes.parse(code))
            dewar.assign(shipment.id, shipment.proposal, by)
            shipment.add_dewar(str(dewar.id), by)
            return [dewar, shipment], dewar.barcode
        return self.run_command(command)

    def add_container(self, barcode: str, container_type: str, dewar: str, by: By,
                      parent: str | None = None, position: str | None = None) -> UUID:
        """Pack a container (registered on first sight) into a dewar or a parent container."""
        code = ids.container_barcode(barcode)
        ctype = self.catalogue.container_type(container_type)

        def command() -> tuple[list[Any], UUID]:
            package = self.dewar(dewar)
            changed: list[Any] = []
            try:
                container = self.container(code)
                if container.container_type != ctype.code:
                    raise InvalidValue(f"container {code} is a {container.container_type}, not a {ctype.code}")
            except UnknownBarcode:
                container = Container(barcode=code, container_type=ctype.code, proposal=package.proposal, **by.fields)
                changed.append(self.claim(code, "container", container.id, by))
            if container.parent is not None and container.shipment_id != str(package.shipment_id):
                old = self._package_of(container)
                if old is None or str(old.shipment_id) != container.shipment_id or old.workflow in facets.BETWEEN_TRIPS:
                    container.unpacked(**by.fields)  # back from its last trip, now packed again
            parent_container = self.container(parent) if parent else None
            parent_type = self.catalogue.container_type(parent_container.container_type) if parent_container else None
            packing.pack_container(container, ctype, package, parent_container, parent_type, position, by)
            return [*changed, container, package, parent_container], container.id
        return self.run_command(command)

    def remove_container(self, barcode: str, by: By) -> None:
        def command() -> tuple[list[Any], None]:
            container = self.container(barcode)
            package = self._package_of(container)
            if package is None:
                raise NotPermitted(f"container {container.barcode} is not packed in any dewar")
            parent = None
            if container.parent and container.parent["kind"] == "container":
                parent = self.repository.get(UUID(container.parent["id"]))
            packing.unpack_container(container, package, parent, by)
            return [container, package, parent], None
        self.run_command(command)

    def move_container(self, barcode: str, dewar: str, by: By, parent: str | None = None,
                       position: str | None = None) -> None:
        """Repack a container before sending: out of where it is and into another place, in one save."""
        def command() -> tuple[list[Any], None]:
            container = self.container(barcode)
            old = self._package_of(container)
            if old is None:
                raise NotPermitted(f"container {container.barcode} is not packed in any dewar")
            old_parent = self.repository.get(UUID(container.parent["id"])) \
                if container.parent and container.parent["kind"] == "container" else None
            package = self.dewar(dewar)
            if package.id == old.id:
                package = old
            new_parent = self.container(parent) if parent else None
            if new_parent is not None and old_parent is not None and new_parent.id == old_parent.id:
                new_parent = old_parent
            parent_type = self.catalogue.container_type(new_parent.container_type) if new_parent else None
            ctype = self.catalogue.container_type(container.container_type)
            packing.move_container(container, ctype, old, old_parent, package, new_parent, parent_type, position, by)
            return list({id(a): a for a in (container, old, old_parent, package, new_parent) if a}.values()), None
        self.run_command(command)

    def add_sample(self, container: str, position: str, kind: str, name: str, attributes: dict[str, Any],
                   by: By, safety: dict[str, Any] | None = None) -> UUID:
        sample_kind = self.catalogue.sample_kind(kind)
        name = _text(name, "sample name", 80)
        for what, value in (("attributes", attributes), ("safety", safety)):
            if value is not None and not isinstance(value, dict):
                raise InvalidValue(f"sample {what} must be an object of names and values, not {type(value).__name__}")
            bounded(value, f"sample {what}")
        if safety:
            follow_schema(self.catalogue.sample_safety, safety, "sample safety", "(safety)")
        given = dict(attributes or {})
        given.pop("name", None)
        if "name" in sample_kind.schema.get("properties", {}):
            sample_kind.validate({"name": name, **given})
        else:
            sample_kind.validate(given)

        def command() -> tuple[list[Any], UUID]:
            box = self.container(container)
            package = self._package_of(box)
            sample = Sample(name=name, kind=sample_kind.code, attributes=given, safety=dict(safety or {}),
                            proposal=box.proposal, **by.fields)
            ctype = self.catalogue.container_type(box.container_type)
            packing.place_sample(sample, sample_kind, box, ctype, package, position, by)
            return [sample, box], sample.id
        return self.run_command(command)

    def remove_sample(self, sample_id: UUID | str, by: By) -> None:
        def command() -> tuple[list[Any], None]:
            sample = self._get(sample_id, Sample, "sample")
            if sample.container_id is None:
                return [], None
            box = self.repository.get(UUID(sample.container_id))
            packing.remove_sample(sample, box, self._package_of(box), by)
            return [sample, box], None
        self.run_command(command)

    def move_sample(self, sample_id: UUID | str, container: str, position: str, by: By) -> None:
        def command() -> tuple[list[Any], None]:
            sample = self._get(sample_id, Sample, "sample")
            old = self.repository.get(UUID(sample.container_id)) if sample.container_id else None
            if old is not None:
                packing.remove_sample(sample, old, self._package_of(old), by)
            box = self.container(container)
            if old is not None and old.id == box.id:
                box = old
            kind = self.catalogue.sample_kind(sample.kind)
            ctype = self.catalogue.container_type(box.container_type)
            packing.place_sample(sample, kind, box, ctype, self._package_of(box), position, by)
            return [sample, old, box] if old is not box else [sample, box], None
        self.run_command(command)

    def set_courier(self, shipment_id: UUID | str, courier: str, tracking_number: str | None, by: By) -> None:
        name = ids.courier_name(courier)
        number = ids.tracking_number(name, tracking_number) if tracking_number else None

        def command() -> tuple[list[Any], None]:
            shipment = self.shipment(shipment_id)
            shipment.set_courier(name, number, by)
            return [shipment], None
        self.run_command(command)

    def mark_sent(self, shipment_id: UUID | str, by: By) -> None:
        def command() -> tuple[list[Any], None]:
            shipment = self.shipment(shipment_id)
            dewars = [self.repository.get(UUID(d)) for d in shipment.dewars]
            shipment.mark_sent([d.workflow for d in dewars], by)
            for dewar in dewars:
                dewar.mark_sent(by)
            return [shipment, *dewars], None
        self.run_command(command)

    def cancel_shipment(self, shipment_id: UUID | str, by: By) -> None:
        def command() -> tuple[list[Any], None]:
            shipment = self.shipment(shipment_id)
            dewars = [self.repository.get(UUID(d)) for d in shipment.dewars]
            shipment.cancel(by)
            for dewar in dewars:
                dewar.cancel(by)
            return [shipment, *dewars], None
        self.run_command(command)

    def record_labels_printed(self, shipment_id: UUID | str, stock: str, label_format: str, by: By,
                              return_labels: Sequence[UUID | str] = ()) -> None:
        """The shipment's labels were printed; `return_labels` are the dewars whose return label (the
        lab's address) staff printed with them: each dewar records that, in the same save."""
        def command() -> tuple[list[Any], None]:
            shipment = self.shipment(shipment_id)
            shipment.labels_printed_event(stock=stock, label_format=label_format, **by.fields)
            dewars = [self.repository.get(UUID(str(d))) for d in return_labels]
            for dewar in dewars:
                dewar.return_label_printed(by)
            return [shipment, *dewars], None
        self.run_command(command)

    # --- dewar commands (stores, users, beamline staff) ---------------------------------
    def _on_dewar(self, barcode: str, act: Callable[[Dewar], None]) -> dict[str, Any]:
        """Apply one dewar command; the result says whether anything changed, and holds the dewar
        as the command left it ("dewar", to answer from without reading it back; never change it)."""
        def command() -> tuple[list[Any], dict[str, Any]]:
            dewar = self.dewar(barcode)
            version, workflow = dewar.version, dewar.workflow
            act(dewar)
            changed = dewar.version != version
            event = type(dewar.pending_events[-1]).__name__ if changed else None
            followed = self._shipment_follows(dewar) if dewar.workflow != workflow else []
            return ([dewar, *followed] if changed else []), {"dewar_id": dewar.id, "barcode": dewar.barcode,
                                                             "changed": changed, "event": event, "dewar": dewar}
        return self.run_command(command, trusting=True)

    def _shipment_follows(self, dewar: Dewar) -> list[Shipment]:
        """The dewar's shipment, if its status moved with the dewar's workflow (saved with the dewar)."""
        if dewar.shipment_id is None:
            return []
        shipment = self.shipment(dewar.shipment_id)
        version = shipment.version
        workflows = []
        for dewar_id in shipment.dewars:
            other = dewar if dewar_id == str(dewar.id) else self.repository.get(UUID(dewar_id))
            on_this_trip = other.shipment_id is not None and str(other.shipment_id) == str(shipment.id)
            workflows.append(other.workflow if on_this_trip else facets.RETURNED)
        shipment.follow_dewars(workflows, str(dewar.id), dewar.pending_events[-1])
        return [shipment] if shipment.version != version else []

    def scan_dewar(self, barcode: str, location: str, by: By) -> dict[str, Any]:
        location = self.location(location)
        return self._on_dewar(barcode, lambda d: d.scan_in(location, by))

    def move_dewar(self, barcode: str, location: str, by: By) -> dict[str, Any]:
        location = self.location(location)
        return self._on_dewar(barcode, lambda d: d.move(location, by))

    def top_up(self, barcode: str, by: By, litres: float | None = None) -> dict[str, Any]:
        if litres is not None and not 0 < float(litres) <= 100:
            raise InvalidValue(f"top-up volume {litres!r} is not valid: expected 0 to 100 litres")
        return self._on_dewar(barcode, lambda d: d.top_up(None if litres is None else float(litres), by))

    def check_contents(self, barcode: str, ok: bool, notes: str, by: By) -> dict[str, Any]:
        return self._on_dewar(barcode, lambda d: d.check_contents(bool(ok), ids.scanned(notes or ""), by))

    def report_damage(self, barcode: str, description: str, by: By) -> dict[str, Any]:
        text = _text(description, "damage description", 2000)
        return self._on_dewar(barcode, lambda d: d.report_damage(text, by))

    def request_dispatch(self, barcode: str, by: By) -> dict[str, Any]:
        return self._on_dewar(barcode, lambda d: d.request_dispatch(by))

    def book_dispatch(self, barcode: str, courier: str, tracking_number: str, by: By) -> dict[str, Any]:
        name = ids.courier_name(courier)
        number = ids.tracking_number(name, tracking_number)
        return self._on_dewar(barcode, lambda d: d.book_dispatch(name, number, by))

    def cancel_dispatch(self, barcode: str, reason: str, by: By) -> dict[str, Any]:
        text = _text(reason, "reason", 500)
        return self._on_dewar(barcode, lambda d: d.cancel_dispatch(text, by))

    def scan_out(self, barcode: str, by: By) -> dict[str, Any]:
        return self._on_dewar(barcode, lambda d: d.scan_out(by))

    def mark_returned(self, barcode: str, by: By) -> dict[str, Any]:
        return self._on_dewar(barcode, lambda d: d.mark_returned(by))

    def close_dewar(self, barcode: str, by: By) -> dict[str, Any]:
        return self._on_dewar(barcode, lambda d: d.close(by))

    def record_unexpected_arrival(self, barcode: str, location: str, note: str, by: By) -> dict[str, Any]:
        key = barcode_key(barcode)
        location = self.location(location)
        self._refuse_misread_serial(barcode, key)

        def command() -> tuple[list[Any], dict[str, Any]]:
            dewar = Dewar(barcode=key, kind="dewar", facility_code=None, shipment_id=None, proposal=None, **by.fields)
            claim = self.claim(key, "dewar", dewar.id, by)
            dewar.arrived_unexpectedly(location=location, note=ids.scanned(note or ""), **by.fields)
            return [dewar, claim], {"dewar_id": dewar.id, "barcode": key, "changed": True, "dewar": dewar}
        return self.run_command(command)

    # --- beamline staff ----------------------------------------------------------------------
    def take_to_instrument(self, barcode: str, instrument: str, by: By) -> dict[str, Any]:
        name = self.changer(instrument).instrument
        kind, entity_id = self.resolve(barcode)
        if kind == "dewar":
            return self._on_dewar(barcode, lambda d: d.take_to_instrument(name, by))

        def command() -> tuple[list[Any], dict[str, Any]]:
            container = self.repository.get(entity_id)
            package = self._package_of(container)
            if package is None or not package.on_site:
                raise NotPermitted(f"container {container.barcode} is not at the facility")
            version = container.version
            container.take_to_instrument(name, by)
            changed = container.version != version
            return ([container] if changed else []), {"container_id": container.id, "changed": changed}
        return self.run_command(command)

    def hand_back(self, barcode: str, location: str, by: By) -> dict[str, Any]:
        """Back to stores: a dewar to a storage location, a container back into its dewar."""
        kind, entity_id = self.resolve(barcode)
        if kind == "dewar":
            return self.move_dewar(barcode, location, by)

        def command() -> tuple[list[Any], dict[str, Any]]:
            container = self.repository.get(entity_id)
            version = container.version
            container.hand_back(by)
            changed = container.version != version
            return ([container] if changed else []), {"container_id": container.id, "changed": changed}
        return self.run_command(command)

    def load(self, container: str, instrument: str, position: str, by: By) -> None:
        def command() -> tuple[list[Any], None]:
            changer = self.changer(instrument)
            box = self.container(container)
            package = self._package_of(box)
            if package is None:
                raise NotPermitted(f"container {box.barcode} is not in any dewar that reached the facility")
            loading.load(changer, box, package, position, by)
            return [changer, box, package], None
        self.run_command(command)

    def unload(self, container: str, by: By) -> None:
        def command() -> tuple[list[Any], None]:
            box = self.container(container)
            if not box.loaded:
                raise NotPermitted(f"container {box.barcode} is not in a sample changer")
            changer = self.changer(box.loaded["instrument"])
            package = self._package_of(box)
            assert package is not None
            loading.unload(changer, box, package, by)
            return [changer, box, package], None
        self.run_command(command)

    def dispose(self, container: str, reason: str, by: By) -> None:
        def command() -> tuple[list[Any], None]:
            box = self.container(container)
            version = box.version
            box.dispose(_text(reason, "reason", 500), by)
            return ([box] if box.version != version else []), None
        self.run_command(command)

    # --- history -------------------------------------------------------------------------
    def history(self, entity_id: UUID | str) -> list[dict[str, Any]]:
        """Every event of an entity in order: what, when, who, from where, and its data."""
        entity_id = UUID(str(entity_id))
        events = list(self.events.get(entity_id))
        if not events:
            raise NotFound(f"nothing has id {entity_id}")
        return [self.describe(e) for e in events]

    def describe(self, e: Any) -> dict[str, Any]:
        """One event as plain values: what, when, who, from where, and its data (personal data opened)."""
        skip = {"originator_id", "originator_version", "timestamp", "originator_topic", "actor", "station"}
        data = {k: self._plain(v) for k, v in e.__dict__.items() if k not in skip}
        return {"version": e.originator_version, "event": type(e).__name__, "entity": type(e).__qualname__.split(".")[0],
                "id": str(e.originator_id), "time": e.timestamp, "actor": getattr(e, "actor", "system"), "station": getattr(e, "station", None),
                "data": data}

    def _plain(self, value: Any) -> Any:
        if isinstance(value, UUID):
            return str(value)
        if isinstance(value, str) and value.startswith("sealed:"):
            return self.sealer.open(value)
        if isinstance(value, dict):
            return {k: self._plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._plain(v) for v in value]
        return value

    def as_of(self, entity_id: UUID | str, when: datetime, name: str | None = None) -> Any:
        """The entity as it was at a past time (the version current then)."""
        entity_id = UUID(str(entity_id))
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)  # a time without an offset is UTC
        version = None
        for e in self.events.get(entity_id):
            if e.timestamp > when:
                break
            version = e.originator_version
        if version is None:
            raise NotFound(f"{name or entity_id} did not exist yet at {when.isoformat()}")
        return self.repository.get(entity_id, version=version)
