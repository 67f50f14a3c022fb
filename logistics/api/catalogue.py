"""The facility's reference data: container types, sample kinds, instruments, storage locations,
and a proposal's lab contacts for a shipment's addresses (graphql/catalogue.graphql)."""

from __future__ import annotations

from typing import Optional

import strawberry
from strawberry.scalars import JSON

from logistics.api.types import Context
from logistics.domain.errors import DomainError


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


@strawberry.type
class Query:
    @strawberry.field
    def container_types(self, info: strawberry.Info) -> list[ContainerType]:
        return [ContainerType(code=t.code, name=t.name, capacity=t.capacity, holds_samples=t.holds_samples,
                              holds_containers=t.holds_containers, goes_into=list(t.goes_into))
                for t in info.context.session.catalogue().container_types.values()]

    @strawberry.field
    def sample_kinds(self, info: strawberry.Info) -> list[SampleKind]:
        return [SampleKind(code=k.code, name=k.name, technique=k.technique, goes_into=list(k.goes_into), schema=k.schema)
                for k in info.context.session.catalogue().sample_kinds.values()]

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
        rows = await info.context.run(info.context.session.locations)  # a database read: off the event loop
        return [Location(code=r["code"], name=r["name"], kind=r["kind"]) for r in rows]

    @strawberry.field
    def instruments(self, info: strawberry.Info) -> list[Instrument]:
        return [Instrument(name=i.name, title=i.title, technique=i.technique,
                           changer_model=i.changer.model if i.changer else None,
                           changer_positions=len(i.changer.positions) if i.changer else 0)
                for i in info.context.session.catalogue().instruments.values()]
