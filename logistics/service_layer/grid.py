"""A container's positions as one grid (the container page's spreadsheet-like entry): every row
is a position; its cells are the sample's name, kind and attributes as text, as a spreadsheet has
them. One save for the whole grid: every bad cell is reported with its position and column, and
nothing changes if any is wrong.

A row with a sample fills an empty position, or updates the sample there (its attributes change);
a row naming another sample or kind there replaces it; a blank row empties its position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from logistics.domain import packing
from logistics.domain.by import By
from logistics.domain.errors import DomainError, InvalidValue
from logistics.domain.sample import Sample
from logistics.service_layer.importing import attribute_columns, column_of, row_attributes

FIXED = ("position", "sample_name", "sample_kind")


@dataclass(frozen=True)
class GridCellError:
    position: str
    column: str
    message: str


class GridRefused(InvalidValue):
    def __init__(self, errors: list[GridCellError]):
        positions = len({e.position for e in errors})
        super().__init__(f"{len(errors)} cell{'s are' if len(errors) != 1 else ' is'} wrong in {positions} "
                         f"position{'s' if positions != 1 else ''}; nothing was saved. First: position "
                         f"{errors[0].position}, {errors[0].column}: {errors[0].message}")
        self.errors = errors


def fill_container(app: Any, barcode: str, rows: list[dict[str, Any]], by: By) -> dict[str, int]:
    """Add, update, replace or remove the samples of a container's positions in one save;
    answers how many were added, changed and removed."""
    def command() -> tuple[list[Any], dict[str, int]]:
        box = app.container(barcode)
        dewar = app._package_of(box)
        packing.require_container_editable(box, dewar)
        ctype = app.catalogue.container_type(box.container_type)
        errors: list[GridCellError] = []
        changed: list[Any] = [box]
        counts = {"added": 0, "changed": 0, "removed": 0}
        seen: set[str] = set()
        for raw in rows:
            cells = {str(k).strip().lower(): ("" if v is None else str(v).strip()) for k, v in raw.items()}
            position = cells.get("position", "")

            def fail(column: str, message: str, _allowed: str = "") -> None:
                errors.append(GridCellError(position, column, message))

            try:
                position = ctype.check_position(position)
            except DomainError as e:
                fail("position", e.message)
                continue
            if position in seen:
                fail("position", f"position {position} is in the grid twice: each position is one row")
                continue
            seen.add(position)
            there = box.samples.get(position)
            old = app.sample(there) if there else None
            if not any(v for k, v in cells.items() if k not in ("position", "sample_kind")):
                if old is not None:  # a cleared row empties its position
                    packing.remove_sample(old, box, dewar, by)
                    changed.append(old)
                    counts["removed"] += 1
                continue
            before = len(errors)
            name = cells.get("sample_name", "")
            if not name:
                fail("sample_name", "Sample name is required: every sample needs a name")
            try:
                kind = app.catalogue.sample_kind(cells.get("sample_kind", ""))
            except DomainError as e:
                fail("sample_kind", e.message)
                continue
            attributes, reported = row_attributes(kind, {k: v for k, v in cells.items() if k not in FIXED}, fail)
            named = "name" in kind.schema.get("properties", {})
            for problem in kind.problems({"name": name, **attributes} if named else attributes):
                column = column_of(problem.field)
                if not (reported & {column, problem.field.split(".")[0]} or (column == "sample_name" and not name)):
                    fail(column, problem.message)
            if len(errors) > before:  # read left to right, as the grid's columns
                order = {c: n for n, c in enumerate([*FIXED, *attribute_columns(kind)])}
                errors[before:] = sorted(errors[before:], key=lambda e: order.get(e.column, len(order)))
                continue
            if old is not None and old.name == name and old.kind == kind.code:
                if old.attributes != attributes:
                    old.attributes_changed(attributes=attributes, **by.fields)
                    changed.append(old)
                    counts["changed"] += 1
                continue
            try:
                if old is not None:  # another sample now at this position: the one there leaves it
                    packing.remove_sample(old, box, dewar, by)
                    changed.append(old)
                    counts["removed"] += 1
                sample = Sample(name=name, kind=kind.code, attributes=attributes, safety={}, proposal=box.proposal,
                                **by.fields)
                packing.place_sample(sample, kind, box, ctype, dewar, position, by)
                changed.append(sample)
                counts["added"] += 1
            except DomainError as e:
                fail("sample_kind" if e.field == "sample_kind" else "position", e.message)
        if errors:
            raise GridRefused(errors)
        return list({id(a): a for a in changed}.values()), counts
    return app.run_command(command)


def grid_columns(kind: Any) -> list[dict[str, Any]]:
    """The kind's attribute columns as the grid shows them: column, title, type, allowed values, required."""
    required = set(kind.schema.get("required", []))
    out = []
    for column, path in attribute_columns(kind).items():
        spec = kind.attribute(path)
        whole = path.split(".")[0]
        title = str(spec.get("title") or column)
        if "." in path:
            title = f"{kind.attribute(whole).get('title', whole)} {title}"
        out.append({"column": column, "title": title, "type": spec.get("type", "string"),
                    "allowed": [str(v) for v in spec.get("enum", [])], "required": whole in required,
                    "description": spec.get("description", "")})
    return out


def cells_of(attributes: dict[str, Any]) -> dict[str, str]:
    """A sample's attributes as the grid's cells (text; a unit cell as its six columns)."""
    cells: dict[str, str] = {}
    for name, value in attributes.items():
        if isinstance(value, dict):
            cells.update({f"{name}_{part}": _text(v) for part, v in value.items()})
        else:
            cells[name] = _text(value)
    return cells


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
