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
                f"position {position!r} does not exist in a {self.name}: expected 1 to {self.capacity}", field="position")
        return position


@dataclass(frozen=True)
class SampleKind:
    code: str
    name: str
    technique: str
    goes_into: tuple[str, ...]
    schema: dict[str, Any] = field(hash=False, compare=False)

    def validate(self, attributes: dict[str, Any]) -> dict[str, Any]:
        """The attributes when they follow the kind's JSON Schema; else the schema's own message."""
        return follow_schema(self.schema, attributes, f"{self.name} attribute", "(attributes)")


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


def follow_schema(schema: dict[str, Any], value: Any, what: str, whole: str) -> Any:
    """The value when it follows the JSON Schema; else the schema's own message, saying where."""
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        where = "/".join(str(p) for p in error.absolute_path) or whole
        field = str(error.absolute_path[0]) if error.absolute_path else None  # the attribute, for a column
        said = error.schema.get("description") if isinstance(error.schema, dict) else None
        if error.validator in ("pattern", "format") and said:  # a rule in words, not a regular expression
            raise InvalidValue(f"{what} {where}: {error.instance!r} is not valid: {said}", field=field)
        raise InvalidValue(f"{what} {where}: {error.message}", field=field)
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
