"""The stores desk: scans, dewar conditions, dispatch, and the lists of dewars (graphql/stores.graphql)."""

from __future__ import annotations

from typing import Optional

import strawberry

from logistics.api.results import DewarResult, ScanResult, attempt, dewar_after, page, scan_of
from logistics.api.types import Dewar, DewarConnection, DewarEdge


@strawberry.type
class Query:
    @strawberry.field(description="Dewars, by location, workflow and proposal, a page at a time.")
    async def dewars(self, info: strawberry.Info, location: Optional[str] = None, workflow: Optional[str] = None,
                     proposal: Optional[str] = None, first: int = 50, after: Optional[str] = None) -> DewarConnection:
        return await info.context.run(page, info.context, "dewar", Dewar.of, DewarEdge, DewarConnection, first, after,
                                      where_code=location, workflow=workflow, proposal=proposal)

    @strawberry.field(description="Dewars that arrived with a barcode nobody registered (staff only).")
    async def unexpected_arrivals(self, info: strawberry.Info, first: int = 50,
                                  after: Optional[str] = None) -> DewarConnection:
        return await info.context.run(page, info.context, "dewar", Dewar.of, DewarEdge, DewarConnection, first, after,
                                      unexpected=True)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="A stores scan at a location: the arrival if not on site yet, else a move.")
    async def scan_dewar(self, info: strawberry.Info, barcode: str, location: str) -> ScanResult:
        s = info.context.session
        return await attempt(info, lambda: s.scan_dewar(barcode, location), lambda o: scan_of(info.context, o))

    @strawberry.mutation
    async def move_dewar(self, info: strawberry.Info, barcode: str, location: str) -> ScanResult:
        s = info.context.session
        return await attempt(info, lambda: s.move_dewar(barcode, location), lambda o: scan_of(info.context, o))

    @strawberry.mutation
    async def top_up(self, info: strawberry.Info, barcode: str, litres: Optional[float] = None) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.top_up(barcode, litres=litres),
                             lambda o: dewar_after(info.context, o))

    @strawberry.mutation
    async def check_contents(self, info: strawberry.Info, barcode: str, ok: bool, notes: str = "") -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.check_contents(barcode, ok, notes),
                             lambda o: dewar_after(info.context, o))

    @strawberry.mutation
    async def report_damage(self, info: strawberry.Info, barcode: str, description: str) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.report_damage(barcode, description),
                             lambda o: dewar_after(info.context, o))

    @strawberry.mutation
    async def book_dispatch(self, info: strawberry.Info, barcode: str, courier: str, tracking_number: str) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.book_dispatch(barcode, courier, tracking_number),
                             lambda o: dewar_after(info.context, o))

    @strawberry.mutation(description="Stores cancel a dewar's dispatch request or booking: it stays, as before the request.")
    async def cancel_dispatch(self, info: strawberry.Info, barcode: str, reason: str) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.cancel_dispatch(barcode, reason),
                             lambda o: dewar_after(info.context, o))

    @strawberry.mutation
    async def scan_out(self, info: strawberry.Info, barcode: str) -> ScanResult:
        s = info.context.session
        return await attempt(info, lambda: s.scan_out(barcode), lambda o: scan_of(info.context, o))

    @strawberry.mutation
    async def mark_returned(self, info: strawberry.Info, barcode: str) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.mark_returned(barcode), lambda o: dewar_after(info.context, o))

    @strawberry.mutation
    async def close_dewar(self, info: strawberry.Info, barcode: str) -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.close_dewar(barcode), lambda o: dewar_after(info.context, o))

    @strawberry.mutation(description="Stores record a dewar that arrived with a barcode nobody registered.")
    async def record_unexpected_arrival(self, info: strawberry.Info, barcode: str, location: str,
                                        note: str = "") -> DewarResult:
        s = info.context.session
        return await attempt(info, lambda: s.record_unexpected_arrival(barcode, location, note),
                             lambda o: dewar_after(info.context, o))
