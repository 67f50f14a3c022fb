"""Bad input gets an error that names what was wrong and what is accepted, and changes nothing."""

from __future__ import annotations

import pytest

from logistics.domain.errors import (AlreadyExists, InvalidBarcode, InvalidValue, NotFound, NotPermitted,
                                     UnknownBarcode)
from tests.helpers import BEAMLINE, STORES, USER, at_facility, event_count, packed_dewar

CASES = [
    # (what the user did, the command, the error, words the message must contain)
    ("scan at an unknown location", lambda app, s, b: app.scan_dewar(b, "loc-nowhere", STORES), InvalidValue,
     ["loc-nowhere", "not registered"]),
    ("scan at a malformed location", lambda app, s, b: app.scan_dewar(b, "shelf 3", STORES), InvalidValue,
     ["shelf 3", "loc-"]),
    ("scan an unknown barcode", lambda app, s, b: app.scan_dewar("XYZ-123", "loc-goods-in", STORES), UnknownBarcode,
     ["XYZ-123"]),
    ("scan a mistyped barcode", lambda app, s, b: app.scan_dewar(b[:-1] + ("a" if b[-1] != "a" else "b"), "loc-goods-in", STORES),
     InvalidBarcode, ["check character"]),
    ("scan a container's barcode as a dewar", lambda app, s, b: app.scan_dewar("CPS-0001", "loc-goods-in", STORES),
     InvalidValue, ["CPS-0001", "not a dewar"]),
    ("book with a bad tracking number", lambda app, s, b: app.book_dispatch(b, "dhl", "12345", STORES), InvalidValue,
     ["12345", "10-digit"]),
    ("book with an unknown courier", lambda app, s, b: app.book_dispatch(b, "pigeon", "1", STORES), InvalidValue,
     ["pigeon", "dhl, fedex, ups, other"]),
    ("book before the user asked for it back", lambda app, s, b: app.book_dispatch(b, "dhl", "1234567891", STORES),
     NotPermitted, ["cannot be booked", "request it back"]),
    ("load into a position that does not exist", lambda app, s, b: app.load("CPS-0001", "i03", "38", BEAMLINE),
     InvalidValue, ["38", "1 to 37"]),
    ("load at an unknown instrument", lambda app, s, b: app.load("CPS-0001", "x99", "1", BEAMLINE), InvalidValue,
     ["x99", "i03"]),
    ("unload a puck that is not loaded", lambda app, s, b: app.unload("CPS-0001", BEAMLINE), NotPermitted,
     ["CPS-0001", "not in a sample changer"]),
    ("add a sample of an unknown kind", lambda app, s, b: app.add_sample("CPS-0001", "5", "unobtainium", "x", {}, USER),
     InvalidValue, ["unobtainium", "mx-crystal"]),
    ("add a sample whose attributes break its schema",
     lambda app, s, b: app.add_sample("CPS-0001", "5", "mx-crystal", "x", {"protein_acronym": "has spaces!"}, USER),
     InvalidValue, ["protein_acronym", "has spaces!"]),
    ("register a facility dewar with a bad code", lambda app, s, b: app.register_facility_dewar("DLS-XX-1", USER),
     InvalidBarcode, ["DLS-XX-1", "DLS-(MX|IN|CY|BI|EM)"]),
    ("report damage with no description", lambda app, s, b: app.report_damage(b, "   ", STORES), InvalidValue,
     ["damage description"]),
    ("top up an impossible volume", lambda app, s, b: app.top_up(b, STORES, -3), InvalidValue, ["-3", "litres"]),
    ("create a shipment with a bad safety level",
     lambda app, s, b: app.create_shipment("mx23694", "X", USER, safety="purple"), InvalidValue,
     ["purple", "green, yellow, red"]),
    ("create a shipment for an unknown proposal",
     lambda app, s, b: app.create_shipment("zz99999", "X", USER), NotFound, ["zz99999"]),
    ("create a shipment with someone else's lab contact",
     lambda app, s, b: app.create_shipment("mx23694", "X", USER, sending_contact="not-a-contact"), InvalidValue,
     ["not-a-contact"]),
    ("register a proposal twice", lambda app, s, b: app.register_proposal("mx23694", "again", USER), AlreadyExists,
     ["mx23694"]),
    ("mark a shipment sent again once it arrived", lambda app, s, b: app.mark_sent(s, USER), NotPermitted, ["already sent and is now received"]),
    ("cancel a shipment that arrived", lambda app, s, b: app.cancel_shipment(s, USER), NotPermitted, ["already sent and is now received"]),
    ("take a dewar to an unknown instrument", lambda app, s, b: app.take_to_instrument(b, "q42", BEAMLINE), InvalidValue,
     ["q42"]),
]


@pytest.mark.parametrize("what, command, error, words", CASES, ids=[c[0] for c in CASES])
def test_every_refused_command_says_why_and_changes_nothing(system, what, command, error, words):
    shipment, barcode = at_facility(system)
    before_events = event_count(system)
    before_rows = system.projection.dump()
    with pytest.raises(error) as refused:
        command(system.app, shipment, barcode)
    for word in words:
        assert word in refused.value.message, (what, refused.value.message)
    assert event_count(system) == before_events
    assert system.projection.dump() == before_rows


def test_a_sample_cannot_take_an_occupied_position_or_a_wrong_container(system):
    app = system.app
    _, barcode = packed_dewar(system, samples=2)
    before = event_count(system)
    with pytest.raises(NotPermitted, match=r"position 1 of container CPS-0001 is taken; choose a free position \(taken: 1, 2\)"):
        app.add_sample("CPS-0001", "1", "mx-crystal", "x", {"protein_acronym": "x"}, USER)
    with pytest.raises(InvalidValue, match="position '17' does not exist in a Unipuck: expected 1 to 16"):
        app.add_sample("CPS-0001", "17", "mx-crystal", "x", {"protein_acronym": "x"}, USER)
    with pytest.raises(NotPermitted, match="does not go into a Unipuck"):
        app.add_sample("CPS-0001", "3", "cryoem-grid", "g", {"protein_acronym": "x", "grid_type": "Quantifoil R1.2/1.3"}, USER)
    with pytest.raises(NotPermitted, match="does not go into a dewar"):
        app.add_container("RACK-1", "capillary-rack", barcode, USER)
    assert event_count(system) == before
