"""Reference data as values: container types, sample kinds, instrument changer layouts.

The data lives in `fixtures/`; these classes only hold it and answer questions about it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from logistics.domain.errors import InvalidValue

# What may hold a container besides another container type.
DEWAR, PARCEL, SAMPLE_CHANGER = "dewar", "parcel", "sample-changer"
PACKAGE_KINDS = (DEWAR, PARCEL)


@dataclass(frozen=True)
class ContainerType:
    code: str
    name: str
    capacity: int
    holds_samples: bool
    holds_containers: bool
    goes_into: tuple[str, ...]

    @property
    def positions(self) -> tuple[str, ...]:
        return tuple(str(n) for n in range(1, self.capacity + 1))

    def check_position(self, position: str) -> str:
        position = str(position).strip()
        if position not in self.positions:
            raise InvalidValue(
                f"position {position!r} does not exist in a {self.name}: expected 1 to {self.capacity}",
                field="position")
        return position


@dataclass(frozen=True)
class SampleKind:
    code: str
    name: str
    technique: str
    goes_into: tuple[str, ...]
    schema: dict[str, Any] = field(hash=False, compare=False)
    examples: tuple[dict[str, Any], ...] = field(default=(), hash=False, compare=False)  # valid attributes, as documented

    def validate(self, attributes: dict[str, Any]) -> dict[str, Any]:
        """The attributes when they follow the kind's JSON Schema; else the first problem, in words."""
        return follow_schema(self.schema, attributes, f"{self.name} attribute", "(attributes)")

    def problems(self, attributes: dict[str, Any]) -> list["SchemaProblem"]:
        """Every way the attributes break the kind's schema (a spreadsheet row reports them all)."""
        return schema_problems(self.schema, attributes)

    def attribute(self, path: str) -> dict[str, Any]:
        """The schema of an attribute by its path ("space_group", "unit_cell.a"); {} when there is none."""
        spec: dict[str, Any] = self.schema
        for part in path.split("."):
            spec = spec.get("properties", {}).get(part) if isinstance(spec, dict) else None
            if not isinstance(spec, dict):
                return {}
        return spec


# Bounds on a free-form JSON value (a sample's attributes or safety), checked before its schema:
# the values people send nest 2 levels and weigh under 1 KiB; one nested 900 deep was accepted once
# and made its sample's history unreadable.
MAX_NESTING = 8
MAX_JSON_BYTES = 16 * 1024


def bounded(value: Any, what: str) -> Any:
    """The value if it nests at most MAX_NESTING levels and its JSON is at most MAX_JSON_BYTES."""
    depth, layer = 0, [value]
    while containers := [x for x in layer if isinstance(x, (dict, list))]:  # level by level: no recursion
        depth += 1
        if depth > MAX_NESTING:
            raise InvalidValue(f"{what} nest more than {MAX_NESTING} levels deep: expected plain names and values")
        layer = [v for x in containers for v in (x.values() if isinstance(x, dict) else x)]
    size = len(json.dumps(value, separators=(",", ":"), default=str).encode())
    if size > MAX_JSON_BYTES:
        raise InvalidValue(f"{what} take {size} bytes as JSON: expected at most {MAX_JSON_BYTES}")
    return value


@dataclass(frozen=True)
class SchemaProblem:
    """One way a value breaks a JSON Schema: where (a dotted path, "" for the whole value), a
    sentence in a person's words, and for a list of allowed values the list (a page shows it)."""

    field: str
    message: str
    allowed: tuple[Any, ...] = ()


SHORT_LIST = 6  # up to this many allowed values are named in the sentence; more are a link away


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else json.dumps(value, default=str)


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def a_or_an(noun: str) -> str:
    """"a" or "an" as it is said: an MX crystal (an acronym said letter by letter), a unipuck."""
    acronym = noun[:2].isupper()
    return ("an " if noun[:1].lower() in ("aefhilmnorsx" if acronym else "aeio") else "a ") + noun


_a = a_or_an


def _title(spec: dict[str, Any], name: str) -> str:
    """A field's name in words: its title without a unit, in lower case ("Space group" -> "space group")."""
    title = str(spec.get("title") or name.replace("_", " ")).split(" (")[0]
    return title if title[:2].isupper() else title[:1].lower() + title[1:]


def expected_one_of(spec: dict[str, Any], name: str) -> str:
    """What an enumerated field accepts, in words: a short list named; a long one by an example,
    its size and a pointer to the list ("expected a space group such as P212121 (65 allowed; see the list)")."""
    allowed = [str(v) for v in spec.get("enum", ())]
    if len(allowed) <= SHORT_LIST:
        return "expected " + (", ".join(allowed[:-1]) + " or " + allowed[-1] if len(allowed) > 1 else allowed[0])
    example = str((spec.get("examples") or allowed)[0])
    return f"expected {_a(_title(spec, name))} such as {example} ({len(allowed)} allowed; see the list)"


