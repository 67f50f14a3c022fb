"""Dewar: a dry shipper (or a parcel) identified by its barcode.

Three facets: `where` (changed by scans and moves), `workflow` (changed by the user's and
stores' workflow commands), and conditions (top-ups, checks, damage: events only). A scan
never touches the workflow beyond the first arrival; repeating a scan changes nothing.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from logistics.domain.clock import Tracked
from logistics.domain import facets as f
from logistics.domain.by import By
from logistics.domain.errors import NotPermitted


class Dewar(Tracked):
    class Event(Tracked.Event):
        def mutate(self, aggregate: Any) -> Any:
            """An arrival's time is the event's own timestamp, which the library sets only after the
            method body: "today's arrivals" at the stores desk is every dewar whose arrival is today."""
            aggregate = super().mutate(aggregate)
            if type(self).__name__ in ("Arrived", "ArrivedUnexpectedly"):
                aggregate.arrived_at = self.timestamp
            return aggregate

    arrived_at: Any = None  # snapshots taken before arrivals were remembered have none

    @event("Registered")
    def __init__(self, barcode: str, kind: str, facility_code: str | None, shipment_id: UUID | None,
                 proposal: str | None, actor: str, station: str | None):
        self.barcode, self.kind, self.facility_code = barcode, kind, facility_code
        self.shipment_id, self.proposal = shipment_id, proposal
        self.workflow = f.AVAILABLE if shipment_id is None else f.REGISTERED
        self.where = f.where(f.STORAGE if shipment_id is None else f.OFFSITE)
        self.contents: dict[str, str | None] = {}  # container id -> position
        self.loaded: dict[str, str] = {}  # container id -> "instrument/position"
        self.unexpected = False
        self.return_courier: str | None = None
        self.return_tracking: str | None = None

    @property
    def on_site(self) -> bool:
        return self.where["kind"] in f.ON_SITE

    def _refuse(self, doing: str, why: str) -> None:
        raise NotPermitted(f"dewar {self.barcode} cannot be {doing}: {why}")

    # --- where -------------------------------------------------------------------------
    def scan_in(self, location: str, by: By) -> None:
        """A stores scan at a location: the arrival if not yet on site, else a move."""
        if self.workflow == f.CANCELLED:
            self._refuse("scanned in", "its shipment was cancelled")
        if self.where == f.where(f.STORAGE, location):
            return  # the scanner fired twice: nothing happened
        if self.on_site:
            self._moved(location=location, **by.fields)
        else:
            self._arrived(location=location, **by.fields)

    @event("Arrived")
    def _arrived(self, location: str, actor: str, station: str | None) -> None:
        self.where = f.where(f.STORAGE, location)
        if self.workflow in (f.REGISTERED, f.SENT):
            self.workflow = f.RECEIVED

    def move(self, location: str, by: By) -> None:
        if not self.on_site:
            self._refuse(f"moved to {location}", f"it is not at the facility (it is {f.describe_where(self.where)}); scan it in first")
        self.scan_in(location, by)

    @event("Moved")
    def _moved(self, location: str, actor: str, station: str | None) -> None:
        self.where = f.where(f.STORAGE, location)

    def take_to_instrument(self, instrument: str, by: By) -> None:
        if not self.on_site:
            self._refuse(f"taken to {instrument}", f"it is not at the facility (it is {f.describe_where(self.where)})")
        if self.where != f.where(f.INSTRUMENT, instrument):
            self._taken_to_instrument(instrument=instrument, **by.fields)

    @event("TakenToInstrument")
    def _taken_to_instrument(self, instrument: str, actor: str, station: str | None) -> None:
        self.where = f.where(f.INSTRUMENT, instrument)
        if self.workflow == f.RECEIVED:
            self.workflow = f.IN_USE

    # --- workflow ----------------------------------------------------------------------
    def assign(self, shipment_id: UUID, proposal: str, by: By) -> None:
        if self.facility_code is None or self.workflow not in f.BETWEEN_TRIPS:
            self._refuse("added to a shipment", "it is on another trip; ask stores for another facility dewar")
        self._assigned(shipment_id=shipment_id, proposal=proposal, **by.fields)

    @event("AssignedToShipment")
    def _assigned(self, shipment_id: UUID, proposal: str, actor: str, station: str | None) -> None:
        self.shipment_id, self.proposal, self.workflow = shipment_id, proposal, f.REGISTERED
        self.return_courier = self.return_tracking = None
        self.contents = {}  # a new trip: packed afresh

    def mark_sent(self, by: By) -> None:
        if self.workflow != f.REGISTERED:
            self._refuse("marked sent", f"it is already {self.workflow}")
        self._sent(**by.fields)

    @event("Sent")
    def _sent(self, actor: str, station: str | None) -> None:
        self.workflow, self.where = f.SENT, f.where(f.IN_TRANSIT_IN)

    def cancel(self, by: By) -> None:
        if self.workflow != f.REGISTERED:
            self._refuse("cancelled", f"it is already {self.workflow}")
        self._cancelled(**by.fields)

    @event("Cancelled")
    def _cancelled(self, actor: str, station: str | None) -> None:
        self.workflow = f.AVAILABLE if self.facility_code else f.CANCELLED
        if self.facility_code:
            self.shipment_id = self.proposal = None

    def request_dispatch(self, by: By) -> None:
        if self.workflow == f.DISPATCH_REQUESTED:
            return
        if self.workflow not in (f.SENT, f.RECEIVED, f.IN_USE):
            self._refuse("requested back", f"it is {self.workflow}")
        self._dispatch_requested(**by.fields)

    @event("DispatchRequested")
    def _dispatch_requested(self, actor: str, station: str | None) -> None:
        self.before_dispatch, self.workflow = self.workflow, f.DISPATCH_REQUESTED

    def cancel_dispatch(self, reason: str, by: By) -> None:
        """Stores take back a dispatch request or booking: the dewar stays, as it was before the request."""
        if self.workflow not in (f.DISPATCH_REQUESTED, f.DISPATCH_BOOKED):
            self._refuse("kept back", f"it is {self.workflow}; only a requested or booked dispatch can be cancelled")
        # A dewar whose request was recorded before `before_dispatch` existed had arrived: received.
        self._dispatch_cancelled(workflow=getattr(self, "before_dispatch", None) or f.RECEIVED, reason=reason,
                                 **by.fields)

    @event("DispatchCancelled")
    def _dispatch_cancelled(self, workflow: str, reason: str, actor: str, station: str | None) -> None:
        self.workflow, self.return_courier, self.return_tracking = workflow, None, None

    def book_dispatch(self, courier: str, tracking_number: str, by: By) -> None:
        if self.workflow not in (f.DISPATCH_REQUESTED, f.DISPATCH_BOOKED):
            self._refuse("booked for dispatch", f"it is {self.workflow}; the user must request it back first")
        self._refuse_while_loaded("booked for dispatch")
        self._dispatch_booked(courier=courier, tracking_number=tracking_number, **by.fields)

    @event("DispatchBooked")
    def _dispatch_booked(self, courier: str, tracking_number: str, actor: str, station: str | None) -> None:
        self.workflow, self.return_courier, self.return_tracking = f.DISPATCH_BOOKED, courier, tracking_number

    def scan_out(self, by: By) -> None:
        if self.workflow == f.DISPATCHED:
            return  # the scanner fired twice
        if self.workflow != f.DISPATCH_BOOKED:
            self._refuse("scanned out", f"it is {self.workflow}; book the dispatch first")
        self._refuse_while_loaded("scanned out")
        if self.where["kind"] != f.STORAGE:
            self._refuse("scanned out", f"it is {f.describe_where(self.where)}; hand it back to stores first")
        self._dispatched(**by.fields)

    @event("Dispatched")
    def _dispatched(self, actor: str, station: str | None) -> None:
        self.workflow, self.where = f.DISPATCHED, f.where(f.IN_TRANSIT_BACK)

    def mark_returned(self, by: By) -> None:
        if self.workflow != f.DISPATCHED:
            self._refuse("marked returned", f"it is {self.workflow}, not dispatched")
        self._returned(**by.fields)

    @event("Returned")
    def _returned(self, actor: str, station: str | None) -> None:
        self.workflow, self.where = f.RETURNED, f.where(f.OFFSITE)

    def close(self, by: By) -> None:
        if self.workflow != f.RETURNED:
            self._refuse("closed", f"it is {self.workflow}, not returned")
        self._closed(**by.fields)

    @event("Closed")
    def _closed(self, actor: str, station: str | None) -> None:
        self.workflow = f.CLOSED

    # --- conditions --------------------------------------------------------------------
    def _require_on_site(self, doing: str) -> None:
        if not self.on_site:
            self._refuse(doing, f"it is not at the facility (it is {f.describe_where(self.where)})")

    def top_up(self, litres: float | None, by: By) -> None:
        self._require_on_site("topped up")
        self._topped_up(litres=litres, **by.fields)

    @event("ToppedUp")
    def _topped_up(self, litres: float | None, actor: str, station: str | None) -> None:
        pass

    def check_contents(self, ok: bool, notes: str, by: By) -> None:
        self._require_on_site("checked")
        self._contents_checked(ok=ok, notes=notes, **by.fields)

    @event("ContentsChecked")
    def _contents_checked(self, ok: bool, notes: str, actor: str, station: str | None) -> None:
        pass

    def report_damage(self, description: str, by: By) -> None:
        self._damage_reported(description=description, **by.fields)

    @event("DamageReported")
    def _damage_reported(self, description: str, actor: str, station: str | None) -> None:
        pass

    def return_label_printed(self, by: By) -> None:
        """Staff printed this dewar's return label: the lab's postal address, read by someone who is
        not of the proposal, for the task that needs it (its booked way back). Recorded as such."""
        if self.workflow != f.DISPATCH_BOOKED or not self.return_courier:
            self._refuse("given a return label", f"it is {self.workflow}; book its dispatch first")
        self._return_label_printed(courier=self.return_courier, tracking_number=self.return_tracking, **by.fields)

    @event("ReturnLabelPrinted")
    def _return_label_printed(self, courier: str, tracking_number: str | None, actor: str,
                              station: str | None) -> None:
        pass

    @event("ArrivedUnexpectedly")
    def arrived_unexpectedly(self, location: str, note: str, actor: str, station: str | None) -> None:
        self.unexpected, self.workflow, self.where = True, f.RECEIVED, f.where(f.STORAGE, location)

    # --- contents (kept here so the facet rules can see them) ----------------------------
    def _refuse_while_loaded(self, doing: str) -> None:
        if self.loaded:
            self._refuse(doing, "a container of it is still in a sample changer at " + ", ".join(sorted(self.loaded.values())))

    def require_packable(self) -> None:
        if self.workflow != f.REGISTERED:
            self._refuse("repacked", f"it is {self.workflow}; contents change only before it is sent")

    @event("ContainerPacked")
    def container_packed(self, container_id: str, position: str | None, actor: str, station: str | None) -> None:
        self.contents[container_id] = position

    @event("ContainerUnpacked")
    def container_unpacked(self, container_id: str, actor: str, station: str | None) -> None:
        self.contents.pop(container_id, None)

    @event("ContainerMoved")
    def container_moved(self, container_id: str, position: str | None, actor: str, station: str | None) -> None:
        self.contents[container_id] = position

    @event("ContainerLoaded")
    def container_loaded(self, container_id: str, instrument: str, position: str, actor: str, station: str | None) -> None:
        self.loaded[container_id] = f"{instrument}/{position}"

    @event("ContainerUnloaded")
    def container_unloaded(self, container_id: str, actor: str, station: str | None) -> None:
        self.loaded.pop(container_id, None)

    def state(self) -> dict[str, Any]:
        return {
            "barcode": self.barcode, "kind": self.kind, "facility_code": self.facility_code,
            "shipment_id": str(self.shipment_id) if self.shipment_id else None, "proposal": self.proposal,
            "where": dict(self.where), "workflow": self.workflow, "unexpected": self.unexpected,
            "contents": dict(self.contents), "loaded": dict(self.loaded),
            "return_courier": self.return_courier, "return_tracking": self.return_tracking,
        }
