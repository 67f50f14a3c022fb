"""What goes on a shipment's labels, gathered as plain values (the `labels` package draws them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from logistics.domain.errors import InvalidValue, NotFound
from logistics.domain.identifiers import MailInBarcode
from logistics.service_layer.session import Session


@dataclass(frozen=True)
class PackedDewar:
    barcode: str
    facility_code: str | None
    containers: list[dict[str, Any]]  # barcode, type, samples: [position, name, kind]
    return_courier: str | None
    return_tracking: str | None
    instrument: str | None = None  # the dewar's own beamline (from its mail-in code); stores route by it
    visit: str | None = None  # the dewar's own visit as the facility writes it: PROPOSAL-N (mx23694-1)


@dataclass(frozen=True)
class ShipmentLabels:
    shipment_id: str
    proposal: str
    name: str
    safety_level: str
    sender_name: str
    sender_lines: list[str]
    return_lines: list[str]
    instrument: str | None
    dewars: list[PackedDewar] = field(default_factory=list)
    courier: str | None = None  # the outbound booking, once the sender entered it
    tracking_number: str | None = None
    printed: str = field(default_factory=lambda: date.today().isoformat())
    # Dewars whose return label carries the lab's address to someone outside the proposal (staff
    # printing it for a booked dispatch): printing records that on each of them.
    return_labels_for: tuple[str, ...] = ()


def find_shipment(session: Session, text: str) -> str:
    """A shipment's id from its id, `PROPOSAL/NAME`, or a name unique among the visible shipments."""
    text = text.strip()
    try:
        return str(session.entity("shipment", UUID(text))["id"])
    except ValueError:
        pass
    if "/" in text:
        proposal, name = text.split("/", 1)
        return session.shipment_named(proposal, name)
    rows = session.shipments_named(text)
    if not rows:
        raise NotFound(f"there is no shipment {text!r}: give its id, or PROPOSAL/NAME")
    if len(rows) > 1:
        raise InvalidValue(f"shipment name {text!r} is used by proposals {', '.join(r['proposal'] for r in rows)}: "
                           "give it as PROPOSAL/NAME")
    return rows[0]["id"]


def gather(session: Session, shipment_id: str, printing: bool = False) -> ShipmentLabels:
    """What a shipment's labels say, for this principal. Its members and admins get the lab's
    addresses; staff and stations get none on a download, and on labels they print only the return
    address of a dewar whose way back is booked (the task that needs it), which is then recorded.
    Everything comes through the Session, which decides what this principal may read."""
    row = session.entity("shipment", shipment_id)
    addresses = session.label_addresses(shipment_id, printing)
    own, return_lines = addresses["own"], addresses["return_lines"]
    returning: list[str] = []
    dewars = []
    instrument = None
    for packed in session.shipment_contents(row["id"]):
        dewar_row = packed["dewar"]
        containers = [{"barcode": b["container"]["barcode"], "type": b["container"]["container_type"],
                       "samples": sorted(([s["position"], s["name"], s["kind"]] for s in b["samples"]),
                                         key=lambda s: int(s[0] or 0))}
                      for b in packed["containers"]]
        code = None if dewar_row["facility_code"] else MailInBarcode.parse(dewar_row["barcode"])
        return_courier = dewar_row["return_courier"]
        if not own:  # staff: a return label only for a booked way back, and only when printing
            return_courier = return_courier if printing and return_lines \
                and dewar_row["workflow"] == "dispatch-booked" else None
            if return_courier:
                returning.append(str(dewar_row["id"]))
        dewars.append(PackedDewar(barcode=dewar_row["barcode"], facility_code=dewar_row["facility_code"],
                                  containers=containers, return_courier=return_courier,
                                  return_tracking=dewar_row["return_tracking"],
                                  instrument=code.beamline if code else None,
                                  visit=f"{code.proposal}-{code.visit}" if code else None))
        if instrument is None and code is not None:
            instrument = code.beamline
    if not dewars:
        raise InvalidValue(f"shipment {row['name']!r} has no dewar yet: add one before printing labels")
    return ShipmentLabels(shipment_id=row["id"], proposal=row["proposal"], name=row["name"],
                          safety_level=row["safety_level"], sender_name=addresses["sender_name"],
                          sender_lines=addresses["sender_lines"], return_lines=return_lines,
                          instrument=instrument, dewars=dewars, courier=row["courier"],
                          tracking_number=row["tracking_number"], return_labels_for=tuple(returning))


def _rendered(session: Session, printer: Any, shipment: str, stock: str, label_format: str,
              printing: bool) -> tuple[ShipmentLabels, bytes]:
    content = gather(session, find_shipment(session, shipment), printing)
    return content, printer.render(content, stock, label_format)


def render_labels(session: Session, printer: Any, shipment: str, stock: str = "a4-14",
                  label_format: str = "pdf") -> tuple[str, bytes]:
    """A shipment's labels, rendered: (its id, the bytes). Records nothing: a download to look at."""
    content, data = _rendered(session, printer, shipment, stock, label_format, printing=False)
    return content.shipment_id, data


def print_labels(session: Session, printer: Any, shipment: str, stock: str = "a4-14", label_format: str = "pdf") -> bytes:
    """Render a shipment's labels and record the printing in its history (only if it rendered),
    and on each dewar whose return label gave staff the lab's address."""
    content, data = _rendered(session, printer, shipment, stock, label_format, printing=True)
    session.record_labels_printed(content.shipment_id, stock.strip().lower(), label_format.strip().lower(),
                                  content.return_labels_for)
    return data
