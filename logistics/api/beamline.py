"""Beamline and microscope staff: the sample-changer map, loading and unloading (graphql/beamline.graphql)."""

from __future__ import annotations

import strawberry

from logistics.api.results import (ContainerResult, LookupResult, SampleChangerResult, attempt, container_node,
                                   entity_node)
from logistics.api.types import ChangerPosition, Container, Context, SampleChanger


@strawberry.type
class Query:
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


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def take_to_instrument(self, info: strawberry.Info, barcode: str, instrument: str) -> LookupResult:
        s = info.context.session
        return await attempt(info, lambda: s.take_to_instrument(barcode, instrument),
                             lambda _: entity_node(info.context, barcode))

    @strawberry.mutation(description="Back to stores: a dewar to a storage location, a container back into its dewar.")
    async def hand_back(self, info: strawberry.Info, barcode: str, location: str) -> LookupResult:
        s = info.context.session
        return await attempt(info, lambda: s.hand_back(barcode, location), lambda _: entity_node(info.context, barcode))

    @strawberry.mutation
    async def load_container(self, info: strawberry.Info, barcode: str, instrument: str, position: str) -> ContainerResult:
        s = info.context.session
        return await attempt(info, lambda: s.load_container(barcode, instrument, position),
                             lambda _: container_node(info.context, barcode))

    @strawberry.mutation
    async def unload_container(self, info: strawberry.Info, barcode: str) -> ContainerResult:
        s = info.context.session
        return await attempt(info, lambda: s.unload_container(barcode), lambda _: container_node(info.context, barcode))

    @strawberry.mutation
    async def dispose_container(self, info: strawberry.Info, barcode: str, reason: str) -> ContainerResult:
        s = info.context.session
        return await attempt(info, lambda: s.dispose_container(barcode, reason), lambda _: container_node(info.context, barcode))
