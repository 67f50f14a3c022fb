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
PARTIALLY_RECEIVED, RECEIVED, IN_USE = "partially-received", "received", "in-use"
PARTIALLY_RETURNED, RETURNED = "partially-returned", "returned"
# A shipment's status moves only forward along this order (cancelled stands apart).
PROGRESS = (REGISTERED, SENT, PARTIALLY_RECEIVED, RECEIVED, IN_USE, PARTIALLY_RETURNED, RETURNED)
STATUSES = (*PROGRESS, CANCELLED)
# Where a dewar's trip stands, from its workflow: not yet on site, on site, on its way back, back.
_ARRIVED = (f.RECEIVED, f.IN_USE, f.DISPATCH_REQUESTED, f.DISPATCH_BOOKED, f.DISPATCHED, f.RETURNED, f.CLOSED)
_GOING_BACK = (f.DISPATCHED, f.RETURNED, f.CLOSED)
_BACK = (f.RETURNED, f.CLOSED)


def status_from_dewars(workflows: list[str]) -> str | None:
    """What the shipment's dewars say of it (None while none has reached the facility):
    returned when every dewar is back, partially returned once one is on its way back, in use
    while one is at an instrument, received when all have arrived, partially received when some have."""
    if not workflows or not any(w in _ARRIVED for w in workflows):
        return None
    if all(w in _BACK for w in workflows):
        return RETURNED
    if any(w in _GOING_BACK for w in workflows):
        return PARTIALLY_RETURNED
    if any(w == f.IN_USE for w in workflows):
        return IN_USE
    return RECEIVED if all(w in _ARRIVED for w in workflows) else PARTIALLY_RECEIVED


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
        if self.workflow == CANCELLED:
            self._refuse(doing, "it is already cancelled")
        if self.workflow != REGISTERED:
            # Past "sent" the status says where its dewars are; the user needs both facts.
            now = "" if self.workflow == SENT else f" and is now {self.workflow.replace('-', ' ')}"
            self._refuse(doing, f"it was already sent{now}")

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

    def follow_dewars(self, trip_workflows: list[str], dewar_id: str, dewar_event: Any) -> None:
        """Record the status the shipment's dewars now give it, if it moved forward, with the
        actor, station and time of the dewar event that moved it. `trip_workflows` holds each
        dewar's workflow on this trip (a facility dewar already on another trip counts as returned)."""
        if self.workflow == CANCELLED:
            return
        status = status_from_dewars(trip_workflows)
        if status is None or PROGRESS.index(status) <= PROGRESS.index(self.workflow):
            return
        self.trigger_event(STATUS_EVENTS[status], timestamp=dewar_event.timestamp, dewar_id=dewar_id,
                           dewar_event=type(dewar_event).__name__, actor=dewar_event.actor,
                           station=dewar_event.station)

    class Followed(Tracked.Event):
        """The shipment's status moved because one of its dewars did (the dewar and its event named)."""

        dewar_id: str
        dewar_event: str
        actor: str
        station: str | None
        status = ""

        def apply(self, aggregate: "Shipment") -> None:  # type: ignore[override]
            aggregate.workflow = self.status

    class PartiallyReceived(Followed):
        status = PARTIALLY_RECEIVED

    class Received(Followed):
        status = RECEIVED

    class TakenIntoUse(Followed):
        status = IN_USE

    class PartiallyReturned(Followed):
        status = PARTIALLY_RETURNED

    class Returned(Followed):
        status = RETURNED

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


STATUS_EVENTS: dict[str, type[Shipment.Followed]] = {
    e.status: e for e in (Shipment.PartiallyReceived, Shipment.Received, Shipment.TakenIntoUse,
                          Shipment.PartiallyReturned, Shipment.Returned)}
