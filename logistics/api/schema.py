"""The GraphQL schema: queries, one mutation per command, and the live event subscription."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Annotated, Any, AsyncGenerator, Callable, Optional, Union
from uuid import UUID

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (AddValidationRules, MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, ParserCache,
                                   QueryDepthLimiter, ValidationCache)
from strawberry.scalars import JSON

from logistics.api import notifications
from logistics.api.notifications import (Delivery, NotificationKind, NotificationSetting, NotificationSettingResult,
                                         OutboxResult, OutboxStatus)
from logistics.api.errors import (AccessDeniedError, AlreadyExistsError, InvalidBarcodeError, InvalidValueError,
                                  NotFoundError, NotPermittedError, Problem, UnknownBarcodeError, problem)
from logistics.api.types import (ChangerPosition, events_with_names, Container, ContainerConnection, ContainerEdge, Context, Dewar,
                                 DewarConnection, DewarEdge, Event, PageInfo, Sample, SampleChanger, Shipment,
                                 ShipmentConnection, ShipmentEdge)
from logistics.domain.errors import DomainError, InvalidValue
from logistics.views import encode_cursor

logger = logging.getLogger("logistics.api")
ERRORS = (UnknownBarcodeError, InvalidBarcodeError, InvalidValueError, NotPermittedError, AccessDeniedError,
          NotFoundError, AlreadyExistsError)


def result(name: str, *success: type) -> Any:
    return Annotated[Union[(*success, *ERRORS)], strawberry.union(name)]


@strawberry.type(description="A scan or move: the dewar, and whether anything changed (a repeated scan changes nothing).")
class Scan:
    dewar: Dewar
    changed: bool
    event: Optional[str] = strawberry.field(description="What the scan recorded: Arrived, Moved, Dispatched...; "
                                                        "null when nothing changed.")


@strawberry.type
class Done:
    ok: bool
    id: Optional[str] = None


@strawberry.type
class Me:
    name: str
    roles: list[str]
    proposals: list[str]
    station: Optional[str]


@strawberry.type
class Location:
    code: str
    name: str
    kind: str


@strawberry.type
class Instrument:
    name: str
    title: str
    technique: str
    changer_model: Optional[str]
    changer_positions: int


@strawberry.type(description="A container type of the facility's catalogue (fixtures/container-types.json).")
class ContainerType:
    code: str
    name: str
    capacity: int
    holds_samples: bool
    holds_containers: bool
    goes_into: list[str]


@strawberry.type(description="A sample kind; its attributes follow `schema`, a JSON Schema a form can be made from.")
class SampleKind:
    code: str
    name: str
    technique: str
    goes_into: list[str]
    schema: JSON


@strawberry.type(description="A lab contact of a proposal (its details are personal data, shown to its members).")
class LabContact:
    id: str
    label: str
    name: str


@strawberry.type(description="An event in the live feed, with where it happened.")
class FeedEvent:
    position: int
    entity_type: str
    barcode: Optional[str]
    proposal: Optional[str]
    location: Optional[str]
    instrument: Optional[str]
    event: Event


DewarResult = result("DewarResult", Dewar)
ContainerResult = result("ContainerResult", Container)
SampleResult = result("SampleResult", Sample)
ShipmentResult = result("ShipmentResult", Shipment)
ScanResult = result("ScanResult", Scan)
LookupResult = result("LookupResult", Dewar, Container)
SampleChangerResult = result("SampleChangerResult", SampleChanger)
DoneResult = result("DoneResult", Done)


async def attempt(info: strawberry.Info, command: Callable[[], Any], then: Callable[[Any], Any]) -> Any:
    """Run a command (in the thread pool), then build its result; a refusal becomes a Problem."""
    ctx: Context = info.context
    try:
        return await ctx.run(lambda: then(command()))  # one trip to the thread pool, not two
    except DomainError as e:
        return problem(e)


def _dewar(ctx: Context, barcode: str) -> Dewar:
    return Dewar.of(ctx.session.resolve(barcode)[2])


def _container(ctx: Context, barcode: str) -> Container:
    return Container.of(ctx.session.resolve(barcode)[2])


def _entity(ctx: Context, barcode: str) -> Any:
    kind, _, row = ctx.session.resolve(barcode)
    return Dewar.of(row) if kind == "dewar" else Container.of(row)


def _as_of_row(ctx: Context, kind: str, entity_id: UUID, when: datetime, name: str) -> dict[str, Any]:
    return ctx.session.views.row_of(ctx.session.as_of(kind, entity_id, when, name))


def _by_barcode(ctx: Context, wanted: str, barcode: str, as_of: Optional[datetime]) -> Any:
    """A dewar or container by barcode, now or as it was at a past time."""
    kind, entity_id, row = ctx.session.resolve(barcode)
    if kind != wanted:
        raise InvalidValue(f"{barcode!r} is a {kind}'s barcode, not a {wanted}'s")
    node = Dewar if wanted == "dewar" else Container
    return node.of(_as_of_row(ctx, wanted, entity_id, as_of, barcode) if as_of else row)


def _by_id(ctx: Context, node: Any, kind: str, entity_id: Any, as_of: Optional[datetime]) -> Any:
    """A shipment or sample by id, now or as it was at a past time."""
    row = ctx.session.entity(kind, entity_id)
    return node.of(_as_of_row(ctx, kind, UUID(str(entity_id)), as_of, str(entity_id)) if as_of else row)


def _page(ctx: Context, kind: str, node: Callable[[dict[str, Any]], Any], edge: type, conn: type, first: int,
          after: Optional[str], **filters: Any) -> Any:
    first = max(1, min(first, 500))
    try:
        rows, more = ctx.session.views.page(kind, proposals=ctx.session.visible_proposals(), first=first, after=after,
                                            **filters)
    except DomainError as e:  # a malformed cursor: an argument error, said plainly (lists have no problem union)
        raise GraphQLError(e.message) from None
    edges = [edge(cursor=encode_cursor(r, kind), node=node(r)) for r in rows]
    return conn(edges=edges, page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None))


@strawberry.type
class Query:
    @strawberry.field(description="Who is signed in.")
    def me(self, info: strawberry.Info) -> Me:
        p = info.context.session.principal
        return Me(name=p.name, roles=sorted(p.roles), proposals=sorted(p.proposals), station=p.station)

    @strawberry.field(description="What a scanned or typed barcode names. Tolerates scanner noise; never guesses.")
    async def lookup(self, info: strawberry.Info, barcode: str) -> LookupResult:
        return await attempt(info, lambda: None, lambda _: _entity(info.context, barcode))

    @strawberry.field(description="A dewar by barcode; with asOf, its state at that past time.")
    async def dewar(self, info: strawberry.Info, barcode: str, as_of: Optional[datetime] = None) -> DewarResult:
        return await attempt(info, lambda: None, lambda _: _by_barcode(info.context, "dewar", barcode, as_of))

    @strawberry.field(description="A container by barcode; with asOf, its state at that past time.")
    async def container(self, info: strawberry.Info, barcode: str, as_of: Optional[datetime] = None) -> ContainerResult:
        return await attempt(info, lambda: None, lambda _: _by_barcode(info.context, "container", barcode, as_of))

    @strawberry.field
    async def shipment(self, info: strawberry.Info, id: strawberry.ID, as_of: Optional[datetime] = None) -> ShipmentResult:
        return await attempt(info, lambda: None, lambda _: _by_id(info.context, Shipment, "shipment", id, as_of))

    @strawberry.field
    async def sample(self, info: strawberry.Info, id: strawberry.ID, as_of: Optional[datetime] = None) -> SampleResult:
        return await attempt(info, lambda: None, lambda _: _by_id(info.context, Sample, "sample", id, as_of))

    @strawberry.field(description="An instrument's sample-changer map: every position and what is in it.")
    async def sample_changer(self, info: strawberry.Info, instrument: str) -> SampleChangerResult:
        ctx: Context = info.context

        def get() -> SampleChanger:
            changer = ctx.session.app.changer(instrument)
            loaded = {r["id"]: r for r in ctx.session.views.rows("container", list(changer.occupied.values()))}
            positions = []
            for p in changer.positions:
                row = loaded.get(changer.occupied.get(p, ""))
                visible = row is not None and ctx.session.principal.sees(row["proposal"])
                positions.append(ChangerPosition(position=p, accepts=list(changer.accepts), occupied=p in changer.occupied,
                                                 container=Container.of(row) if visible else None))
            return SampleChanger(instrument=changer.instrument, positions=positions)
        return await attempt(info, lambda: None, lambda _: get())

    @strawberry.field(description="Shipments, by proposal and workflow, a page at a time.")
    async def shipments(self, info: strawberry.Info, proposal: Optional[str] = None, workflow: Optional[str] = None,
                        first: int = 50, after: Optional[str] = None) -> ShipmentConnection:
        return await info.context.run(_page, info.context, "shipment", Shipment.of, ShipmentEdge, ShipmentConnection,
                                      first, after, proposal=proposal, workflow=workflow)

    @strawberry.field(description="Dewars, by location, workflow and proposal, a page at a time.")
    async def dewars(self, info: strawberry.Info, location: Optional[str] = None, workflow: Optional[str] = None,
                     proposal: Optional[str] = None, first: int = 50, after: Optional[str] = None) -> DewarConnection:
        return await info.context.run(_page, info.context, "dewar", Dewar.of, DewarEdge, DewarConnection, first, after,
                                      where_code=location, workflow=workflow, proposal=proposal)

    @strawberry.field(description="Containers, by proposal, type or dewar, a page at a time.")
    async def containers(self, info: strawberry.Info, proposal: Optional[str] = None, type: Optional[str] = None,
                         loaded_instrument: Optional[str] = None, first: int = 50,
                         after: Optional[str] = None) -> ContainerConnection:
        return await info.context.run(_page, info.context, "container", Container.of, ContainerEdge,
                                      ContainerConnection, first, after, proposal=proposal, container_type=type,
                                      loaded_instrument=loaded_instrument)

    @strawberry.field(description="Dewars that arrived with a barcode nobody registered (staff only).")
    async def unexpected_arrivals(self, info: strawberry.Info, first: int = 50,
                                  after: Optional[str] = None) -> DewarConnection:
        return await info.context.run(_page, info.context, "dewar", Dewar.of, DewarEdge, DewarConnection, first, after,
                                      unexpected=True)

    @strawberry.field
    def container_types(self, info: strawberry.Info) -> list[ContainerType]:
        return [ContainerType(code=t.code, name=t.name, capacity=t.capacity, holds_samples=t.holds_samples,
                              holds_containers=t.holds_containers, goes_into=list(t.goes_into))
                for t in info.context.session.app.catalogue.container_types.values()]

    @strawberry.field
    def sample_kinds(self, info: strawberry.Info) -> list[SampleKind]:
        return [SampleKind(code=k.code, name=k.name, technique=k.technique, goes_into=list(k.goes_into), schema=k.schema)
                for k in info.context.session.app.catalogue.sample_kinds.values()]

    @strawberry.field(description="The lab contacts of one of your proposals, for a shipment's sender and return address.")
    async def lab_contacts(self, info: strawberry.Info, proposal: str) -> list[LabContact]:
        ctx: Context = info.context

        def get() -> list[LabContact]:
            try:
                return [LabContact(**c) for c in ctx.session.lab_contacts(proposal)]
            except DomainError:
                return []
        return await ctx.run(get)

    @strawberry.field
    async def locations(self, info: strawberry.Info) -> list[Location]:
        rows = await info.context.run(info.context.session.views.locations)  # a database read: off the event loop
        return [Location(code=r["code"], name=r["name"], kind=r["kind"]) for r in rows]

    @strawberry.field(description="What the signed-in person is told, per kind of message and proposal, and how.")
    async def notification_settings(self, info: strawberry.Info) -> list[NotificationSetting]:
        return await notifications.settings(info)

    @strawberry.field(description="The e-mail outbox, newest first, by status (admin only).")
    async def outbox(self, info: strawberry.Info, status: Optional[OutboxStatus] = None,
                     first: int = 100) -> OutboxResult:
        return await notifications.outbox(info, status, first)

    @strawberry.field
    def instruments(self, info: strawberry.Info) -> list[Instrument]:
        return [Instrument(name=i.name, title=i.title, technique=i.technique,
                           changer_model=i.changer.model if i.changer else None,
                           changer_positions=len(i.changer.positions) if i.changer else 0)
                for i in info.context.session.app.catalogue.instruments.values()]


def _dewar_after(ctx: Context, outcome: dict[str, Any]) -> Dewar:
    """The dewar as a dewar command left it."""
    return Dewar.of(ctx.session.row_after(outcome["dewar"]))


def _scan(ctx: Context, outcome: dict[str, Any]) -> Scan:
    return Scan(dewar=_dewar_after(ctx, outcome), changed=outcome["changed"], event=outcome.get("event"))


def _shipment(ctx: Context, shipment_id: Any) -> Shipment:
    return Shipment.of(ctx.session.entity("shipment", shipment_id))


def _sample(ctx: Context, sample_id: Any) -> Sample:
    return Sample.of(ctx.session.entity("sample", sample_id))


@strawberry.type
class Mutation:
    # --- user group ---------------------------------------------------------------------
    @strawberry.mutation
    async def create_shipment(self, info: strawberry.Info, proposal: str, name: str, safety_level: str = "green",
                              sending_contact: Optional[str] = None, return_contact: Optional[str] = None) -> ShipmentResult:
        s = info.context.session
        return await attempt(info, lambda: s.create_shipment(proposal, name, safety_level, sending_contact, return_contact),
                             lambda sid: _shipment(info.context, sid))

    @strawberry.mutation
    async def add_mail_in_dewar(self, info: strawberry.Info, shipment_id: strawberry.ID, visit: int, beamline: str,
                                kind: str = "dewar") -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.add_mail_in_dewar(shipment_id, visit, beamline, kind),
                             lambda code: _dewar(info.context, code))

    @strawberry.mutation
    async def add_facility_dewar(self, info: strawberry.Info, shipment_id: strawberry.ID, facility_code: str) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.add_facility_dewar(shipment_id, facility_code),
                             lambda code: _dewar(info.context, code))

    @strawberry.mutation
    async def add_container(self, info: strawberry.Info, barcode: str, type: str, dewar: str,
                            parent: Optional[str] = None, position: Optional[str] = None) -> ContainerResult:
        s = info.context.session
        return await attempt(info, lambda: s.add_container(barcode, type, dewar, parent, position),
                             lambda _: _container(info.context, barcode))

    @strawberry.mutation
    async def remove_container(self, info: strawberry.Info, barcode: str) -> ContainerResult:
        s = info.context.session
        return await attempt(info, lambda: s.remove_container(barcode), lambda _: _container(info.context, barcode))

    @strawberry.mutation
    async def move_container(self, info: strawberry.Info, barcode: str, dewar: str, parent: Optional[str] = None,
                             position: Optional[str] = None) -> ContainerResult:
        s = info.context.session
        return await attempt(info, lambda: s.move_container(barcode, dewar, parent, position),
                             lambda _: _container(info.context, barcode))

    @strawberry.mutation
    async def add_sample(self, info: strawberry.Info, container: str, position: str, kind: str, name: str,
                         attributes: JSON, safety: Optional[JSON] = None) -> SampleResult:
        s = info.context.session
        return await attempt(info, lambda: s.add_sample(container, position, kind, name, attributes or {}, safety),
                             lambda sid: _sample(info.context, sid))

    @strawberry.mutation
    async def remove_sample(self, info: strawberry.Info, id: strawberry.ID) -> SampleResult:
        s = info.context.session
        return await attempt(info, lambda: s.remove_sample(id), lambda _: _sample(info.context, id))

    @strawberry.mutation
    async def move_sample(self, info: strawberry.Info, id: strawberry.ID, container: str, position: str) -> SampleResult:
        s = info.context.session
        return await attempt(info, lambda: s.move_sample(id, container, position), lambda _: _sample(info.context, id))

    @strawberry.mutation
    async def set_courier(self, info: strawberry.Info, shipment_id: strawberry.ID, courier: str,
                          tracking_number: Optional[str] = None) -> ShipmentResult:
        s = info.context.session
        return await attempt(info, lambda: s.set_courier(shipment_id, courier, tracking_number),
                             lambda _: _shipment(info.context, shipment_id))

    @strawberry.mutation
    async def mark_sent(self, info: strawberry.Info, shipment_id: strawberry.ID) -> ShipmentResult:
        s = info.context.session
        return await attempt(info, lambda: s.mark_sent(shipment_id), lambda _: _shipment(info.context, shipment_id))

    @strawberry.mutation
    async def cancel_shipment(self, info: strawberry.Info, shipment_id: strawberry.ID) -> ShipmentResult:
        s = info.context.session
        return await attempt(info, lambda: s.cancel_shipment(shipment_id), lambda _: _shipment(info.context, shipment_id))

    @strawberry.mutation
    async def request_dispatch(self, info: strawberry.Info, barcode: str) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.request_dispatch(barcode), lambda o: _dewar_after(info.context, o))

    # --- stores ---------------------------------------------------------------------------
    @strawberry.mutation(description="A stores scan at a location: the arrival if not on site yet, else a move.")
    async def scan_dewar(self, info: strawberry.Info, barcode: str, location: str) -> ScanResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("scan_dewar", barcode, location), lambda o: _scan(info.context, o))

    @strawberry.mutation
    async def move_dewar(self, info: strawberry.Info, barcode: str, location: str) -> ScanResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("move_dewar", barcode, location), lambda o: _scan(info.context, o))

    @strawberry.mutation
    async def top_up(self, info: strawberry.Info, barcode: str, litres: Optional[float] = None) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("top_up", barcode, litres=litres),
                             lambda o: _dewar_after(info.context, o))

    @strawberry.mutation
    async def check_contents(self, info: strawberry.Info, barcode: str, ok: bool, notes: str = "") -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("check_contents", barcode, ok, notes),
                             lambda o: _dewar_after(info.context, o))

    @strawberry.mutation
    async def report_damage(self, info: strawberry.Info, barcode: str, description: str) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("report_damage", barcode, description),
                             lambda o: _dewar_after(info.context, o))

    @strawberry.mutation
    async def book_dispatch(self, info: strawberry.Info, barcode: str, courier: str, tracking_number: str) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("book_dispatch", barcode, courier, tracking_number),
                             lambda o: _dewar_after(info.context, o))

    @strawberry.mutation
    async def scan_out(self, info: strawberry.Info, barcode: str) -> ScanResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("scan_out", barcode), lambda o: _scan(info.context, o))

    @strawberry.mutation
    async def mark_returned(self, info: strawberry.Info, barcode: str) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("mark_returned", barcode), lambda o: _dewar_after(info.context, o))

    @strawberry.mutation
    async def close_dewar(self, info: strawberry.Info, barcode: str) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("close_dewar", barcode), lambda o: _dewar_after(info.context, o))

    @strawberry.mutation(description="Stores record a dewar that arrived with a barcode nobody registered.")
    async def record_unexpected_arrival(self, info: strawberry.Info, barcode: str, location: str,
                                        note: str = "") -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("record_unexpected_arrival", barcode, location, note),
                             lambda o: _dewar_after(info.context, o))

    # --- beamline ---------------------------------------------------------------------------
    @strawberry.mutation
    async def take_to_instrument(self, info: strawberry.Info, barcode: str, instrument: str) -> LookupResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("take_to_instrument", barcode, instrument),
                             lambda _: _entity(info.context, barcode))

    @strawberry.mutation(description="Back to stores: a dewar to a storage location, a container back into its dewar.")
    async def hand_back(self, info: strawberry.Info, barcode: str, location: str) -> LookupResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("hand_back", barcode, location), lambda _: _entity(info.context, barcode))

    @strawberry.mutation
    async def load_container(self, info: strawberry.Info, barcode: str, instrument: str, position: str) -> ContainerResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("load", barcode, instrument, position),
                             lambda _: _container(info.context, barcode))

    @strawberry.mutation
    async def unload_container(self, info: strawberry.Info, barcode: str) -> ContainerResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("unload", barcode), lambda _: _container(info.context, barcode))

    @strawberry.mutation
    async def dispose_container(self, info: strawberry.Info, barcode: str, reason: str) -> ContainerResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("dispose", barcode, reason), lambda _: _container(info.context, barcode))

    # --- admin ------------------------------------------------------------------------------
    @strawberry.mutation
    async def register_location(self, info: strawberry.Info, code: str, name: str, kind: str = "storage") -> DoneResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("register_location", code, name, kind), lambda c: Done(ok=True, id=c))

    @strawberry.mutation
    async def register_facility_dewar(self, info: strawberry.Info, facility_code: str) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("register_facility_dewar", facility_code),
                             lambda _: _dewar(info.context, facility_code))

    @strawberry.mutation
    async def register_proposal(self, info: strawberry.Info, code: str, title: str) -> DoneResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("register_proposal", code, title), lambda c: Done(ok=True, id=c))

    @strawberry.mutation
    async def register_person(self, info: strawberry.Info, name: str, email: str,
                              phone: Optional[str] = None) -> DoneResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("register_person", name, email, phone=phone),
                             lambda pid: Done(ok=True, id=str(pid)))

    @strawberry.mutation
    async def add_member(self, info: strawberry.Info, proposal: str, person_id: strawberry.ID, role: str) -> DoneResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("add_member", proposal, person_id, role), lambda _: Done(ok=True))

    @strawberry.mutation
    async def add_lab_contact(self, info: strawberry.Info, proposal: str, person_id: strawberry.ID,
                              address_lines: list[str], country: str, label: str = "") -> DoneResult:
        s = info.context.session
        address = {"lines": address_lines, "country": country, "label": label}
        return await attempt(info, lambda: s.staff("add_lab_contact", proposal, person_id, address),
                             lambda cid: Done(ok=True, id=cid))

    @strawberry.mutation(description="Choose how to receive a kind of message, for one proposal or (none) all.")
    async def set_notification_setting(self, info: strawberry.Info, kind: NotificationKind, delivery: Delivery,
                                       proposal: Optional[str] = None) -> NotificationSettingResult:
        return await notifications.set_setting(info, kind, proposal, delivery)

    @strawberry.mutation(description="Data-protection erasure: the person's details are shredded; histories stay whole.")
    async def erase_person(self, info: strawberry.Info, person_id: strawberry.ID) -> DoneResult:
        s = info.context.session
        return await attempt(info, lambda: s.staff("erase_person", person_id), lambda _: Done(ok=True))


POLL_SECONDS = 0.2


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Events as they happen, filtered by proposal, location or instrument.")
    async def events(self, info: strawberry.Info, proposal: Optional[str] = None, location: Optional[str] = None,
                     instrument: Optional[str] = None) -> AsyncGenerator[FeedEvent, None]:
        ctx: Context = info.context
        feed = ctx.feed
        position = await ctx.run(feed.head)
        while True:
            items, position = await ctx.run(feed.read, ctx.session.principal, position)
            for item in items:
                if proposal and item.proposal != proposal.strip().lower():
                    continue
                if location and item.location != location.strip().lower():
                    continue
                if instrument and item.instrument != instrument.strip().lower():
                    continue
                people = ctx.accounts.people if ctx.accounts is not None else None
                await ctx.run(ctx.session.tell, [item.event], people)
                event = (await ctx.run(events_with_names, ctx.accounts, [item.event]))[0]
                yield FeedEvent(position=item.position, entity_type=item.entity_type, barcode=item.barcode,
                                proposal=item.proposal, location=item.location, instrument=item.instrument,
                                event=event)
            if not items:
                await asyncio.sleep(POLL_SECONDS)


def _unexpected(error: GraphQLError) -> bool:
    """Mask what went wrong inside (a database down, a bug); keep the query language's own errors."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return False
    logger.error("unexpected error in %s", error.path, exc_info=original)
    return True


# The depth and alias limits as validation rules, made once: strawberry's limiter extensions make
# a new rule class per instance, and the validation cache is keyed by the rules.
LIMITS = [*QueryDepthLimiter(max_depth=10).validation_rules, *MaxAliasesLimiter(max_alias_count=30).validation_rules]
MAX_TOKENS = 2000
INTERNAL_ERROR = ("internal error: the request was not completed; try again, and tell the facility's IT if it "
                  "persists")


def masked(errors: list[GraphQLError]) -> list[GraphQLError]:
    """The errors a client may see: what went wrong inside becomes INTERNAL_ERROR (what MaskErrors does)."""
    return [GraphQLError(INTERNAL_ERROR, nodes=e.nodes, source=e.source, positions=e.positions, path=e.path)
            if _unexpected(e) else e for e in errors]


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription,
        types=[Problem],
        extensions=[  # made afresh for each request (an extension holds its request's context); the
            # parser and validation caches are strawberry's own, shared by every instance of one maxsize
            lambda: AddValidationRules(LIMITS),  # the same rule classes each time, or validation is never cached
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            lambda: MaskErrors(should_mask_error=_unexpected, error_message=INTERNAL_ERROR),  # per request
        ],
    )


schema = build_schema()
