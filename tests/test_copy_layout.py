"""A member starts a new shipment from an earlier one's layout: dewars (new barcodes, same visit and
beamline), containers at their positions and the samples' names and attributes, in one save."""

from __future__ import annotations

from uuid import UUID

import pytest

from logistics.bootstrap import System
from logistics.domain.errors import NotFound
from logistics.service_layer.access import Principal
from logistics.service_layer.session import Session
from tests.helpers import USER, event_count, packed_dewar


def _member(system: System, proposal: str = "mx23694") -> Session:
    return Session(system.app, system.views, Principal("acct-ada", "ada", frozenset({"member"}), frozenset({proposal})))


def _layout(system: System, shipment_id) -> list[tuple]:
    app = system.app
    out = []
    for dewar_id in app.shipment(shipment_id).dewars:
        dewar = app.repository.get(UUID(dewar_id))
        for container_id in dewar.contents:
            box = app.repository.get(UUID(container_id))
            for position, sample_id in sorted(box.samples.items()):
                sample = app.repository.get(UUID(sample_id))
                out.append((dewar.barcode, box.barcode, position, sample.name, sample.attributes))
    return out


def test_copying_a_shipment_still_being_packed_gives_its_pucks_new_barcodes(system: System) -> None:
    source, dewar = packed_dewar(system, samples=2)
    system.app.add_sample("CPS-0001", "5", "mx-crystal", "thau_5", {"protein_acronym": "thau", "space_group": "P41212"},
                          USER)
    before = _layout(system, source)
    new_id, notes = _member(system).copy_shipment_layout(source, "Run 2")
    copied = _layout(system, new_id)
    new_dewar = copied[0][0]
    assert new_dewar != dewar and new_dewar.startswith("mx23694-1-i03-")
    assert [row[1:] for row in copied] == [
        ("CPS-0001-2", "1", "lyso_1", {"protein_acronym": "lyso"}),
        ("CPS-0001-2", "2", "lyso_2", {"protein_acronym": "lyso"}),
        ("CPS-0001-2", "5", "thau_5", {"protein_acronym": "thau", "space_group": "P41212"})]
    assert notes == ["container CPS-0001 is still packed for another trip: its copy is CPS-0001-2; a placeholder: "
                     "if you send another puck, remove it and add yours"]
    assert _layout(system, source) == before
    assert system.app.shipment(new_id).name == "Run 2" and system.app.shipment(new_id).workflow == "registered"


def test_a_puck_back_from_its_trip_travels_again_under_its_own_barcode_with_copies_of_its_samples(system: System) -> None:
    source, _ = packed_dewar(system, samples=2)
    system.app.cancel_shipment(source, USER)
    old_samples = dict(system.app.container("CPS-0001").samples)
    new_id, notes = _member(system).copy_shipment_layout(source, "Run 2")
    assert notes == []
    assert [row[1:4] for row in _layout(system, new_id)] == [("CPS-0001", "1", "lyso_1"), ("CPS-0001", "2", "lyso_2")]
    box = system.app.container("CPS-0001")
    assert set(box.samples.values()).isdisjoint(old_samples.values())  # new samples, the old ones left the puck
    assert all(system.app.repository.get(UUID(s)).removed for s in old_samples.values())


def test_a_member_of_another_proposal_cannot_copy_it_and_a_taken_name_changes_nothing(system: System) -> None:
    source, _ = packed_dewar(system, samples=1)
    events = event_count(system)
    with pytest.raises(NotFound):
        _member(system, "mx31020").copy_shipment_layout(source, "Mine now")
    with pytest.raises(Exception) as taken:
        _member(system).copy_shipment_layout(source, "Run 1")
    assert "already registered" in str(taken.value)
    assert event_count(system) == events
