"""Shipment: what a user group sends in one go: dewars, with a courier and tracking number."""

from __future__ import annotations

from typing import Any, Iterable

from eventsourcing.domain import event

from logistics.domain.clock import Tracked
from logistics.domain import facets as f
from logistics.domain.by import By
from logistics.domain.errors import InvalidValue, NotPermitted

SAFETY_LEVELS = ("green", "yellow", "red")
REGISTERED, SENT, CANCELLED = "registered", "sent", "cancelled"


def safety_level(text: str) -> str:
    level = str(text).strip().lower()
    if level not in SAFETY_LEVELS:
        raise InvalidValue(f"safety level {text!r} is not valid: expected one of {', '.join(SAFETY_LEVELS)}")
    return level


class Shipment(Tracked):
    @event("Registered")
    def __init__(self, proposal: str, name: str, sending_contact: str | None, return_contact: str | None,
                 safety_level: str, actor: str, station: str | None):
        self.proposal, self.name, self.safety_level = proposal, name, safety_level
        self.sending_contact, self.return_contact = sending_contact, return_contact
        self.courier: str | None = None
        self.tracking_number: str | None = None
        self.dewars: list[str] = []
        self.workflow = REGISTERED
        self.labels_printed = 0

    def _refuse(self, doing: str, why: str) -> None:
        raise NotPermitted(f"shipment {self.name!r} cannot be {doing}: {why}")

    def require_registered(self, doing: str) -> None:
        if self.workflow != REGISTERED:
            self._refuse(doing, f"it is already {self.workflow}")

    def add_dewar(self, dewar_id: str, by: By) -> None:
        self.require_registered("given another dewar")
        self._dewar_added(dewar_id=dewar_id, **by.fields)

    @event("DewarAdded")
    def _dewar_added(self, dewar_id: str, actor: str, station: str | None) -> None:
        self.dewars.append(dewar_id)

    def set_courier(self, courier: str, tracking_number: str | None, by: By) -> None:
        self.require_registered("given a new courier")
        self._courier_set(courier=courier, tracking_number=tracking_number, **by.fields)

    @event("CourierSet")
    def _courier_set(self, courier: str, tracking_number: str | None, actor: str, station: str | None) -> None:
        self.courier, self.tracking_number = courier, tracking_number

    def mark_sent(self, dewar_workflows: Iterable[str], by: By) -> None:
        self.require_registered("marked sent")
        workflows = list(dewar_workflows)
        if not workflows:
            self._refuse("marked sent", "it has no dewar; add one first")
        late = [w for w in workflows if w != f.REGISTERED]
        if late:
            self._refuse("marked sent", f"a dewar of it is already {late[0]} at the facility")
        self._sent(**by.fields)

    @event("Sent")
    def _sent(self, actor: str, station: str | None) -> None:
        self.workflow = SENT

    def cancel(self, by: By) -> None:
        self.require_registered("cancelled")
        self._cancelled(**by.fields)

    @event("Cancelled")
    def _cancelled(self, actor: str, station: str | None) -> None:
        self.workflow = CANCELLED

    @event("LabelsPrinted")
    def labels_printed_event(self, stock: str, label_format: str, actor: str, station: str | None) -> None:
        self.labels_printed += 1

    def state(self) -> dict[str, Any]:
        return {
            "proposal": self.proposal, "name": self.name, "safety_level": self.safety_level,
            "sending_contact": self.sending_contact, "return_contact": self.return_contact,
            "courier": self.courier, "tracking_number": self.tracking_number,
            "dewars": list(self.dewars), "workflow": self.workflow, "labels_printed": self.labels_printed,
        }
