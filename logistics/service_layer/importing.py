"""Importing a dewar's containers and samples from a spreadsheet (CSV or XLSX rows as dicts).

Every bad cell is reported with its row and column, and nothing is saved if any row fails:
the whole import is one atomic save.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from logistics.domain import identifiers as ids
from logistics.domain import packing
from logistics.domain.by import By
from logistics.domain.catalogue import SampleKind
from logistics.domain.container import Container
from logistics.domain.errors import DomainError, InvalidValue, UnknownBarcode
from logistics.domain.sample import Sample
from logistics.service_layer.access import taken_by_another_proposal

COLUMNS = ("container_barcode", "container_type", "parent_barcode", "container_position",
           "sample_position", "sample_name", "sample_kind")
REQUIRED = ("container_barcode", "container_type")


@dataclass(frozen=True)
class CellError:
    row: int
    column: str
    value: str
    message: str


class ImportRefused(InvalidValue):
    def __init__(self, errors: list[CellError]):
        first = errors[0]
        super().__init__(f"{len(errors)} cell(s) are wrong, nothing was imported; first: row {first.row}, "
                         f"column {first.column}: {first.message}")
        self.errors = errors


def _typed(kind: SampleKind, column: str, text: str) -> Any:
    """A cell's text as the type the kind's schema wants for that attribute."""
    spec = kind.schema.get("properties", {}).get(column, {})
    wanted = spec.get("type")
    if wanted == "integer":
        return int(text)
    if wanted == "number":
        return float(text)
    if wanted == "boolean":
        if text.lower() in ("yes", "true", "1", "y"):
            return True
        if text.lower() in ("no", "false", "0", "n"):
            return False
        raise ValueError(f"expected yes or no, not {text!r}")
    return text


def import_rows(app: Any, dewar_barcode: str, rows: list[dict[str, Any]], by: By,
                may_take: Callable[[str | None], bool]) -> int:
    """Pack the rows' containers and samples into the dewar; returns how many samples were added.

    A container already registered to a proposal other than the dewar's is packed only when
    `may_take(its proposal)` (the session passes the principal's visibility rule); otherwise its
    row is refused as `addContainer` refuses it, saying nothing about whose it is."""
    def command() -> tuple[list[Any], int]:
        dewar = app.dewar(dewar_barcode)
        dewar.require_packable()
        errors: list[CellError] = []
        boxes: dict[str, Container] = {}
        changed: list[Any] = [dewar]
        added = 0
        for number, raw in enumerate(rows, start=2):  # row 1 is the header
            row = {str(k).strip().lower(): ("" if v is None else str(v).strip()) for k, v in raw.items() if k}
            if not any(row.values()):
                continue

            def fail(column: str, message: str) -> None:
                errors.append(CellError(number, column, row.get(column, ""), message))

            missing = [c for c in REQUIRED if not row.get(c)]
            for column in missing:
                fail(column, f"{column} is required")
            if missing:
                continue
            try:
                box = _container(app, boxes, row, dewar, by, changed, may_take)
            except DomainError as e:
                fail(_column_of(e, "container"), e.message)
                continue
            if not row.get("sample_kind") and not row.get("sample_name"):
                continue
            try:
                kind = app.catalogue.sample_kind(row.get("sample_kind", ""))
            except DomainError as e:
                fail("sample_kind", e.message)
                continue
            attributes: dict[str, Any] = {}
            properties = kind.schema.get("properties", {})
            bad = False
            for column, text in row.items():
                if column in COLUMNS or not text:
                    continue
                if column not in properties:
                    fail(column, f"{column!r} is not an attribute of a {kind.name}: expected one of "
                                 f"{', '.join(p for p in properties if p != 'name')}")
                    bad = True
                    continue
                try:
                    attributes[column] = _typed(kind, column, text)
                except ValueError as e:
                    fail(column, f"{text!r} is not valid for {column}: {e}")
                    bad = True
            if bad:
                continue
            try:
                name = row.get("sample_name", "")
                if not name:
                    raise InvalidValue("sample_name is required for a sample")
                kind.validate({"name": name, **attributes} if "name" in properties else attributes)
            except DomainError as e:
                fail(_attribute_column(e, row), e.message)
                continue
            try:
                sample = Sample(name=name, kind=kind.code, attributes=attributes, safety={}, proposal=dewar.proposal,
                                **by.fields)
                ctype = app.catalogue.container_type(box.container_type)
                packing.place_sample(sample, kind, box, ctype, dewar, row.get("sample_position", ""), by)
                changed.append(sample)
                added += 1
            except DomainError as e:
                fail("sample_position", e.message)
        if errors:
            raise ImportRefused(errors)
        return [*changed, *boxes.values()], added
    return app.run_command(command)


def _container(app: Any, boxes: dict[str, Container], row: dict[str, str], dewar: Any, by: By,
               changed: list[Any], may_take: Callable[[str | None], bool]) -> Container:
    code = ids.container_barcode(row["container_barcode"])
    if code in boxes:
        return boxes[code]
    try:
        box = app.container(code)
        if box.proposal != dewar.proposal and not may_take(box.proposal):
            raise taken_by_another_proposal(code)
    except UnknownBarcode:
        box = None
    ctype = app.catalogue.container_type(row["container_type"])
    if box is None:
        box = Container(barcode=code, container_type=ctype.code, proposal=dewar.proposal, **by.fields)
        changed.append(app.claim(code, "container", box.id, by))
    if box.parent is None or box.dewar_id != str(dewar.id):
        parent = boxes.get(ids.container_barcode(row["parent_barcode"])) if row.get("parent_barcode") else None
        parent_type = app.catalogue.container_type(parent.container_type) if parent else None
        packing.pack_container(box, ctype, dewar, parent, parent_type, row.get("container_position") or None, by)
    boxes[code] = box
    return box


def _column_of(error: DomainError, default: str) -> str:
    if error.field:  # the domain says which value it refused
        return {"position": "container_position", "parent": "parent_barcode"}.get(error.field, error.field)
    message = error.message
    for column in ("container_barcode", "container_type", "parent_barcode", "container_position"):
        if column.replace("_", " ") in message or column in message:
            return column
    if "position" in message:
        return "container_position"
    if "barcode" in message:
        return "container_barcode"
    return f"{default}_type"


def _attribute_column(error: DomainError, row: dict[str, str]) -> str:
    column = {"name": "sample_name"}.get(error.field or "", error.field)
    if column in row:  # the domain says which attribute it refused
        return column
    message = error.message
    for column in row:
        if f" {column}:" in message or f"attribute {column}" in message:
            return column
    return "sample_name" if "sample_name" in message or "name" in message.split(":")[0] else "sample_kind"


def template_columns(kind: SampleKind) -> list[str]:
    return [*COLUMNS, *(p for p in kind.schema.get("properties", {}) if p != "name")]
