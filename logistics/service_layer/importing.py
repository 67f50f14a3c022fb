"""Importing a dewar's containers and samples from a spreadsheet (CSV or XLSX rows as dicts).

Every problem of every row is reported with its row number and column, and nothing is saved if
any row fails: the whole import is one atomic save. A row with anything in its `example` column is
an example (the templates carry one) and is skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from logistics.domain import identifiers as ids
from logistics.domain import packing
from logistics.domain.by import By
from logistics.domain.catalogue import SampleKind, a_or_an as _a
from logistics.domain.container import Container
from logistics.domain.errors import DomainError, InvalidValue, UnknownBarcode
from logistics.domain.sample import Sample
from logistics.service_layer.access import taken_by_another_proposal

EXAMPLE = "example"
EXAMPLE_MARK = "example row: skipped on import (type your rows with this column empty)"
COLUMNS = (EXAMPLE, "container_barcode", "container_type", "parent_barcode", "container_position",
           "sample_position", "sample_name", "sample_kind")
REQUIRED = ("container_barcode", "container_type")
# A domain error's `field` as the column of the step that raised it.
CONTAINER_COLUMNS = {"container_barcode": "container_barcode", "container_type": "container_type",
                     "parent": "parent_barcode", "position": "container_position"}
SAMPLE_COLUMNS = {"position": "sample_position", "sample_kind": "sample_kind", "name": "sample_name"}


@dataclass(frozen=True)
class CellError:
    row: int
    column: str
    value: str
    message: str
    allowed_in: str = ""  # "kind/field" when the allowed values are a list a page shows


class ImportRefused(InvalidValue):
    def __init__(self, errors: list[CellError]):
        first = errors[0]
        rows = len({e.row for e in errors})
        super().__init__(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in {rows} row{'s' if rows != 1 else ''}, "
                         f"nothing was imported; first: row {first.row}, column {first.column}: {first.message}")
        self.errors = errors


def column_of(field: str) -> str:
    """The spreadsheet column of an attribute's path: the name is sample_name, a part of a whole
    (unit_cell.a) is its own column (unit_cell_a)."""
    return "sample_name" if field == "name" else field.replace(".", "_")


def attribute_columns(kind: SampleKind) -> dict[str, str]:
    """The kind's attributes as spreadsheet columns (column -> attribute path): a value made of
    named numbers (a unit cell) is one column per number: unit_cell_a ... unit_cell_gamma."""
    columns: dict[str, str] = {}
    for name, spec in kind.schema.get("properties", {}).items():
        if name == "name":
            continue
        parts = spec.get("properties") if spec.get("type") == "object" else None
        if parts:
            columns.update({f"{name}_{part}": f"{name}.{part}" for part in parts})
        else:
            columns[name] = name
    return columns


def _typed(kind: SampleKind, path: str, text: str) -> Any:
    """A cell's text as the type the kind's schema wants for that attribute."""
    spec = kind.attribute(path)
    wanted = spec.get("type")
    if wanted == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f'"{text}" is not a whole number: expected digits only, such as 40') from None
    if wanted == "number":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f'"{text}" is not a number: expected digits with a decimal point, such as 79.1') from None
    if wanted == "boolean":
        if text.lower() in ("yes", "true", "1", "y"):
            return True
        if text.lower() in ("no", "false", "0", "n"):
            return False
        raise ValueError(f'"{text}" is not yes or no: expected yes or no')
    if wanted == "object" and spec.get("properties"):
        return _whole(spec, path, text)
    return text


def _whole(spec: dict[str, Any], path: str, text: str) -> dict[str, Any]:
    """A value of named numbers in one cell, as older files have it: JSON ({"a": 79.1, ...}) or
    the numbers in order, separated by spaces or commas ("79.1 79.1 37.9 90 90 90")."""
    parts = list(spec["properties"])
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
    numbers = text.replace(",", " ").split()
    try:
        if len(numbers) == len(parts):
            return dict(zip(parts, (float(n) for n in numbers)))
    except ValueError:
        pass
    raise ValueError(f'"{text}" is not {len(parts)} numbers: expected {", ".join(parts)} in order, such as '
                     f'"79.1 79.1 37.9 90 90 90", or one column each: {", ".join(f"{path}_{p}" for p in parts)}')


def row_attributes(kind: SampleKind, row: dict[str, str],
                   fail: Callable[[str, str], None]) -> tuple[dict[str, Any], set[str]]:
    """The row's attributes typed as the kind wants them, and the columns already reported as wrong."""
    properties = kind.schema.get("properties", {})
    columns = attribute_columns(kind)
    attributes: dict[str, Any] = {}
    bad: set[str] = set()
    for column, text in row.items():
        if column in COLUMNS or not text:
            continue
        path = columns.get(column) or (column if column in properties and column != "name" else None)
        if path is None:
            fail(column, f"{column} is not a column for {_a(kind.name)}: expected one of {', '.join(columns)}")
            bad.add(column)
            continue
        try:
            value = _typed(kind, path, text)
        except ValueError as e:
            fail(column, str(e))
            bad.add(column)
            if "." in path:  # a bad number of a whole: its other numbers need no "required" of their own
                bad.add(path.split(".")[0])
            continue
        if "." in path:
            whole, part = path.split(".", 1)
            attributes.setdefault(whole, {})[part] = value
        elif isinstance(value, dict):  # the old one-cell form; its own columns, where given, take precedence
            attributes[path] = {**value, **attributes.get(path, {})}
        else:
            attributes[path] = value
    return attributes, bad


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
            if not any(row.values()) or row.get(EXAMPLE):
                continue
            before = len(errors)
            _check_row(app, number, row, dewar, by, boxes, changed, may_take, errors)
            order = {column: n for n, column in enumerate(row)}  # a row's problems read left to right, as its cells
            errors[before:] = sorted(errors[before:], key=lambda e: order.get(e.column, len(order)))
            added += len(errors) == before and bool(row.get("sample_name")) and bool(row.get("sample_kind"))
        if errors:
            raise ImportRefused(errors)
        return list({id(a): a for a in [*changed, *boxes.values()]}.values()), added
    return app.run_command(command)


