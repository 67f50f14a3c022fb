"""SampleChanger: one per instrument; which container sits in which position."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from logistics.domain.clock import Tracked
from logistics.domain.by import By
from logistics.domain.errors import InvalidValue, NotPermitted


class SampleChanger(Tracked):
    @staticmethod
    def create_id(instrument: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"logistics:changer:{instrument}")

    @event("Registered")
    def __init__(self, instrument: str, model: str | None, positions: list[str], accepts: list[str],
                 actor: str, station: str | None):
        self.instrument, self.model = instrument, model
        self.positions, self.accepts = positions, accepts
        self.occupied: dict[str, str] = {}  # position -> container id

    def check_position(self, position: str) -> str:
        position = str(position).strip()
        if position not in self.positions:
            where = f"1 to {len(self.positions)}" if self.positions else "none: it has no sample changer"
            raise InvalidValue(f"{self.instrument} has no sample-changer position {position!r}: expected {where}")
        return position

    def load(self, position: str, container_id: str, container_type: str, by: By) -> None:
        position = self.check_position(position)
        if container_type not in self.accepts:
            raise NotPermitted(
                f"{self.instrument}'s changer takes {', '.join(self.accepts)}, not a {container_type}"
            )
        if self.occupied.get(position):
            raise NotPermitted(f"{self.instrument} position {position} is taken; unload it first")
        self._loaded(position=position, container_id=container_id, **by.fields)

    @event("Loaded")
    def _loaded(self, position: str, container_id: str, actor: str, station: str | None) -> None:
        self.occupied[position] = container_id

    def unload(self, container_id: str, by: By) -> str:
        for position, occupant in self.occupied.items():
            if occupant == container_id:
                self._unloaded(position=position, container_id=container_id, **by.fields)
                return position
        raise NotPermitted(f"that container is not in {self.instrument}'s sample changer")

    @event("Unloaded")
    def _unloaded(self, position: str, container_id: str, actor: str, station: str | None) -> None:
        self.occupied.pop(position, None)

    def state(self) -> dict[str, Any]:
        return {"instrument": self.instrument, "model": self.model, "positions": list(self.positions),
                "accepts": list(self.accepts), "occupied": dict(self.occupied)}
