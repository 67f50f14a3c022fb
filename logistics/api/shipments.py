"""A user group's shipments and what they pack in them (graphql/shipments.graphql)."""

from __future__ import annotations

from typing import Optional

import strawberry
from strawberry.scalars import JSON

from logistics.api.results import (ContainerResult, DewarResult, SampleResult, ShipmentResult, attempt,
                                   container_node, dewar_after, dewar_node, page, sample_node, shipment_node)
from logistics.api.types import Shipment, ShipmentConnection, ShipmentEdge


@strawberry.type
class Query:
    @strawberry.field(description="Shipments, by proposal and workflow, a page at a time.")
    async def shipments(self, info: strawberry.Info, proposal: Optional[str] = None, workflow: Optional[str] = None,
                        first: int = 50, after: Optional[str] = None) -> ShipmentConnection:
        return await info.context.run(page, info.context, "shipment", Shipment.of, ShipmentEdge, ShipmentConnection,
                                      first, after, proposal=proposal, workflow=workflow)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_shipment(self, info: strawberry.Info, proposal: str, name: str, safety_level: str = "green",
                              sending_contact: Optional[str] = None, return_contact: Optional[str] = None) -> ShipmentResult:
        s = info.context.session
        return await attempt(info, lambda: s.create_shipment(proposal, name, safety_level, sending_contact, return_contact),
                             lambda sid: shipment_node(info.context, sid))

    @strawberry.mutation
    async def add_mail_in_dewar(self, info: strawberry.Info, shipment_id: strawberry.ID, visit: int, beamline: str,
                                kind: str = "dewar") -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.add_mail_in_dewar(shipment_id, visit, beamline, kind),
                             lambda code: dewar_node(info.context, code))

    @strawberry.mutation
    async def add_facility_dewar(self, info: strawberry.Info, shipment_id: strawberry.ID, facility_code: str) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.add_facility_dewar(shipment_id, facility_code),
                             lambda code: dewar_node(info.context, code))

    @strawberry.mutation
    async def add_container(self, info: strawberry.Info, barcode: str, type: str, dewar: str,
                            parent: Optional[str] = None, position: Optional[str] = None) -> ContainerResult:
        s = info.context.session
        return await attempt(info, lambda: s.add_container(barcode, type, dewar, parent, position),
                             lambda _: container_node(info.context, barcode))

    @strawberry.mutation
    async def remove_container(self, info: strawberry.Info, barcode: str) -> ContainerResult:
        s = info.context.session
        return await attempt(info, lambda: s.remove_container(barcode), lambda _: container_node(info.context, barcode))

    @strawberry.mutation
    async def move_container(self, info: strawberry.Info, barcode: str, dewar: str, parent: Optional[str] = None,
                             position: Optional[str] = None) -> ContainerResult:
        s = info.context.session
        return await attempt(info, lambda: s.move_container(barcode, dewar, parent, position),
                             lambda _: container_node(info.context, barcode))

    @strawberry.mutation
    async def add_sample(self, info: strawberry.Info, container: str, position: str, kind: str, name: str,
                         attributes: JSON, safety: Optional[JSON] = None) -> SampleResult:
        s = info.context.session
        return await attempt(info, lambda: s.add_sample(container, position, kind, name, attributes or {}, safety),
                             lambda sid: sample_node(info.context, sid))

    @strawberry.mutation
    async def remove_sample(self, info: strawberry.Info, id: strawberry.ID) -> SampleResult:
        s = info.context.session
        return await attempt(info, lambda: s.remove_sample(id), lambda _: sample_node(info.context, id))

    @strawberry.mutation
    async def move_sample(self, info: strawberry.Info, id: strawberry.ID, container: str, position: str) -> SampleResult:
        s = info.context.session
        return await attempt(info, lambda: s.move_sample(id, container, position), lambda _: sample_node(info.context, id))

    @strawberry.mutation
    async def set_courier(self, info: strawberry.Info, shipment_id: strawberry.ID, courier: str,
                          tracking_number: Optional[str] = None) -> ShipmentResult:
        s = info.context.session
        return await attempt(info, lambda: s.set_courier(shipment_id, courier, tracking_number),
                             lambda _: shipment_node(info.context, shipment_id))

    @strawberry.mutation
    async def mark_sent(self, info: strawberry.Info, shipment_id: strawberry.ID) -> ShipmentResult:
        s = info.context.session
        return await attempt(info, lambda: s.mark_sent(shipment_id), lambda _: shipment_node(info.context, shipment_id))

    @strawberry.mutation
    async def cancel_shipment(self, info: strawberry.Info, shipment_id: strawberry.ID) -> ShipmentResult:
        s = info.context.session
        return await attempt(info, lambda: s.cancel_shipment(shipment_id), lambda _: shipment_node(info.context, shipment_id))

    @strawberry.mutation
    async def request_dispatch(self, info: strawberry.Info, barcode: str) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.request_dispatch(barcode), lambda o: dewar_after(info.context, o))
