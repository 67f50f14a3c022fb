"""The application hands each command a copy of a cached aggregate, so that a command refused
half-way cannot leave its changes in the cache. The copy is the aggregates' own (Tracked.__deepcopy__,
faster than copy.deepcopy's generic walk): it must share nothing that can change."""

from __future__ import annotations

import copy
from typing import Any
from uuid import UUID

from tests.helpers import STORES, packed_dewar


def _mutable_parts(value: Any, path: str = "") -> list[tuple[str, Any]]:
    found = []
    if isinstance(value, (dict, list, set)):
        found.append((path, value))
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
        for key, item in items:
            found += _mutable_parts(item, f"{path}[{key!r}]")
    return found


def test_a_copy_of_each_aggregate_equals_it_and_shares_nothing_that_can_change(system):
    app = system.app
    _, barcode = packed_dewar(system, samples=2)
    app.scan_dewar(barcode, "loc-goods-in", STORES)
    dewar = app.dewar(barcode)
    container = app.container("CPS-0001")
    samples = [app.repository.get(UUID(sample_id)) for sample_id in container.samples.values()]
    assert len(samples) == 2 and dewar.contents and container.samples
    for aggregate in [dewar, container, *samples]:
        clone = copy.deepcopy(aggregate)
        assert type(clone) is type(aggregate)
        assert vars(clone) == vars(aggregate)
        originals = {id(part) for _, part in _mutable_parts(vars(aggregate))}
        shared = [path for path, part in _mutable_parts(vars(clone)) if id(part) in originals and path]
        assert shared == [], f"{type(aggregate).__name__} shares {shared}"
    # a change to the copy leaves the original as it was
    clone = copy.deepcopy(dewar)
    clone.where["code"] = "somewhere else"
    clone.contents["x"] = "y"
    assert dewar.where != clone.where and "x" not in dewar.contents
