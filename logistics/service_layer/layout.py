"""Copying a previous shipment's layout into a new shipment (SynchWeb users clone shipments): its
dewars, their containers at their positions and the samples' names, kinds and attributes, as a
starting point, in one save.

A mail-in dewar gets a new barcode (allocated as for any new dewar) for the same visit and
beamline. A container back from its last trip travels again under its own barcode (its previous
samples leave it; copies take their places); one still packed for another trip is copied under a
new barcode (BARCODE-2, -3, ...), since a barcode names one container. A facility dewar is not
copied: it is the facility's to assign again.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from logistics.domain import facets, identifiers as ids, packing
from logistics.domain.by import By
from logistics.domain.container import Container
from logistics.domain.dewar import Dewar
from logistics.domain.errors import UnknownBarcode
from logistics.domain.registry import Counter
from logistics.domain.sample import Sample
from logistics.domain.shipment import Shipment


def copy_layout(app: Any, source_id: UUID | str, name: str, by: By) -> tuple[UUID, list[str]]:
    """The new shipment's id, and notes on what was not copied as it was (in words)."""
    from logistics.service_layer.application import SERIAL, _text
    name = _text(name, "shipment name", 80)

    def command() -> tuple[list[Any], tuple[UUID, list[str]]]:
        source: Shipment = app.shipment(source_id)
        notes: list[str] = []
        shipment = Shipment(proposal=source.proposal, name=name, sending_contact=source.sending_contact,
                            return_contact=source.return_contact, safety_level=source.safety_level, **by.fields)
        changed: list[Any] = [shipment, app.claim(f"{source.proposal}/{name.lower()}", "shipment", shipment.id, by,
                                                   namespace="shipment-name")]
        counter = app.counter("dewar-serial") or Counter(name="dewar-serial")
        changed.append(counter)
        taken: set[str] = set()
        for dewar_id in source.dewars:
            old: Dewar = app._get(dewar_id, Dewar, "dewar")
            if old.facility_code:
                notes.append(f"facility dewar {old.barcode} was not copied: ask the facility to assign a dewar again")
                continue
            code = ids.MailInBarcode.parse(old.barcode)
            new_code = ids.MailInBarcode.allocate(source.proposal, code.visit, code.beamline, counter.value + 1)
            counter.take(new_code.serial)
            dewar = Dewar(barcode=str(new_code), kind=old.kind, facility_code=None, shipment_id=shipment.id,
                          proposal=source.proposal, **by.fields)
            shipment.add_dewar(str(dewar.id), by)
            changed += [dewar, app.claim(str(new_code), "dewar", dewar.id, by, allocated=True),
                        app.claim(f"{new_code.serial:07d}", "dewar", dewar.id, by, namespace=SERIAL, allocated=True)]
            copies: dict[str, Container] = {}  # old container id -> its copy
            boxes = [app._get(c, Container, "container") for c in old.contents]
            boxes.sort(key=lambda b: b.parent is not None and b.parent["kind"] == "container")  # parents first
            for box in boxes:
                copy = _container_for(app, box, taken, changed, notes, by)
                parent = copies.get(box.parent["id"]) if box.parent and box.parent["kind"] == "container" else None
                if box.parent and box.parent["kind"] == "container" and parent is None:
                    notes.append(f"container {box.barcode} was not copied: its parent container was not")
                    continue
                ctype = app.catalogue.container_type(copy.container_type)
                parent_type = app.catalogue.container_type(parent.container_type) if parent else None
                packing.pack_container(copy, ctype, dewar, parent, parent_type, box.position if parent else None, by)
                copies[str(box.id)] = copy
                changed.append(copy)
                for position, sample_id in sorted(box.samples.items()):
                    original: Sample = app.sample(sample_id)
                    if copy is box:  # the puck travels again: last trip's sample leaves its position
                        packing.remove_sample(original, copy, dewar, by)
                        changed.append(original)
                    kind = app.catalogue.sample_kind(original.kind)
                    sample = Sample(name=original.name, kind=original.kind, attributes=dict(original.attributes),
                                    safety=dict(original.safety), proposal=source.proposal, **by.fields)
                    packing.place_sample(sample, kind, copy, ctype, dewar, position, by)
                    changed.append(sample)
            changed.append(dewar)
        return list({id(a): a for a in changed}.values()), (shipment.id, notes)
    return app.run_command(command)


def _container_for(app: Any, box: Container, taken: set[str], changed: list[Any], notes: list[str],
                   by: By) -> Container:
    """The container itself when it is back from its last trip, else a new one under a new barcode."""
    package = app._package_of(box)
    free = box.parent is None or package is None or package.workflow in facets.BETWEEN_TRIPS
    if free and not box.disposed and not box.loaded and not box.children:
        if box.parent is not None:
            box.unpacked(**by.fields)  # back from its last trip, now packed again
        return box
    for n in range(2, 100):
        code = f"{box.barcode}-{n}"
        if code in taken or len(code) > 40:
            continue
        try:
            app.resolve(code)
        except UnknownBarcode:
            taken.add(code)
            copy = Container(barcode=code, container_type=box.container_type, proposal=box.proposal, **by.fields)
            changed.append(app.claim(code, "container", copy.id, by))
            notes.append(f"container {box.barcode} is still packed for another trip: its copy is {code}; "
                         "a placeholder: if you send another puck, remove it and add yours")
            return copy
    raise AssertionError("no free copy barcode")  # 98 copies of one puck: not a real layout
