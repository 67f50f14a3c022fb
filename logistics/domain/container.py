"""Container: a puck, cane, grid box, cassette, plate, rack or box, identified by its barcode.

A physical puck travels shipment after shipment, so a container is packed into a dewar (or
into a parent container) for a trip and unpacked after it. Its location follows its dewar's
unless it is loaded in a sample changer or was taken to an instrument on its own.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from logistics.domain.clock import Tracked
from logistics.domain.by import By
from logistics.domain.errors import NotPermitted


class Container(Tracked):
    class Event(Tracked.Event):
        def mutate(self, aggregate: Any) -> Any:
            """A load's time is the event's own timestamp, which the library sets only after the
            method body: the sample-changer map says when each puck went in, and who put it there."""
            aggregate = super().mutate(aggregate)
            if type(self).__name__ == "Loaded":
                aggregate.loaded_at = self.timestamp
                aggregate.loaded_by = {"actor": self.actor, "station": self.station}  # type: ignore[attr-defined]
            return aggregate

    # Snapshots taken before loads were timed have neither: the map then reads the load from the history.
    loaded_at: Any = None
    loaded_by: dict[str, str | None] | None = None

    @event("Registered")
    def __init__(self, barcode: str, container_type: str, proposal: str, actor: str, station: str | None):
        self.barcode, self.container_type, self.proposal = barcode, container_type, proposal
        self.parent: dict[str, str] | None = None  # {"kind": "dewar"|"container", "id": ...}
        self.dewar_id: str | None = None  # the package it travels in
        self.shipment_id: str | None = None
        self.position: str | None = None
        self.children: dict[str, str] = {}  # position -> container id
        self.samples: dict[str, str] = {}  # position -> sample id
        self.loaded: dict[str, str] | None = None  # {"instrument", "position"}
        self.at_instrument: str | None = None
        self.disposed = False

    def _refuse(self, doing: str, why: str) -> None:
        raise NotPermitted(f"container {self.barcode} cannot be {doing}: {why}", field="container_barcode")

    def occupant(self, position: str) -> str | None:
        return self.children.get(position) or self.samples.get(position)

    def require_free_position(self, position: str) -> None:
        if self.occupant(position):
            taken = sorted({*self.children, *self.samples}, key=lambda p: (len(p), p))
            raise NotPermitted(f"position {position} of container {self.barcode} is taken; choose a free position "
                               f"(taken: {', '.join(taken)})", field="position")

    def require_usable(self) -> None:
        if self.disposed:
            self._refuse("used", "it was disposed of")

    @event("Packed")
    def packed(self, parent: dict[str, str], dewar_id: str, shipment_id: str, proposal: str,
               position: str | None, actor: str, station: str | None) -> None:
        self.parent, self.dewar_id, self.shipment_id = parent, dewar_id, shipment_id
        self.proposal, self.position = proposal, position

    @event("Unpacked")
    def unpacked(self, actor: str, station: str | None) -> None:
        self.parent = self.dewar_id = self.shipment_id = self.position = None

    @event("Moved")
    def moved(self, from_parent: dict[str, str], from_position: str | None, parent: dict[str, str], dewar_id: str,
              shipment_id: str, proposal: str, position: str | None, actor: str, station: str | None) -> None:
        self.parent, self.dewar_id, self.shipment_id = parent, dewar_id, shipment_id
        self.proposal, self.position = proposal, position

    @event("ChildPlaced")
    def child_placed(self, position: str, container_id: str, actor: str, station: str | None) -> None:
        self.children[position] = container_id

    @event("ChildRemoved")
    def child_removed(self, position: str, actor: str, station: str | None) -> None:
        self.children.pop(position, None)

    @event("SamplePlaced")
    def sample_placed(self, position: str, sample_id: str, actor: str, station: str | None) -> None:
        self.samples[position] = sample_id

    @event("SampleRemoved")
    def sample_removed(self, position: str, actor: str, station: str | None) -> None:
        self.samples.pop(position, None)

    def load(self, instrument: str, position: str, by: By) -> None:
        self.require_usable()
        if self.loaded:
            self._refuse(f"loaded into {instrument} position {position}",
                         f"it is already in {self.loaded['instrument']} position {self.loaded['position']}")
        if self.dewar_id is None:
            self._refuse(f"loaded into {instrument}", "it is not in any dewar that reached the facility")
        self._loaded(instrument=instrument, position=position, **by.fields)

    @event("Loaded")
    def _loaded(self, instrument: str, position: str, actor: str, station: str | None) -> None:
        self.loaded = {"instrument": instrument, "position": position}

    def unload(self, by: By) -> None:
        if not self.loaded:
            self._refuse("unloaded", "it is not in a sample changer")
        # Where it came out of, in the event itself: the live feed of that instrument's page tells
        # its map to follow (the puck's own state no longer says it once unloaded).
        self._unloaded(instrument=self.loaded["instrument"], position=self.loaded["position"], **by.fields)

    @event("Unloaded")
    def _unloaded(self, actor: str, station: str | None, instrument: str | None = None,
                  position: str | None = None) -> None:  # None: unloaded before the event said where from
        self.loaded = None
        self.loaded_at = self.loaded_by = None

    def take_to_instrument(self, instrument: str, by: By) -> None:
        self.require_usable()
        if self.at_instrument != instrument:
            self._taken_to_instrument(instrument=instrument, **by.fields)

    @event("TakenToInstrument")
    def _taken_to_instrument(self, instrument: str, actor: str, station: str | None) -> None:
        self.at_instrument = instrument

    def hand_back(self, by: By) -> None:
        if self.loaded:
            self._refuse("handed back", "it is still in a sample changer; unload it first")
        if self.at_instrument is not None:
            self._handed_back(**by.fields)

    @event("HandedBack")
    def _handed_back(self, actor: str, station: str | None) -> None:
        self.at_instrument = None

    def dispose(self, reason: str, by: By) -> None:
        if self.loaded:
            self._refuse("disposed of", "it is still in a sample changer; unload it first")
        if not self.disposed:
            self._disposed(reason=reason, **by.fields)

    @event("Disposed")
    def _disposed(self, reason: str, actor: str, station: str | None) -> None:
        self.disposed = True

    def state(self) -> dict[str, Any]:
        return {
            "barcode": self.barcode, "container_type": self.container_type, "proposal": self.proposal,
            "parent": self.parent, "dewar_id": self.dewar_id, "shipment_id": self.shipment_id,
            "position": self.position, "children": dict(self.children), "samples": dict(self.samples),
            "loaded": self.loaded, "at_instrument": self.at_instrument, "disposed": self.disposed,
        }


def container_ref(container_id: UUID | str) -> dict[str, str]:
    return {"kind": "container", "id": str(container_id)}


def dewar_ref(dewar_id: UUID | str) -> dict[str, str]:
    return {"kind": "dewar", "id": str(dewar_id)}
