"""Repacking a puck before sending is one `Moved` event in its history, saying where it was and
where it went; histories recorded before that (an Unpacked, then a Packed) still read right."""

from __future__ import annotations

from uuid import UUID

import pytest

from logistics.domain import packing
from logistics.domain.errors import NotPermitted
from logistics.service_layer.access import Principal
from logistics.service_layer.session import Session
from tests.helpers import USER, event_count, packed_dewar


def _told(system, kind: str, barcode: str) -> list[str]:
    session = Session(system.app, system.views, Principal("acct-staff", "bea", frozenset({"beamline"})))
    _kind, entity_id, _ = session.resolve(barcode)
    return [e["sentence"] for e in session.told_history(kind, entity_id)]


def _events(system, barcode: str) -> list[dict]:
    return system.app.history(system.app.resolve(barcode)[1])


def test_a_user_moving_a_puck_to_the_other_dewar_of_the_shipment_records_one_move(system):
    app = system.app
    shipment, first = packed_dewar(system)
    second = app.add_mail_in_dewar(shipment, 1, "i04", USER)

    app.move_container("CPS-0001", second, USER)

    puck = _events(system, "CPS-0001")
    assert [e["event"] for e in puck][-1] == "Moved"
    assert "Unpacked" not in [e["event"] for e in puck]
    moved = puck[-1]
    first_id, second_id = (str(app.resolve(b)[1]) for b in (first, second))
    assert moved["data"]["from_parent"] == {"kind": "dewar", "id": first_id}
    assert moved["data"]["parent"] == {"kind": "dewar", "id": second_id}
    assert (moved["actor"], moved["station"]) == (USER.actor, USER.station)
    assert [e["event"] for e in _events(system, first)][-1] == "ContainerUnpacked"
    assert [e["event"] for e in _events(system, second)][-1] == "ContainerPacked"
    assert system.views.where("CPS-0001")["dewar"] == second
    assert f"Moved unipuck CPS-0001 from dewar {first} to dewar {second}" in _told(system, "container", "CPS-0001")


def test_a_puck_moved_into_a_cane_in_the_same_dewar_is_one_move_for_the_puck_and_for_the_dewar(system):
    app = system.app
    _shipment, dewar = packed_dewar(system)
    app.add_container("CANE-0001", "cane", dewar, USER)

    app.move_container("CPS-0001", dewar, USER, parent="CANE-0001", position="2")

    assert [e["event"] for e in _events(system, "CPS-0001")][-1] == "Moved"
    dewar_events = [e["event"] for e in _events(system, dewar)]
    assert dewar_events[-1] == "ContainerMoved" and dewar_events.count("ContainerUnpacked") == 0
    assert f"Moved unipuck CPS-0001 from dewar {dewar} to cane CANE-0001 at position 2" in _told(
        system, "container", "CPS-0001")
    assert f"Moved unipuck CPS-0001 within dewar {dewar}, to position 2" in _told(system, "dewar", dewar)
    where = system.views.where("CPS-0001")
    assert where["dewar"] == dewar and where["position"] == "2"


def test_a_move_that_breaks_a_packing_rule_is_refused_and_records_nothing(system):
    app = system.app
    _shipment, dewar = packed_dewar(system)
    app.add_container("CANE-0001", "cane", dewar, USER)
    app.move_container("CPS-0001", dewar, USER, parent="CANE-0001", position="2")
    app.add_container("CPS-0002", "unipuck", dewar, USER)
    before = event_count(system)

    with pytest.raises(NotPermitted, match="position 2 of container CANE-0001 is taken"):
        app.move_container("CPS-0002", dewar, USER, parent="CANE-0001", position="2")

    assert event_count(system) == before
    assert system.views.where("CPS-0002")["position"] is None


def test_an_older_history_with_unpacked_then_packed_still_reads_as_where_the_puck_went(system):
    app = system.app
    shipment, first = packed_dewar(system)
    second = app.add_mail_in_dewar(shipment, 1, "i04", USER)
    # A move as it was recorded before Moved existed: the pair, in one save.
    puck = app.container("CPS-0001")
    old, new = app.dewar(first), app.dewar(second)
    packing.unpack_container(puck, old, None, USER)
    packing.pack_container(puck, app.catalogue.container_type("unipuck"), new, None, None, None, USER)
    app.save(puck, old, new)
    app.on_recorded(app.recorder.max_notification_id())

    assert [e["event"] for e in _events(system, "CPS-0001")][-2:] == ["Unpacked", "Packed"]
    assert app.container("CPS-0001").dewar_id == str(new.id)
    assert system.views.where("CPS-0001")["dewar"] == second
    told = _told(system, "container", "CPS-0001")
    assert told[-2:] == ["Unpacked unipuck CPS-0001", f"Packed unipuck CPS-0001 into dewar {second}"]
    system.projection.rebuild()
    assert system.views.where("CPS-0001")["dewar"] == second
    assert UUID(system.views.dewar(second)["id"]) == new.id
