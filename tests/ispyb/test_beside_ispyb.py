"""The tracker beside a facility's ISPyB (MariaDB, the real schema from Diamond's ispyb package):
what SynchWeb and MXCuBE read there, and what the beamline software writes back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from logistics.adapters.fixture_files import load_demo
from logistics.adapters.ispyb.schema import ispyb_engine
from logistics.domain.by import By
from logistics.entrypoints.demo import load_demo as run_demo
from logistics.entrypoints.ispyb_cli import open_sync
from tests.ispyb.support import (DEWAR_HISTORY, MXCUBE_SAMPLES, SYNCHWEB_DEWARS, SYNCHWEB_SHIPMENTS, add_every_proposal,
                                 add_proposal, add_visit, rows)

USER, STORES, BEAMLINE = By("account:ada", "web"), By("account:stores", "stores-desk"), By("account:beamline", "i03")


@pytest.fixture
def beside(system: Any, ispyb_url: str) -> Any:
    sync = open_sync(system, ispyb_url)
    yield sync
    sync.close()


def test_synchweb_and_mxcube_show_the_demo_shipments_dewars_pucks_and_samples_with_their_statuses(system, beside):
    run_demo(system.app, load_demo(), lambda n: None, accounts=system.accounts)
    add_every_proposal(system, beside.engine)

    done = beside.run_once()

    assert done.waiting == 0 and done.applied > 0
    shipments = {r["shippingname"]: r for r in rows(beside.engine, SYNCHWEB_SHIPMENTS, code="mx", number="23694")}
    assert {name: r["shippingstatus"] for name, r in shipments.items()} == {
        "Efflux pumps run 0": "returned", "Efflux pumps run 1": "processing",
        "Efflux pumps run 2": "dispatch-requested", "Efflux pumps run 3 (draft)": "opened"}
    assert shipments["Efflux pumps run 1"]["visit"] == "mx23694-1"
    assert shipments["Efflux pumps run 1"]["processing"] == 1 and shipments["Efflux pumps run 1"]["pcount"] == 2
    [dewar] = rows(beside.engine, SYNCHWEB_DEWARS, name="Efflux pumps run 1")
    assert (dewar["dewarstatus"], dewar["storagelocation"], dewar["containers"], dewar["firstexperiment"]) == (
        "processing", "i03", "CPS-1001, CPS-1002", "mx23694-1")
    assert dewar["trackingnumbertosynchrotron"] == "1234567891"
    history = [(h["dewarstatus"], h["storagelocation"]) for h in rows(beside.engine, DEWAR_HISTORY, code=dewar["code"])]
    assert history[0] == ("opened", "off-site") and ("sent to facility", "off-site") in history
    assert any(status == "at facility" and where.startswith("loc-") for status, where in history)
    [returned] = rows(beside.engine, SYNCHWEB_DEWARS, name="Efflux pumps run 0")
    assert (returned["facilitycode"], returned["dewarstatus"], returned["storagelocation"]) == ("DLS-MX-0002", "returned", "off-site")

    samples = rows(beside.engine, MXCUBE_SAMPLES, beamline="i03")
    assert {(s["containercode"], s["samplechangerlocation"]) for s in samples} == {("CPS-1001", "5"), ("CPS-1002", "6")}
    assert samples[0]["samplename"] == "acrb_01" and samples[0]["samplelocation"] == "1"
    assert {s["proteinacronym"] for s in samples} <= {"lyso", "tolc"} and all(s["diffractionplanid"] for s in samples)
    assert rows(beside.engine, MXCUBE_SAMPLES, beamline="i04") == []  # nothing of anyone's is loaded there

    # non-MX samples: the columns ISPyB has, the rest of the kind's attributes as JSON (fixtures/ispyb.json)
    grids = rows(beside.engine, "SELECT b.name, b.volume, p.acronym, d.scanParameters FROM BLSample b "
                                "JOIN Container c ON c.containerId = b.containerId LEFT JOIN Crystal x ON x.crystalId = b.crystalId "
                                "LEFT JOIN Protein p ON p.proteinId = x.proteinId "
                                "JOIN DiffractionPlan d ON d.diffractionPlanId = b.diffractionPlanId "
                                "WHERE b.name IN ('glt_01', 'hepes150', 'sio2_glass') ORDER BY b.name")
    assert [(g["name"], g["acronym"], json.loads(g["scanParameters"])) for g in grids] == [
        ("glt_01", "GltPh", {"grid_type": "Quantifoil R1.2/1.3"}),
        ("hepes150", None, {"composition": "20 mM HEPES pH 7.5, 150 mM NaCl"}),
        ("sio2_glass", None, {"formula": "SiO2"})]
    assert grids[1]["volume"] == 80

    again = beside.run_once()
    assert (again.applied, again.read_back) == (0, 0)  # nothing new: and our own loads do not come back


def _shipment_with_a_puck(system: Any, visit: int = 1) -> tuple[Any, str]:
    app = system.app
    app.register_proposal("mx40001", "Round trips", STORES)
    shipment = app.create_shipment("mx40001", "Round trip 1", USER)
    dewar = app.add_mail_in_dewar(shipment, visit, "i03", USER)
    app.add_container("RT-PUCK-1", "unipuck", dewar, USER)
    app.add_sample("RT-PUCK-1", "1", "mx-crystal", "thaumatin_1", {"protein_acronym": "thau", "space_group": "P41212"}, USER)
    return shipment, dewar


def _status(engine: Any, dewar: str) -> tuple[str, str, str, str | None]:
    [r] = rows(engine, "SELECT s.shippingStatus, d.dewarStatus, d.storageLocation, c.containerStatus FROM Dewar d "
                       "JOIN Shipping s ON s.shippingId = d.shippingId LEFT JOIN Container c ON c.dewarId = d.dewarId "
                       "WHERE d.barCode = :b", b=dewar)
    return r["shippingStatus"], r["dewarStatus"], r["storageLocation"], r["containerStatus"]


def test_a_mail_in_round_trip_appears_in_ispyb_step_by_step_with_consistent_statuses(system, beside):
    add_proposal(beside.engine, "mx40001")
    shipment, dewar = _shipment_with_a_puck(system)
    app = system.app
    steps = [
        (lambda: None, ("opened", "opened", "off-site", "opened")),
        (lambda: (app.set_courier(shipment, "dhl", "1234567891", USER), app.mark_sent(shipment, USER)),
         ("sent to facility", "sent to facility", "off-site", "sent to facility")),
        (lambda: app.scan_dewar(dewar, "loc-stores-a1", STORES), ("at facility", "at facility", "loc-stores-a1", "at facility")),
        (lambda: app.load("RT-PUCK-1", "i03", "7", BEAMLINE), ("processing", "processing", "loc-stores-a1", "processing")),
        (lambda: app.unload("RT-PUCK-1", BEAMLINE), ("at facility", "at facility", "loc-stores-a1", "at facility")),
        (lambda: app.request_dispatch(dewar, USER), ("dispatch-requested", "dispatch-requested", "loc-stores-a1", "at facility")),
        (lambda: app.book_dispatch(dewar, "dhl", "9876543213", STORES), ("dispatch-booked", "dispatch-booked", "loc-stores-a1", "at facility")),
        (lambda: app.scan_out(dewar, STORES), ("dispatched", "dispatched", "off-site", "dispatched")),
        (lambda: app.mark_returned(dewar, STORES), ("returned", "returned", "off-site", "returned")),
    ]
    for step, expected in steps:
        step()
        assert beside.run_once().waiting == 0
        assert _status(beside.engine, dewar) == expected
    history = rows(beside.engine, "SELECT h.status, h.location, h.beamlineName FROM ContainerHistory h JOIN Container c "
                                  "ON c.containerId = h.containerId WHERE c.barcode = 'RT-PUCK-1' ORDER BY h.containerHistoryId")
    assert [(h["status"], h["location"], h["beamlineName"]) for h in history] == [
        ("processing", "7", "i03"), ("at facility", "7", "i03")]
    [sample] = rows(beside.engine, "SELECT b.name, b.location, c.spaceGroup, p.acronym FROM BLSample b JOIN Crystal c "
                                   "ON c.crystalId = b.crystalId JOIN Protein p ON p.proteinId = c.proteinId")
    assert sample == {"name": "thaumatin_1", "location": "1", "spaceGroup": "P41212", "acronym": "thau"}
    counts = rows(beside.engine, "SELECT (SELECT COUNT(*) FROM Shipping) s, (SELECT COUNT(*) FROM Dewar) d, "
                                 "(SELECT COUNT(*) FROM Container) c, (SELECT COUNT(*) FROM BLSample) b, "
                                 "(SELECT COUNT(*) FROM ContainerRegistry) r")
    assert counts == [{"s": 1, "d": 1, "c": 1, "b": 1, "r": 1}]


def test_a_shipment_for_a_visit_ispyb_does_not_have_yet_waits_in_the_pending_list_then_syncs(system, beside, ispyb_url):
    from click.testing import CliRunner
    from logistics.entrypoints.cli import cli

    proposal_id = add_proposal(beside.engine, "mx40001", visits=[1])
    shipment, dewar = _shipment_with_a_puck(system, visit=2)

    assert beside.run_once().waiting == 3  # the dewar, its puck and its sample
    url = system.database.url.render_as_string(hide_password=False)
    listing = CliRunner().invoke(cli, ["--database", url, "ispyb", "pending"])
    assert f"dewar     {dewar:<32} visit mx40001-2 is not in ISPyB" in listing.output
    assert "container RT-PUCK-1" in listing.output and "waits for its dewar" in listing.output
    assert rows(beside.engine, "SELECT COUNT(*) n FROM Dewar") == [{"n": 0}]
    assert [r["shippingStatus"] for r in rows(beside.engine, "SELECT shippingStatus FROM Shipping")] == ["opened"]

    with beside.engine.begin() as conn:
        add_visit(conn, proposal_id, 2)
    assert beside.run_once().waiting == 0
    assert _status(beside.engine, dewar) == ("opened", "opened", "off-site", "opened")
    assert rows(beside.engine, "SELECT COUNT(*) n FROM BLSample WHERE containerId IS NOT NULL") == [{"n": 1}]
    assert "WAITING FOR ISPYB: 0" in CliRunner().invoke(cli, ["--database", url, "ispyb", "pending"]).output


def _at_the_facility(system: Any, beside: Any) -> str:
    add_proposal(beside.engine, "mx40001")
    shipment, dewar = _shipment_with_a_puck(system)
    system.app.mark_sent(shipment, USER)
    system.app.scan_dewar(dewar, "loc-stores-a1", STORES)
    beside.run_once()
    return dewar


def _beamline_assigns(engine: Any, barcode: str, beamline: str, position: str) -> None:
    """What ISPyB's update_container_assign procedure does when GDA or MXCuBE loads a puck."""
    with engine.begin() as conn:
        container = conn.execute(text("SELECT containerId FROM Container WHERE barcode = :b"), {"b": barcode}).scalar()
        conn.execute(text("UPDATE Container SET sampleChangerLocation = :p, beamlineLocation = :bl, "
                          "containerStatus = 'processing' WHERE containerId = :c"), {"p": position, "bl": beamline, "c": container})
        conn.execute(text("INSERT INTO ContainerHistory (containerId, location, status, beamlineName) "
                          "VALUES (:c, :p, 'processing', :bl)"), {"c": container, "p": position, "bl": beamline})


