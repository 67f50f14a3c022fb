"""Rebuilding the read model in several processes: same answers, nothing recorded meanwhile lost."""

from __future__ import annotations

import threading
from functools import partial

import pytest

from logistics.adapters.parallel_rebuild import Workers
from logistics.bootstrap import read_model_projection, rebuild_read_model
from tests.helpers import STORES, at_facility

LOCATIONS = ["loc-stores-a1", "loc-stores-a2", "loc-stores-b1", "loc-stores-b2"]


def test_scans_made_while_the_read_model_is_rebuilt_in_two_processes_are_in_it_afterwards(system):
    _, barcode = at_facility(system)
    for n in range(300):  # some history for the rebuild to chew on
        system.app.move_dewar(barcode, LOCATIONS[n % 4], STORES)
    rebuilt: list[int] = []
    rebuilding = threading.Thread(target=lambda: rebuilt.append(rebuild_read_model(system, jobs=2)))
    rebuilding.start()
    for n in range(30):  # a stores desk keeps scanning meanwhile
        system.app.scan_dewar(barcode, LOCATIONS[(n + 1) % 4], STORES)
    rebuilding.join()
    last = LOCATIONS[30 % 4]
    assert system.views.dewar(barcode)["where_code"] == last
    live = system.projection.dump()
    system.projection.rebuild()  # one process, from scratch: the same rows
    assert system.projection.dump() == live


def test_a_worker_that_cannot_start_stops_the_rebuild_with_its_reason_and_the_read_model_recovers(system, tmp_path):
    _, barcode = at_facility(system)
    live = system.projection.dump()
    factory = partial(read_model_projection, f"sqlite:///{tmp_path / 'no-such-folder' / 'logistics.db'}")
    with Workers(factory, 2) as workers, pytest.raises(RuntimeError, match="rebuild worker 0 failed") as failure:
        system.projection.rebuild(workers=workers)
    assert "unable to open database file" in str(failure.value)
    system.projection.catch_up()  # what the next command does: the read model is whole again
    assert system.projection.dump() == live
