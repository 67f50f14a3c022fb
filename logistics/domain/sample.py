"""Sample: an MX crystal, a cryo-EM grid, a SAXS solution, a powder... of a catalogue kind."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from logistics.domain.clock import Tracked


class Sample(Tracked):
    @event("Registered")
    def __init__(self, name: str, kind: str, attributes: dict[str, Any], safety: dict[str, Any],
                 proposal: str, actor: str, station: str | None):
        self.name, self.kind, self.attributes, self.safety = name, kind, attributes, safety
        self.proposal = proposal
        self.container_id: str | None = None
        self.position: str | None = None
        self.removed = False

    @event("Placed")
    def placed(self, container_id: str, position: str, actor: str, station: str | None) -> None:
        self.container_id, self.position, self.removed = container_id, position, False

    @event("Removed")
    def removed_from_container(self, actor: str, station: str | None) -> None:
        self.container_id = self.position = None
        self.removed = True

    @event("AttributesChanged")
    def attributes_changed(self, attributes: dict[str, Any], actor: str, station: str | None) -> None:
        self.attributes = attributes

    def state(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "attributes": dict(self.attributes),
            "safety": dict(self.safety), "proposal": self.proposal,
            "container_id": self.container_id, "position": self.position, "removed": self.removed,
        }
