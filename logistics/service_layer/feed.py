"""The live feed of events for the stores and beamline pages: read in order from the event
store's notification log (so events made by other processes arrive too), each decorated with
the entity's barcode, proposal, location and instrument, and filtered by what the principal may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

ENTITIES = {"Dewar": "dewar", "Container": "container", "Sample": "sample", "Shipment": "shipment"}


@dataclass(frozen=True)
class FeedItem:
    position: int
    entity_type: str
    entity_id: str
    barcode: str | None
    proposal: str | None
    location: str | None
    instrument: str | None
    event: dict[str, Any]


class Feed:
    def __init__(self, app: Any, views: Any):
        self.app, self.views = app, views

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def read(self, sees: Callable[[str | None], bool], after: int, limit: int = 200) -> tuple[list[FeedItem], int]:
        """Items after a position whose proposal `sees` (the Session's visibility rule: `Session.feed`),
        and the position to continue from."""
        notifications = self.app.recorder.select_notifications(start=after, limit=limit, inclusive_of_start=False)
        decoded = []
        wanted: dict[str, set[str]] = {}  # the entities to read, by kind: one query each
        for n in notifications:
            event = self.app.mapper.to_domain_event(n)
            kind = ENTITIES.get(type(event).__qualname__.split(".")[0])
            if kind is not None:
                decoded.append((n, event, kind))
                wanted.setdefault(kind, set()).add(str(n.originator_id))
        rows = {row["id"]: row for kind, ids in wanted.items() for row in self.views.rows(kind, sorted(ids))}
        items = []
        for n, event, kind in decoded:
            row = rows.get(str(n.originator_id))
            if row is None or not sees(row.get("proposal")):
                continue
            data = self.app.describe(event)
            items.append(FeedItem(position=n.id, entity_type=kind, entity_id=str(n.originator_id),
                                  barcode=row.get("barcode"), proposal=row.get("proposal"),
                                  location=data["data"].get("location") or _place(row, "storage"),
                                  instrument=data["data"].get("instrument") or _place(row, "instrument")
                                  or row.get("loaded_instrument"),
                                  event=data))
        return items, (notifications[-1].id if notifications else after)


def _place(row: dict[str, Any], kind: str) -> str | None:
    return row.get("where_code") if row.get("where_kind") == kind else None
