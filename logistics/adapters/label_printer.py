"""Turns a shipment's label contents into `labels` values and renders PDF or ZPL bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import labels
from logistics.adapters.fixture_files import FIXTURES
from logistics.domain.errors import InvalidValue
from logistics.service_layer.labelling import ShipmentLabels

FORMATS = ("pdf", "zpl")


class LabelPrinter:
    def __init__(self, folder: Path = FIXTURES):
        self.stocks = labels.load_stocks(folder / "label-stocks.json")
        self.facility: dict[str, Any] = json.loads((folder / "facility.json").read_text(encoding="utf-8"))
        # A container label says "Grid box", not "grid-box": people read it at the bench.
        self.container_names: dict[str, str] = {
            t["code"]: t["name"] for t in json.loads((folder / "container-types.json").read_text(encoding="utf-8"))}

    def stock(self, code: str) -> labels.Stock:
        try:
            return self.stocks[code.strip().lower()]
        except KeyError:
            raise InvalidValue(f"label stock {code!r} is not known: expected one of {', '.join(self.stocks)}") from None

    def items(self, content: ShipmentLabels, label_format: str) -> list[Any]:
        count = len(content.dewars)
        items: list[Any] = []
        for n, dewar in enumerate(content.dewars, start=1):
            items.append(labels.DewarLabel(
                barcode=dewar.barcode, proposal=content.proposal, shipment_name=content.name,
                safety_level=content.safety_level, container_barcodes=tuple(c["barcode"] for c in dewar.containers),
                printed_date=content.printed, facility_code=dewar.facility_code,
                qr_url=self.facility.get("page_url", "").format(barcode=dewar.barcode) or None))
            items.append(labels.AddressLabel(
                facility_address=tuple(self.facility["address"]), sender_name=content.sender_name,
                sender_lines=tuple(content.sender_lines), parcel_index=n, parcel_count=count,
                instrument=dewar.instrument, visit=dewar.visit, proposal=content.proposal,
                dewar_barcode=dewar.barcode, courier=(content.courier or "").upper() or None,
                tracking_number=content.tracking_number))
            if content.return_lines and dewar.return_courier:  # once stores booked the way back
                items.append(labels.ReturnLabel(
                    return_address=tuple(content.return_lines), courier=dewar.return_courier.upper(),
                    courier_account=self.facility.get("return_courier_account", ""),
                    tracking_number=dewar.return_tracking, dewar_barcode=dewar.barcode))
            # Every container packed in it (pucks, canes, grid boxes, nested ones too) gets a label to scan.
            items.extend(labels.ContainerLabel(barcode=c["barcode"], proposal=content.proposal,
                                               container_type=self.container_names.get(c["type"], c["type"] or "Container"))
                         for c in dewar.containers)
        if label_format == "pdf":
            lines = [labels.ManifestLine(dewar_barcode=d.barcode, container_barcode=c["barcode"], container_type=c["type"],
                                         position=s[0], sample_name=s[1], sample_kind=s[2])
                     for d in content.dewars for c in d.containers for s in (c["samples"] or [["", "", ""]])]
            items.append(labels.Manifest(shipment_name=content.name, proposal=content.proposal,
                                         dewar_barcodes=tuple(d.barcode for d in content.dewars), lines=tuple(lines),
                                         printed_date=content.printed))
        return items

    def render(self, content: ShipmentLabels, stock: str = "a4-14", label_format: str = "pdf") -> bytes:
        label_format = label_format.strip().lower()
        if label_format not in FORMATS:
            raise InvalidValue(f"label format {label_format!r} is not known: expected pdf or zpl")
        chosen = self.stock(stock)
        items = self.items(content, label_format)
        try:
            if label_format == "zpl":
                return labels.render_zpl(items, chosen)
            return labels.render_pdf(items, chosen, title=f"Labels for {content.proposal} {content.name}")
        except ValueError as e:
            raise InvalidValue(str(e)) from None
