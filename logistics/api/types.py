"""GraphQL output types, built from read-model rows; nested fields load through DataLoaders."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Awaitable, Callable, Optional

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON

from logistics.domain import facets
from logistics.service_layer.session import Session


# Blocking work (commands, database reads) leaves the event loop for these threads, as many as
# anyio's default limit. The standard library's executor: a trip costs 19 us of CPU here, anyio's
# `to_thread` (Starlette's run_in_threadpool) 48 us (measured under uvloop, 8 concurrent callers).
THREADS = ThreadPoolExecutor(max_workers=40, thread_name_prefix="logistics-api")


def in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Awaitable[Any]:
    """What `loop.run_in_executor(THREADS, partial(fn, ...))` does, without its check that the callable
    is no coroutine function: `inspect` unwraps the partial to look, 4% of a scan's service-layer
    CPU (yappi). Like run_in_executor, the function runs without the caller's context variables."""
    return asyncio.wrap_future(THREADS.submit(fn, *args, **kwargs), loop=asyncio.get_running_loop())


def _by_key(rows: list[dict[str, Any]], key: str, keys: list[str], many: bool) -> list[Any]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return [grouped.get(k, []) if many else (grouped[k][0] if grouped.get(k) else None) for k in keys]


# Each loader: the Session's batch question that reads its rows (only those the principal may see),
# the key they are grouped by, many per key.
LOADERS: dict[str, tuple[Callable[[Session], Callable[[list[str]], list[dict[str, Any]]]], str, bool]] = {
    "dewar": (lambda session: partial(session.rows, "dewar"), "id", False),
    "shipment": (lambda session: partial(session.rows, "shipment"), "id", False),
    "container": (lambda session: partial(session.rows, "container"), "id", False),
    "containers_of_dewar": (lambda session: session.containers_in, "dewar_id", True),
    "children": (lambda session: session.children_of, "parent_id", True),
    "samples_of_container": (lambda session: session.samples_in, "container_id", True),
    "dewars_of_shipment": (lambda session: session.dewars_of_shipments, "shipment_id", True),
}


class Loaders:
    """One set per request: a list of 100 dewars with their containers costs a bounded number of
    queries. Each loader (LOADERS) is made when a request first needs it (a scan needs none)."""

    def __init__(self, session: Session):
        self.session = session

    def __getattr__(self, name: str) -> DataLoader:  # once per loader and request; then it is an attribute
        if name not in LOADERS:
            raise AttributeError(name)
        fetch, key, many = LOADERS[name]
        loader = self._loader(fetch(self.session), key, many)
        setattr(self, name, loader)
        return loader

    def _loader(self, fetch: Callable[[list[str]], list[dict[str, Any]]], key: str, many: bool) -> DataLoader:
        async def load(keys: list[str]) -> list[Any]:
            return _by_key(await in_thread(fetch, keys), key, keys, many)
        return DataLoader(load_fn=load)


@dataclass
class Context:
    session: Session
    loaders: Loaders
    feed: Any
    accounts: Any = None
    request: Any = None

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Awaitable[Any]:
        return in_thread(fn, *args, **kwargs)


@strawberry.type(description="Where something is: offsite, in transit, a storage location, an instrument, a sample changer.")
class Where:
    kind: str
    code: Optional[str]
    position: Optional[str]
    text: str

    @classmethod
    def of(cls, where: dict[str, Any]) -> "Where":
        return cls(kind=where["kind"], code=where.get("code"), position=where.get("position"), text=where["text"])


@strawberry.type(description="A piece of an event's sentence: words, and the page they link to (null: plain words).")
class SentencePart:
    text: str
    href: Optional[str]


@strawberry.type(description="One event in an entity's history: what happened, when, who did it, from where.")
class Event:
    version: int
    event: str
    entity: str
    time: datetime
    actor: str = strawberry.field(description="Who did it: an account id (account:...), or system.")
    actor_name: Optional[str] = strawberry.field(description="The account's username, if it still exists.")
    station: Optional[str]
    data: JSON
    sentence: str = strawberry.field(description="What happened, in words: \"Loaded unipuck CPS-1001 into i03 "
                                                 "sample changer position 3\".")
    parts: list[SentencePart] = strawberry.field(description="The sentence in pieces, with links to the things named.")
    who: str = strawberry.field(description="Who did it, as the viewer may see them: a person's name (for staff, and "
                                            "for members of a proposal the person is in), a station, or a role.")

    @classmethod
    def of(cls, e: dict[str, Any], names: dict[str, str] | None = None) -> "Event":
        actor = e["actor"]
        name = (names or {}).get(actor.removeprefix("account:")) if actor.startswith("account:") else actor
        return cls(version=e["version"], event=e["event"], entity=e["entity"], time=e["time"], actor=actor,
                   actor_name=name, station=e["station"], data=e["data"], sentence=e.get("sentence", e["event"]),
                   parts=[SentencePart(text=p["text"], href=p["href"]) for p in e.get("parts", [])],
                   who=e.get("who", name or actor))