def test_a_load_recorded_in_ispyb_by_the_beamline_software_becomes_our_event_once(system, beside):
    _at_the_facility(system, beside)
    _beamline_assigns(beside.engine, "RT-PUCK-1", "i03", "12")

    assert beside.run_once().read_back == 1
    [loaded] = [e for e in system.app.history(system.app.resolve("RT-PUCK-1")[1]) if e["event"] == "Loaded"]
    assert (loaded["actor"], loaded["station"], loaded["data"]["position"]) == ("ispyb:i03", "i03", "12")
    assert system.views.where("RT-PUCK-1")["where"]["text"].startswith("i03")

    quiet = beside.run_once()
    assert (quiet.read_back, quiet.applied > 0) == (0, True)  # our event projected: it comes back as nothing
    assert beside.run_once().read_back == 0
    history = rows(beside.engine, "SELECT status, location FROM ContainerHistory")
    assert history == [{"status": "processing", "location": "12"}]  # the beamline's row alone: no echo


def test_a_load_in_ispyb_that_contradicts_our_sample_changer_is_a_problem_for_staff_not_applied(system, beside):
    from click.testing import CliRunner
    from logistics.entrypoints.cli import cli

    dewar = _at_the_facility(system, beside)
    system.app.load("RT-PUCK-1", "i03", "3", BEAMLINE)
    beside.run_once()
    _beamline_assigns(beside.engine, "RT-PUCK-1", "i03", "9")

    assert beside.run_once().read_back == 0
    assert system.views.where("RT-PUCK-1")["where"]["text"].startswith("i03")
    loads = [e for e in system.app.history(system.app.resolve("RT-PUCK-1")[1]) if e["event"] == "Loaded"]
    assert [e["data"]["position"] for e in loads] == ["3"]
    url = system.database.url.render_as_string(hide_password=False)
    listing = CliRunner().invoke(cli, ["--database", url, "ispyb", "pending"]).output
    assert ("i03 says container RT-PUCK-1 was loaded in position 9, but it is in i03 position 3 here: not applied; "
            "check the sample changer") in listing
    assert beside.run_once().read_back == 0
    assert CliRunner().invoke(cli, ["--database", url, "ispyb", "pending"]).output.count("RT-PUCK-1") == 1
