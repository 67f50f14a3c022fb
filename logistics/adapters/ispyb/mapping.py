"""What our records look like as ISPyB rows: statuses, locations and per-kind sample columns, from
`fixtures/ispyb.json` (data, so a facility changes a status string or maps a new sample kind without code)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from logistics.adapters.fixture_files import FIXTURES
from logistics.domain.identifiers import MailInBarcode
from logistics.domain.errors import InvalidBarcode

MARK = "logistics:"  # the `source` of every row we create: ours to update, nobody else's
SAMPLE_TABLES = ("BLSample", "Crystal", "Protein", "DiffractionPlan")
# SynchWeb's strings that mean "inside the facility" for a dewar (its containers are then "at facility")
AT_FACILITY = ("at facility", "processing", "dispatch-requested", "dispatch-booked")


def mark(entity_id: Any) -> str:
    return f"{MARK}{entity_id}"


@dataclass(frozen=True)
class Mapping:
    raw: dict[str, Any]

    def dewar_status(self, workflow: str, loaded: bool) -> str:
        """A dewar with a puck in a sample changer is 'processing', as ISPyB's update_container_assign makes it."""
        if loaded and workflow in ("received", "in-use", "dispatch-requested"):
            return "processing"
        return self.raw["dewar_status"].get(workflow, workflow)

    def storage_location(self, where: dict[str, Any]) -> str:
        template = self.raw["storage_location"].get(where["kind"], where["kind"])
        return template.format(code=(where.get("code") or "")).lower()[:45]

    def dewar_type(self, kind: str) -> str:
        return self.raw["dewar_type"].get(kind, "Dewar")

    def shipping_status(self, dewar_statuses: list[str]) -> str | None:
        """A shipment is 'processing' while any of its dewars is, else as far as its slowest dewar."""
        if not dewar_statuses:
            return None
        if "processing" in dewar_statuses:
            return "processing"
        order = self.raw["shipping_status_order"]
        known = [s for s in dewar_statuses if s in order]
        return min(known, key=order.index) if known else dewar_statuses[0]

    def sample_columns(self, kind: str, attributes: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], str | None, dict[str, Any]]:
        """({table: {column: value}}, where the rest goes ('Table.column'), the rest) for a sample of this kind."""
        spec = self.raw["sample_kinds"].get(kind, {})
        used: set[str] = set()
        columns: dict[str, dict[str, Any]] = {}
        for table in SAMPLE_TABLES:
            for column, path in spec.get(table, {}).items():
                value: Any = attributes
                for part in path.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                used.add(path.split(".")[0])
                if value is not None:
                    columns.setdefault(table, {})[column] = value
        rest = {k: v for k, v in attributes.items() if k not in used and k != "name"}
        return columns, spec.get("rest", "DiffractionPlan.scanParameters"), rest

    def has_protein(self, kind: str) -> bool:
        return "Protein" in self.raw["sample_kinds"].get(kind, {})


@lru_cache(maxsize=4)
def load_mapping(folder: Path = FIXTURES) -> Mapping:
    return Mapping(json.loads((folder / "ispyb.json").read_text(encoding="utf-8")))


def split_proposal(code: str) -> tuple[str, str]:
    """'mx23694' -> ('mx', '23694'): ISPyB keeps a proposal's code and number apart."""
    letters = code.rstrip("0123456789")
    return letters, code[len(letters):]


def visit_of(dewar_barcode: str) -> tuple[str, int, str] | None:
    """(proposal, visit number, beamline) of a mail-in dewar; None for a facility dewar."""
    try:
        code = MailInBarcode.parse(dewar_barcode)
    except InvalidBarcode:
        return None
    return code.proposal, code.visit, code.beamline
