"""Beamline and microscope staff: the sample-changer map, loading and unloading (graphql/beamline.graphql)."""

from __future__ import annotations

import strawberry

from logistics.api.results import (ContainerResult, LookupResult, SampleChangerResult, attempt, container_node,
                                   entity_node)
from logistics.api.types import ChangerPosition, Context, SampleChanger


@strawberry.type
class Query:
    @strawberry.field(description="An instrument's sample-changer map: every position and what is in it.")
    async def sample_changer(self, info: strawberry.Info, instrument: str) -> SampleChangerResult:
        ctx: Context = info.context

        def get() -> SampleChanger:
            people = ctx.accounts.people if ctx.accounts is not None else None
            found = ctx.session.changer_map(instrument, people)
            return SampleChanger(instrument=found["instrument"],
                                 positions=[ChangerPosition.of(p) for p in found["positions"]])
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