def _problem(error: jsonschema.ValidationError) -> list[SchemaProblem]:
    path = [str(p) for p in error.absolute_path]
    where = ".".join(path)
    spec = error.schema if isinstance(error.schema, dict) else {}
    name = path[-1] if path else ""
    value, rule = error.instance, error.validator_value
    if error.validator == "required":
        properties = spec.get("properties", {})
        if path:  # a part of a whole, such as a unit cell's c: say which whole, and that it needs every part
            whole = str(spec.get("title") or name.replace("_", " "))
            return [SchemaProblem(".".join([*path, missing]),
                                  f"{whole} {_title(properties.get(missing, {}), missing)} is required: "
                                  f"give all of {', '.join(rule)}")
                    for missing in rule if isinstance(value, dict) and missing not in value]
        return [SchemaProblem(missing, f"{_title(properties.get(missing, {}), missing).capitalize()} is required")
                for missing in rule if isinstance(value, dict) and missing not in value]
    if error.validator == "additionalProperties":
        extra = sorted(set(value) - set(spec.get("properties", {}))) if isinstance(value, dict) else []
        known = ", ".join(p for p in spec.get("properties", {}) if p != "name")
        return [SchemaProblem(".".join([*path, k]), f"{k} is not a field here: expected one of {known}") for k in extra]
    if error.validator == "enum":
        message = f"{_shown(value)} is not {_a(_title(spec, name))} we know: {expected_one_of(spec, name)}"
        return [SchemaProblem(where, message, tuple(rule))]
    if error.validator == "type":
        wanted = {"number": "a number", "integer": "a whole number", "string": "text", "boolean": "yes or no",
                  "object": "a set of named values", "array": "a list"}.get(str(rule), str(rule))
        return [SchemaProblem(where, f"{_shown(value)} is not {wanted}: expected {wanted}")]
    if error.validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        title = str(spec.get("title", ""))
        unit = title.split(" (", 1)[1].rstrip(")") if " (" in title else ""
        unit = unit if unit in ("", "°") else " " + unit
        limits = [f"{said} {_number(spec[key])}" for key, said in (("minimum", "at least"), ("exclusiveMinimum", "more than"),
                                                                  ("maximum", "at most"), ("exclusiveMaximum", "less than"))
                  if key in spec]
        return [SchemaProblem(where, f"{_number(value)} is out of range: expected {' and '.join(limits)}{unit}")]
    if error.validator in ("maxLength", "minLength"):
        size = "at most" if error.validator == "maxLength" else "at least"
        return [SchemaProblem(where, f"{_shown(value)[:60]} is {'too long' if size == 'at most' else 'too short'}: "
                                     f"expected {size} {rule} characters")]
    said = spec.get("description")
    if error.validator in ("pattern", "format") and said:  # a rule in words, not a regular expression
        return [SchemaProblem(where, f"{_shown(value)} is not valid: {said}")]
    return [SchemaProblem(where, error.message)]


def schema_problems(schema: dict[str, Any], value: Any) -> list[SchemaProblem]:
    """Every problem of the value against the JSON Schema, in path order, as sentences."""
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    problems = [p for e in errors for p in _problem(e)]
    return list(dict.fromkeys(problems))  # one "required" error per missing part each names them all: once each


def follow_schema(schema: dict[str, Any], value: Any, what: str, whole: str) -> Any:
    """The value when it follows the JSON Schema; else its first problem, saying where (`field`)."""
    problems = schema_problems(schema, value)
    if problems:
        first = problems[0]
        raise InvalidValue(f"{what} {first.field.replace('.', '/') or whole}: {first.message}", field=first.field or None)
    return value


@dataclass(frozen=True)
class ChangerLayout:
    model: str
    positions: tuple[str, ...]
    accepts: tuple[str, ...]


@dataclass(frozen=True)
class Instrument:
    name: str
    title: str
    technique: str
    changer: ChangerLayout | None


@dataclass(frozen=True)
class Catalogue:
    container_types: dict[str, ContainerType]
    sample_kinds: dict[str, SampleKind]
    instruments: dict[str, Instrument]
    sample_safety: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)  # a JSON Schema

    def container_type(self, code: str) -> ContainerType:
        try:
            return self.container_types[str(code).strip().lower()]
        except KeyError:
            raise InvalidValue(
                f"container type {code!r} is not in the catalogue: expected one of {', '.join(sorted(self.container_types))}",
                field="container_type") from None

    def sample_kind(self, code: str) -> SampleKind:
        try:
            return self.sample_kinds[str(code).strip().lower()]
        except KeyError:
            raise InvalidValue(
                f"sample kind {code!r} is not in the catalogue: expected one of {', '.join(sorted(self.sample_kinds))}",
                field="sample_kind") from None

    def instrument(self, name: str) -> Instrument:
        try:
            return self.instruments[str(name).strip().lower()]
        except KeyError:
            raise InvalidValue(
                f"instrument {name!r} is not known: expected one of {', '.join(sorted(self.instruments))}"
            ) from None
