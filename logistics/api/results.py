"""What every feature module of the API shares: the result unions (an entity or a Problem), running
a command off the event loop, and building nodes from what a command or question answered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Callable, Optional, Union
from uuid import UUID

import strawberry
from graphql import GraphQLError

from logistics.api.errors import (AccessDeniedError, AlreadyExistsError, InvalidBarcodeError, InvalidValueError,
                                  NotFoundError, NotPermittedError, UnknownBarcodeError, problem)
from logistics.api.types import (Container, Context, Dewar, PageInfo, Sample, SampleChanger, Shipment)
from logistics.domain.errors import DomainError, InvalidValue
from logistics.views import encode_cursor

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


def dewar_node(ctx: Context, barcode: str) -> Dewar:
    return Dewar.of(ctx.session.resolve(barcode)[2])


def container_node(ctx: Context, barcode: str) -> Container:
    return Container.of(ctx.session.resolve(barcode)[2])


def entity_node(ctx: Context, barcode: str) -> Any:
    kind, _, row = ctx.session.resolve(barcode)
    return Dewar.of(row) if kind == "dewar" else Container.of(row)


def shipment_node(ctx: Context, shipment_id: Any) -> Shipment:
    return Shipment.of(ctx.session.entity("shipment", shipment_id))


def sample_node(ctx: Context, sample_id: Any) -> Sample:
    return Sample.of(ctx.session.entity("sample", sample_id))


def dewar_after(ctx: Context, outcome: dict[str, Any]) -> Dewar:
    """The dewar as a dewar command left it."""
    return Dewar.of(ctx.session.row_after(outcome["dewar"]))


def scan_of(ctx: Context, outcome: dict[str, Any]) -> Scan:
    return Scan(dewar=dewar_after(ctx, outcome), changed=outcome["changed"], event=outcome.get("event"))


def _as_of_row(ctx: Context, kind: str, entity_id: UUID, when: datetime, name: str) -> dict[str, Any]:
    return ctx.session.row_as_of(kind, entity_id, when, name)


def by_barcode(ctx: Context, wanted: str, barcode: str, as_of: Optional[datetime]) -> Any:
    """A dewar or container by barcode, now or as it was at a past time."""
    kind, entity_id, row = ctx.session.resolve(barcode)
    if kind != wanted:
        raise InvalidValue(f"{barcode!r} is a {kind}'s barcode, not a {wanted}'s")
    node = Dewar if wanted == "dewar" else Container
    return node.of(_as_of_row(ctx, wanted, entity_id, as_of, barcode) if as_of else row)


def by_id(ctx: Context, node: Any, kind: str, entity_id: Any, as_of: Optional[datetime]) -> Any:
    """A shipment or sample by id, now or as it was at a past time."""
    row = ctx.session.entity(kind, entity_id)
    return node.of(_as_of_row(ctx, kind, UUID(str(entity_id)), as_of, str(entity_id)) if as_of else row)


def page(ctx: Context, kind: str, node: Callable[[dict[str, Any]], Any], edge: type, conn: type, first: int,
         after: Optional[str], **filters: Any) -> Any:
    first = max(1, min(first, 500))
    try:
        rows, more = ctx.session.page(kind, first=first, after=after, **filters)
    except DomainError as e:  # a malformed cursor: an argument error, said plainly (lists have no problem union)
        raise GraphQLError(e.message) from None
    edges = [edge(cursor=encode_cursor(r, kind), node=node(r)) for r in rows]
    return conn(edges=edges, page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None))