def events_with_names(accounts: Any, events: list[dict[str, Any]]) -> list[Event]:
    ids = {e["actor"].removeprefix("account:") for e in events if e["actor"].startswith("account:")}
    names = accounts.names(sorted(ids)) if ids and accounts is not None else {}
    return [Event.of(e, names) for e in events]


async def _history(info: strawberry.Info, kind: str, entity_id: str) -> list[Event]:
    ctx: Context = info.context
    people = ctx.accounts.people if ctx.accounts is not None else None
    return await ctx.run(lambda: events_with_names(ctx.accounts, ctx.session.told_history(kind, entity_id, people)))


@strawberry.type
class Sample:
    id: strawberry.ID
    name: str
    kind: str
    proposal: str
    position: Optional[str]
    removed: bool
    container_id: strawberry.Private[Optional[str]]

    @classmethod
    def of(cls, row: dict[str, Any]) -> "Sample":
        return cls(id=row["id"], name=row["name"], kind=row["kind"], proposal=row["proposal"], position=row["position"],
                   removed=bool(row["removed"]), container_id=row["container_id"])

    @strawberry.field
    async def container(self, info: strawberry.Info) -> Optional["Container"]:
        row = await info.context.loaders.container.load(self.container_id) if self.container_id else None
        return Container.of(row) if row else None

    @strawberry.field
    async def attributes(self, info: strawberry.Info) -> JSON:
        ctx: Context = info.context
        return await ctx.run(ctx.session.sample_attributes, self.id)

    @strawberry.field
    async def history(self, info: strawberry.Info) -> list[Event]:
        return await _history(info, "sample", self.id)


@strawberry.type(description="A sample-changer position a container is loaded in.")
class ChangerSlot:
    instrument: str
    position: str


@strawberry.type
class Container:
    id: strawberry.ID
    barcode: str
    type: str
    proposal: Optional[str]
    position: Optional[str]
    disposed: bool
    loaded: Optional[ChangerSlot]
    at_instrument: Optional[str]
    dewar_id: strawberry.Private[Optional[str]]
    shipment_id: strawberry.Private[Optional[str]]
    row: strawberry.Private[dict[str, Any]]

    @classmethod
    def of(cls, row: dict[str, Any]) -> "Container":
        loaded = ChangerSlot(instrument=row["loaded_instrument"], position=row["loaded_position"]) \
            if row["loaded_instrument"] else None
        return cls(id=row["id"], barcode=row["barcode"], type=row["container_type"], proposal=row["proposal"],
                   position=row["position"], disposed=bool(row["disposed"]), loaded=loaded,
                   at_instrument=row["at_instrument"], dewar_id=row["dewar_id"], shipment_id=row["shipment_id"], row=row)

    @strawberry.field
    async def dewar(self, info: strawberry.Info) -> Optional["Dewar"]:
        row = await info.context.loaders.dewar.load(self.dewar_id) if self.dewar_id else None
        return Dewar.of(row) if row else None

    @strawberry.field(description="Where it is now: its dewar's place, unless it is loaded or at an instrument.")
    async def where(self, info: strawberry.Info) -> Where:
        package = await info.context.loaders.dewar.load(self.dewar_id) if self.dewar_id else None
        return Where.of(info.context.session.container_where(self.row, package))

    @strawberry.field
    async def samples(self, info: strawberry.Info) -> list[Sample]:
        rows = await info.context.loaders.samples_of_container.load(self.id)
        return [Sample.of(r) for r in sorted(rows, key=lambda r: int(r["position"] or 0))]

    @strawberry.field(description="Containers inside this one (pucks in a cane, grid boxes in a puck).")
    async def children(self, info: strawberry.Info) -> list["Container"]:
        rows = await info.context.loaders.children.load(self.id)
        return [Container.of(r) for r in rows]

    @strawberry.field
    async def history(self, info: strawberry.Info) -> list[Event]:
        return await _history(info, "container", self.id)


