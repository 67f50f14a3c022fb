"""The sample-changer map through the Session: staff see every position whole (puck, proposal,
visit, pins, when and by whom it was loaded); a proposal member sees their own pucks whole and
another proposal's only as "occupied"."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import delete

from logistics.adapters.read_model import loads
from logistics.service_layer.access import Principal
from logistics.service_layer.session import Session
from tests.helpers import BEAMLINE, at_facility


def _session(system, roles: set[str], proposals: set[str] = frozenset()) -> Session:
    return Session(system.app, system.views, Principal("x", "x", frozenset(roles), frozenset(proposals)))


def _two_proposals_loaded(system) -> None:
    """mx23694's CPS-0001 in i03 position 3, mx11111's CPS-0002 in position 5."""
    for code, puck, position in (("mx23694", "CPS-0001", "3"), ("mx11111", "CPS-0002", "5")):
        _, dewar = at_facility(system, code=code, puck=puck, name=f"Run of {code}")
        system.app.take_to_instrument(dewar, "i03", BEAMLINE)
        system.app.load(puck, "i03", position, BEAMLINE)


def _position(changer, position: str):
    return next(p for p in changer["positions"] if p["position"] == position)


def test_beamline_staff_see_the_puck_its_proposal_visit_pins_and_load_time(system) -> None:
    before = datetime.now(timezone.utc)
    _two_proposals_loaded(system)

    changer = _session(system, {"beamline"}).changer_map("I03", accounts=lambda ids: {})

    assert changer["instrument"] == "i03"
    three = _position(changer, "3")
    assert three["container"]["barcode"] == "CPS-0001"
    assert three["container"]["proposal"] == "mx23694"
    assert three["visit"] == "mx23694-1"
    assert [(s["position"], s["name"]) for s in three["samples"]] == [("1", "lyso_1"), ("2", "lyso_2"), ("3", "lyso_3")]
    assert before <= three["loaded_at"] <= datetime.now(timezone.utc) + timedelta(seconds=1)
    assert three["loaded_by"] == "beamline:bea"
    assert _position(changer, "5")["container"]["proposal"] == "mx11111"
    assert [p["position"] for p in changer["positions"] if p["occupied"]] == ["3", "5"]


def test_a_member_of_another_proposal_sees_only_that_a_position_is_occupied(system) -> None:
    _two_proposals_loaded(system)

    changer = _session(system, {"member"}, {"mx11111"}).changer_map("i03", accounts=lambda ids: {})

    theirs = _position(changer, "3")
    assert theirs == {"position": "3", "accepts": ["unipuck"], "occupied": True, "container": None, "samples": [],
                      "visit": None, "loaded_at": None, "loaded_by": None, "loaded_station": None}
    own = _position(changer, "5")
    assert own["container"]["barcode"] == "CPS-0002"
    assert own["visit"] == "mx11111-1"
    assert [s["name"] for s in own["samples"]] == ["lyso_1", "lyso_2", "lyso_3"]
    assert own["loaded_at"] is not None
    assert own["loaded_by"] == "beamline:bea"


def test_a_puck_loaded_before_the_read_model_kept_load_times_shows_its_load_time_from_its_history(system) -> None:
    _two_proposals_loaded(system)
    loaded_at = _position(_session(system, {"beamline"}).changer_map("i03"), "3")["loaded_at"]
    with system.views.engine.begin() as conn:  # as a read model made before rm_loads: no rows
        conn.execute(delete(loads))

    again = _position(_session(system, {"beamline"}).changer_map("i03"), "3")

    assert again["loaded_at"] == loaded_at
