"""Where, workflow and conditions are separate facets; the rules between them hold."""

from __future__ import annotations

import pytest

from logistics.domain.errors import NotPermitted
from tests.helpers import BEAMLINE, STORES, USER, at_facility, event_count, packed_dewar


def test_a_shipment_cannot_be_marked_sent_once_the_facility_has_received_it(system):
    app = system.app
    shipment, barcode = packed_dewar(system)
    app.scan_dewar(barcode, "loc-goods-in", STORES)  # arrived before the user clicked "sent"
    before = event_count(system)
    with pytest.raises(NotPermitted, match="received"):
        app.mark_sent(shipment, USER)
    assert event_count(system) == before


def test_a_shipment_cannot_be_marked_sent_while_its_dewar_is_in_use_on_an_instrument(system):
    app = system.app
    shipment, barcode = packed_dewar(system)
    app.scan_dewar(barcode, "loc-goods-in", STORES)
    app.take_to_instrument(barcode, "i03", BEAMLINE)
    with pytest.raises(NotPermitted, match="now in use"):
        app.mark_sent(shipment, USER)


def test_a_dewar_cannot_be_booked_or_scanned_out_while_one_of_its_pucks_is_in_a_sample_changer(system):
    app = system.app
    _, barcode = at_facility(system)
    app.load("CPS-0001", "i03", "1", BEAMLINE)
    app.request_dispatch(barcode, USER)
    before = event_count(system)
    with pytest.raises(NotPermitted, match="sample changer at i03/1"):
        app.book_dispatch(barcode, "dhl", "1234567891", STORES)
    assert event_count(system) == before
    app.unload("CPS-0001", BEAMLINE)
    app.book_dispatch(barcode, "dhl", "1234567891", STORES)
    app.scan_out(barcode, STORES)
    assert system.views.where(barcode)["workflow"] == "dispatched"


def test_a_scan_never_erases_a_dispatch_request(system):
    app = system.app
    _, barcode = at_facility(system)
    app.request_dispatch(barcode, USER)
    app.move_dewar(barcode, "loc-stores-a2", STORES)
    app.scan_dewar(barcode, "loc-ln2-fill", STORES)
    app.top_up(barcode, STORES, 12.5)
    app.take_to_instrument(barcode, "i03", BEAMLINE)
    app.hand_back(barcode, "loc-dispatch", BEAMLINE)
    where = system.views.where(barcode)
    assert where["workflow"] == "dispatch-requested"
    assert where["where"]["code"] == "loc-dispatch"


def test_unloading_a_puck_never_erases_a_dispatch_request(system):
    app = system.app
    _, barcode = at_facility(system)
    app.load("CPS-0001", "i03", "3", BEAMLINE)
    app.request_dispatch(barcode, USER)
    app.unload("CPS-0001", BEAMLINE)
    assert system.views.where(barcode)["workflow"] == "dispatch-requested"


def test_a_scanner_that_fires_twice_records_the_scan_once(system):
    app = system.app
    _, barcode = at_facility(system)
    before = event_count(system)
    second = app.scan_dewar(barcode, "loc-goods-in", STORES)
    assert second["changed"] is False
    assert event_count(system) == before
    app.move_dewar(barcode, "loc-stores-a1", STORES)
    app.move_dewar(barcode, "loc-stores-a1", STORES)
    moves = [e for e in app.history(app.resolve(barcode)[1]) if e["event"] == "Moved"]
    assert len(moves) == 1


def test_a_container_is_where_its_dewar_is_unless_it_is_loaded(system):
    app, views = system.app, system.views
    _, barcode = at_facility(system)
    assert views.where("CPS-0001")["where"]["code"] == "loc-goods-in"
    app.move_dewar(barcode, "loc-stores-b1", STORES)
    assert views.where("CPS-0001")["where"]["code"] == "loc-stores-b1"
    app.load("CPS-0001", "i03", "12", BEAMLINE)
    app.move_dewar(barcode, "loc-stores-a1", STORES)
    assert views.where("CPS-0001")["where"] == {"kind": "sample-changer", "code": "i03", "position": "12",
                                                "text": "i03 sample changer position 12"}
    app.unload("CPS-0001", BEAMLINE)
    assert views.where("CPS-0001")["where"]["code"] == "loc-stores-a1"


