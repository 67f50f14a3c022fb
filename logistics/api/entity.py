"""Any one thing by barcode or id, now or at a past time, and who is signed in (graphql/entity.graphql)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import strawberry

from logistics.api.results import (ContainerResult, DewarResult, LookupResult, SampleResult, ShipmentResult, attempt,
                                   by_barcode, by_id, entity_node, page)
from logistics.api.types import Container, ContainerConnection, ContainerEdge, Sample, Shipment


@strawberry.type
class Me:
    name: str
    roles: list[str]
    proposals: list[str]
    station: Optional[str]


@strawberry.type
class Query:
    @strawberry.field(description="Who is signed in.")
    def me(self, info: strawberry.Info) -> Me:
        p = info.context.session.principal
        return Me(name=p.name, roles=sorted(p.roles), proposals=sorted(p.proposals), station=p.station)

    @strawberry.field(description="What a scanned or typed barcode names. Tolerates scanner noise; never guesses.")
    async def lookup(self, info: strawberry.Info, barcode: str) -> LookupResult:
        return await attempt(info, lambda: None, lambda _: entity_node(info.context, barcode))

    @strawberry.field(description="A dewar by barcode; with asOf, its state at that past time.")
    async def dewar(self, info: strawberry.Info, barcode: str, as_of: Optional[datetime] = None) -> DewarResult:
        return await attempt(info, lambda: None, lambda _: by_barcode(info.context, "dewar", barcode, as_of))

    @strawberry.field(description="A container by barcode; with asOf, its state at that past time.")
    async def container(self, info: strawberry.Info, barcode: str, as_of: Optional[datetime] = None) -> ContainerResult:
        return await attempt(info, lambda: None, lambda _: by_barcode(info.context, "container", barcode, as_of))

    @strawberry.field
    async def shipment(self, info: strawberry.Info, id: strawberry.ID, as_of: Optional[datetime] = None) -> ShipmentResult:
        return await attempt(info, lambda: None, lambda _: by_id(info.context, Shipment, "shipment", id, as_of))

    @strawberry.field
    async def sample(self, info: strawberry.Info, id: strawberry.ID, as_of: Optional[datetime] = None) -> SampleResult:
        return await attempt(info, lambda: None, lambda _: by_id(info.context, Sample, "sample", id, as_of))

    @strawberry.field(description="Containers, by proposal, type or dewar, a page at a time.")
    async def containers(self, info: strawberry.Info, proposal: Optional[str] = None, type: Optional[str] = None,
                         loaded_instrument: Optional[str] = None, first: int = 50,
                         after: Optional[str] = None) -> ContainerConnection:
        return await info.context.run(page, info.context, "container", Container.of, ContainerEdge,
                                      ContainerConnection, first, after, proposal=proposal, container_type=type,
                                      loaded_instrument=loaded_instrument)