def _check_row(app: Any, number: int, row: dict[str, str], dewar: Any, by: By, boxes: dict[str, Container],
               changed: list[Any], may_take: Callable[[str | None], bool], errors: list[CellError]) -> None:
    """Every problem of one row into `errors`; a good row's container and sample into `changed`."""
    before = len(errors)

    def fail(column: str, message: str, allowed_in: str = "") -> None:
        errors.append(CellError(number, column, row.get(column, ""), message, allowed_in))

    for column in REQUIRED:
        if not row.get(column):
            fail(column, f"{column} is required: every row names its container and the container's type")
    box = None
    if len(errors) == before:
        try:
            box = _container(app, boxes, row, dewar, by, changed, may_take)
        except DomainError as e:
            fail(CONTAINER_COLUMNS.get(e.field or "", "container_barcode"), e.message)
    if not row.get("sample_kind") and not row.get("sample_name"):
        return
    try:
        kind: SampleKind | None = app.catalogue.sample_kind(row.get("sample_kind", ""))
    except DomainError as e:
        fail("sample_kind", e.message)
        kind = None
    name = row.get("sample_name", "")
    if not name:
        fail("sample_name", "sample_name is required: every sample needs a name")
    if kind is None:
        return
    attributes, reported = row_attributes(kind, row, fail)
    named = "name" in kind.schema.get("properties", {})
    for problem in kind.problems({"name": name, **attributes} if named else attributes):
        column = column_of(problem.field)
        if reported & {column, problem.field.split(".")[0]} or (column == "sample_name" and not name):
            continue
        if column not in row and problem.field.split(".")[0] in row:  # given in the old one-cell form
            column = problem.field.split(".")[0]
        fail(column, problem.message, f"{kind.code}/{problem.field}" if problem.allowed else "")
    if box is None or not name:
        return
    try:  # where it goes is checked even when its attributes are wrong: every problem at once
        sample = Sample(name=name, kind=kind.code, attributes=attributes, safety={}, proposal=dewar.proposal,
                        **by.fields)
        ctype = app.catalogue.container_type(box.container_type)
        packing.place_sample(sample, kind, box, ctype, dewar, row.get("sample_position", ""), by)
        changed.append(sample)
    except DomainError as e:
        fail(SAMPLE_COLUMNS.get(e.field or "", "sample_position"), e.message)


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
        parent = _parent(app, boxes, row, dewar, changed, may_take)
        parent_type = app.catalogue.container_type(parent.container_type) if parent else None
        packing.pack_container(box, ctype, dewar, parent, parent_type, row.get("container_position") or None, by)
    boxes[code] = box
    return box


def _parent(app: Any, boxes: dict[str, Container], row: dict[str, str], dewar: Any, changed: list[Any],
            may_take: Callable[[str | None], bool]) -> Container | None:
    """The row's parent container: one of this file's rows above, or one already in the dewar."""
    if not row.get("parent_barcode"):
        return None
    try:
        code = ids.container_barcode(row["parent_barcode"])
        if code in boxes:
            return boxes[code]
        parent = app.container(code)
    except DomainError as e:
        raise InvalidValue(e.message, field="parent") from None
    if parent.proposal != dewar.proposal and not may_take(parent.proposal):
        raise InvalidValue(f"no dewar or container has the barcode {code!r}", field="parent")
    changed.append(parent)
    return parent


def template_columns(kind: SampleKind) -> list[str]:
    return [*COLUMNS, *attribute_columns(kind)]


def template_rows(kind: SampleKind) -> list[dict[str, Any]]:
    """The template's example rows, marked in the `example` column: one per example of the kind's
    fixture, each a valid row (the importer skips it; with the mark cleared it imports as it is)."""
    columns = template_columns(kind)
    rows = []
    for n, example in enumerate(kind.examples or [{}], start=1):
        cells = {k: v for k, v in example.items() if k in columns and not isinstance(v, (dict, list))}
        cells.update({f"{k}_{part}": n for k, v in example.items() if isinstance(v, dict) for part, n in v.items()})
        rows.append({EXAMPLE: EXAMPLE_MARK, "container_barcode": "CPS-0001", "container_type": kind.goes_into[0],
                     "sample_position": str(n), "sample_name": example.get("name") or f"example_{n}",
                     "sample_kind": kind.code, **cells})
    return rows