@strawberry.type
class Dewar:
    id: strawberry.ID
    barcode: str
    facility_code: Optional[str]
    kind: str
    proposal: Optional[str]
    workflow: str
    unexpected: bool
    return_courier: Optional[str]
    return_tracking: Optional[str]
    updated_at: Optional[datetime]
    where: Where
    shipment_id: strawberry.Private[Optional[str]]

    @classmethod
    def of(cls, row: dict[str, Any]) -> "Dewar":
        return cls(id=row["id"], barcode=row["barcode"], facility_code=row["facility_code"], kind=row["kind"],
                   proposal=row["proposal"], workflow=row["workflow"], unexpected=bool(row["unexpected"]),
                   return_courier=row["return_courier"], return_tracking=row["return_tracking"],
                   updated_at=row["updated_at"], where=Where.of(facets.where_told(row["where_kind"], row["where_code"])),
                   shipment_id=row["shipment_id"])

    @strawberry.field
    async def shipment(self, info: strawberry.Info) -> Optional["Shipment"]:
        row = await info.context.loaders.shipment.load(self.shipment_id) if self.shipment_id else None
        return Shipment.of(row) if row else None

    @strawberry.field(description="The containers packed directly in it on its current trip.")
    async def containers(self, info: strawberry.Info) -> list[Container]:
        rows = await info.context.loaders.containers_of_dewar.load(self.id)
        return [Container.of(r) for r in rows if r["parent_kind"] == "dewar"]

    @strawberry.field
    async def history(self, info: strawberry.Info) -> list[Event]:
        return await _history(info, "dewar", self.id)


@strawberry.type
class Shipment:
    id: strawberry.ID
    proposal: str
    name: str
    workflow: str
    safety_level: str
    courier: Optional[str]
    tracking_number: Optional[str]
    labels_printed: int
    registered_at: Optional[datetime]

    @classmethod
    def of(cls, row: dict[str, Any]) -> "Shipment":
        return cls(id=row["id"], proposal=row["proposal"], name=row["name"], workflow=row["workflow"],
                   safety_level=row["safety_level"], courier=row["courier"], tracking_number=row["tracking_number"],
                   labels_printed=row["labels_printed"] or 0, registered_at=row["registered_at"])

    @strawberry.field
    async def dewars(self, info: strawberry.Info) -> list[Dewar]:
        return [Dewar.of(r) for r in await info.context.loaders.dewars_of_shipment.load(self.id)]

    @strawberry.field
    async def history(self, info: strawberry.Info) -> list[Event]:
        return await _history(info, "shipment", self.id)


@strawberry.type
class ChangerPosition:
    position: str
    accepts: list[str]
    occupied: bool
    container: Optional[Container] = strawberry.field(description="Null when empty, or not yours to see.")
    samples: list[Sample] = strawberry.field(description="The puck's pins by position; empty when empty or not yours.")
    visit: Optional[str] = strawberry.field(description="The visit its dewar was sent for (e.g. mx23694-1), from a "
                                                        "mail-in dewar's barcode; null for a facility dewar.")
    loaded_at: Optional[datetime] = strawberry.field(description="When the puck in it was loaded.")
    loaded_by: Optional[str] = strawberry.field(description="Who loaded it, as you may see them: a person's name, a "
                                                            "station's name or a role.")

    @classmethod
    def of(cls, p: dict[str, Any]) -> "ChangerPosition":
        return cls(position=p["position"], accepts=p["accepts"], occupied=p["occupied"],
                   container=Container.of(p["container"]) if p["container"] else None,
                   samples=[Sample.of(s) for s in p["samples"]], visit=p["visit"], loaded_at=p["loaded_at"],
                   loaded_by=p["loaded_by"])


@strawberry.type
class SampleChanger:
    instrument: str
    positions: list[ChangerPosition]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: Optional[str]


def connection(name: str, node: type) -> tuple[type, type]:
    edge = strawberry.type(type(f"{name}Edge", (), {"__annotations__": {"cursor": str, "node": node}}))
    conn = strawberry.type(type(f"{name}Connection", (), {"__annotations__": {"edges": list[edge], "page_info": PageInfo}}))
    return edge, conn


DewarEdge, DewarConnection = connection("Dewar", Dewar)
ShipmentEdge, ShipmentConnection = connection("Shipment", Shipment)
ContainerEdge, ContainerConnection = connection("Container", Container)
