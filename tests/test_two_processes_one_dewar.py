"""Two API processes (`serve --workers 2`) each keep the dewars they scanned in memory, and a dewar
may be scanned at a station on either. A scan in one process starts from its own copy without
reading the store first; whatever the other process recorded meanwhile, the history must come out
as if every scan had read it: nothing recorded twice, no scan lost, no refusal on an old copy.

Two applications on one database stand for the two processes here: each has its own cache."""

from __future__ import annotations

from typing import Iterator

import pytest

from logistics.bootstrap import System, bootstrap
from logistics.domain.by import By
from tests.helpers import ADMIN, STORES, at_facility, packed_dewar

OTHER_DESK = By("stores:tom", "stores-desk-2")


@pytest.fixture
def other(database_url: str, system: System) -> Iterator[System]:
    """The second process, started after the first registered the reference data."""
    s = bootstrap(database_url)
    try:
        yield s
    finally:
        s.close()


def where_history(system: System, barcode: str) -> list[tuple[str, str | None, str | None]]:
    dewar = system.app.dewar(barcode)
    return [(e["event"], e["data"].get("location"), e["station"]) for e in system.app.history(dewar.id)
            if e["event"] in ("Arrived", "Moved")]


def test_a_scan_where_the_other_process_already_put_the_dewar_records_nothing(system, other):
    _, barcode = at_facility(system)  # this process arrived it at loc-goods-in, and holds it
    other.app.scan_dewar(barcode, "loc-stores-a1", OTHER_DESK)
    outcome = system.app.scan_dewar(barcode, "loc-stores-a1", STORES)
    assert outcome["changed"] is False and outcome["dewar"].where["code"] == "loc-stores-a1"
    assert where_history(system, barcode) == [("Arrived", "loc-goods-in", "stores-desk-1"),
                                              ("Moved", "loc-stores-a1", "stores-desk-2")]


def test_a_scan_where_this_process_last_saw_the_dewar_is_recorded_after_the_other_moved_it(system, other):
    _, barcode = at_facility(system)
    system.app.scan_dewar(barcode, "loc-stores-a1", STORES)
    other.app.scan_dewar(barcode, "loc-stores-a2", OTHER_DESK)
    # this process's copy still says loc-stores-a1: the scan there is a move back, not a repeat
    outcome = system.app.scan_dewar(barcode, "loc-stores-a1", STORES)
    assert outcome["changed"] is True and outcome["event"] == "Moved"
    assert where_history(other, barcode) == [("Arrived", "loc-goods-in", "stores-desk-1"),
                                             ("Moved", "loc-stores-a1", "stores-desk-1"),
                                             ("Moved", "loc-stores-a2", "stores-desk-2"),
                                             ("Moved", "loc-stores-a1", "stores-desk-1")]


def test_a_move_is_not_refused_because_this_process_saw_the_dewar_before_it_arrived(system, other):
    shipment, barcode = packed_dewar(system)
    system.app.set_courier(shipment, "dhl", "1234567891", ADMIN)
    system.app.mark_sent(shipment, ADMIN)
    system.app.dewar(barcode)  # this process holds it: in transit
    other.app.scan_dewar(barcode, "loc-goods-in", OTHER_DESK)
    outcome = system.app.move_dewar(barcode, "loc-stores-b1", STORES)
    assert outcome["changed"] is True and outcome["dewar"].where["code"] == "loc-stores-b1"
    assert [event for event, _, _ in where_history(other, barcode)] == ["Arrived", "Moved"]


def test_scans_alternating_between_the_processes_are_each_recorded_once_in_order(system, other):
    _, barcode = at_facility(system)
    locations = ["loc-stores-a1", "loc-stores-a2", "loc-stores-b1"]
    sent = []
    for n in range(12):
        process, desk = (system, STORES) if n % 3 else (other, OTHER_DESK)  # two in one, then one in the other
        location = locations[n % 3]
        outcome = process.app.scan_dewar(barcode, location, desk)
        assert outcome["changed"] is True, (n, location)
        sent.append(("Moved", location, desk.station))
    assert where_history(system, barcode)[1:] == sent
