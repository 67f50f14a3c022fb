"""The live feed: events as they happen, as the stores desk and the beamline pages follow them."""

from __future__ import annotations

import asyncio
from typing import AsyncGenerator, Optional

import strawberry

from logistics.api.types import Context, Event, events_with_names

POLL_SECONDS = 0.2


@strawberry.type(description="An event in the live feed, with where it happened.")
class FeedEvent:
    position: int
    entity_type: str
    barcode: Optional[str]
    proposal: Optional[str]
    location: Optional[str]
    instrument: Optional[str]
    event: Event


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Events as they happen, filtered by proposal, location or instrument.")
    async def events(self, info: strawberry.Info, proposal: Optional[str] = None, location: Optional[str] = None,
                     instrument: Optional[str] = None) -> AsyncGenerator[FeedEvent, None]:
        ctx: Context = info.context
        position = await ctx.run(ctx.session.feed_head)
        while True:
            items, position = await ctx.run(ctx.session.feed, position)
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