def test_contents_change_only_before_the_dewar_is_sent(system):
    app = system.app
    shipment, barcode = packed_dewar(system)
    app.mark_sent(shipment, USER)
    before = event_count(system)
    with pytest.raises(NotPermitted, match="before it is sent"):
        app.add_container("CPS-0002", "unipuck", barcode, USER)
    with pytest.raises(NotPermitted, match="before it is sent"):
        app.add_sample("CPS-0001", "9", "mx-crystal", "late", {"protein_acronym": "lyso"}, USER)
    with pytest.raises(NotPermitted):
        app.remove_container("CPS-0001", USER)
    assert event_count(system) == before


def test_a_dewar_must_be_booked_before_it_is_scanned_out_and_be_in_stores(system):
    app = system.app
    _, barcode = at_facility(system)
    with pytest.raises(NotPermitted, match="book the dispatch first"):
        app.scan_out(barcode, STORES)
    app.request_dispatch(barcode, USER)
    app.book_dispatch(barcode, "fedex", "974367662710", STORES)
    app.take_to_instrument(barcode, "i03", BEAMLINE)
    with pytest.raises(NotPermitted, match="hand it back to stores first"):
        app.scan_out(barcode, STORES)


def test_a_puck_only_goes_where_its_type_allows(system):
    app = system.app
    _, barcode = at_facility(system)
    with pytest.raises(NotPermitted, match="takes autoloader-cassette"):
        app.load("CPS-0001", "m02", "1", BEAMLINE)
    app.load("CPS-0001", "i03", "1", BEAMLINE)
    _, other = at_facility(system, code="mx31020", puck="CPS-0002", name="Other")
    with pytest.raises(NotPermitted, match="position 1 is taken"):
        app.load("CPS-0002", "i03", "1", BEAMLINE)


def test_conditions_are_recorded_without_touching_where_or_workflow(system):
    app, views = system.app, system.views
    _, barcode = at_facility(system)
    before = views.where(barcode)
    app.top_up(barcode, STORES, 10)
    app.check_contents(barcode, False, "one pin missing from position 4", STORES)
    app.report_damage(barcode, "outer case dented", STORES)
    after = views.where(barcode)
    assert (after["where"], after["workflow"]) == (before["where"], before["workflow"])
    events = [e["event"] for e in app.history(app.resolve(barcode)[1])][-3:]
    assert events == ["ToppedUp", "ContentsChecked", "DamageReported"]


def test_a_facility_dewar_is_reused_trip_after_trip(system):
    app = system.app
    from tests.helpers import ADMIN, proposal_with_contact
    app.register_facility_dewar("DLS-MX-0007", ADMIN)
    contact = proposal_with_contact(system)
    first = app.create_shipment("mx23694", "Trip A", USER, sending_contact=contact)
    app.add_facility_dewar(first, "dls-mx-0007", USER)
    second = app.create_shipment("mx23694", "Trip B", USER, sending_contact=contact)
    with pytest.raises(NotPermitted, match="it is on another trip"):
        app.add_facility_dewar(second, "DLS-MX-0007", USER)
    app.add_container("CPS-0100", "unipuck", "DLS-MX-0007", USER)
    app.mark_sent(first, USER)
    app.scan_dewar("DLS-MX-0007", "loc-goods-in", STORES)
    app.request_dispatch("DLS-MX-0007", USER)
    app.book_dispatch("DLS-MX-0007", "dhl", "1234567891", STORES)
    app.scan_out("DLS-MX-0007", STORES)
    app.mark_returned("DLS-MX-0007", STORES)
    app.add_facility_dewar(second, "DLS-MX-0007", USER)
    app.add_container("CPS-0100", "unipuck", "DLS-MX-0007", USER)  # the same puck, next trip
    dewar = app.dewar("DLS-MX-0007")
    assert (dewar.workflow, str(dewar.shipment_id)) == ("registered", str(second))


def test_a_dewars_where_is_recorded_as_kind_and_code_only_not_in_words(system):
    """The words ('storage loc-goods-in') are for readers; events keep the facet itself, so a change
    of wording never changes what history holds (a name clash once put the words into the facet)."""
    from tests.helpers import at_facility
    _shipment, barcode = at_facility(system)
    dewar = system.app.repository.get(system.app.resolve(barcode)[1])
    assert dewar.where == {"kind": "storage", "code": "loc-goods-in"}
    assert system.views.where(barcode)["where"] == {"kind": "storage", "code": "loc-goods-in",
                                                     "text": "storage loc-goods-in"}
