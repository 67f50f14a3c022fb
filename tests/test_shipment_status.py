"""A shipment's status follows its dewars: users and the stores desk ask "has my shipment
arrived, is it all back?" of the shipment, and the answer comes from the shipment's own events,
each with the actor and time of the dewar event that caused it (docs/domain.md)."""

from __future__ import annotations

import json

from tests.helpers import BEAMLINE, STORES, USER, packed_dewar
from tests.test_cli import logistics, ok


def _two_dewar_shipment(system):
    """A shipment with two dewars, for i03 and for i04, sent."""
    app = system.app
    shipment, first = packed_dewar(system)
    second = app.add_mail_in_dewar(shipment, 2, "i04", USER)
    app.set_courier(shipment, "dhl", "1234567891", USER)
    app.mark_sent(shipment, USER)
    return shipment, first, second


def _status(system, shipment) -> str:
    return system.views.row("shipment", shipment)["workflow"]


def test_a_shipment_whose_first_of_two_dewars_arrived_is_partially_received_then_received(system):
    app = system.app
    shipment, first, second = _two_dewar_shipment(system)

    app.scan_dewar(first, "loc-goods-in", STORES)
    assert _status(system, shipment) == "partially-received"
    app.move_dewar(first, "loc-stores-a1", STORES)  # a move changes nothing at the shipment level
    assert _status(system, shipment) == "partially-received"
    app.scan_dewar(second, "loc-goods-in", BEAMLINE)
    assert _status(system, shipment) == "received"

    events = app.history(shipment)
    assert [e["event"] for e in events][-2:] == ["PartiallyReceived", "Received"]
    received = events[-1]
    assert (received["actor"], received["station"]) == (BEAMLINE.actor, BEAMLINE.station)
    assert received["data"] == {"dewar_id": str(app.resolve(second)[1]), "dewar_event": "Arrived"}
    arrival = app.history(app.resolve(second)[1])[-1]
    assert received["time"] == arrival["time"]


def test_a_shipment_with_one_dewar_back_and_one_still_here_is_partially_returned_until_both_are_back(system):
    app = system.app
    shipment, first, second = _two_dewar_shipment(system)
    for barcode in (first, second):
        app.scan_dewar(barcode, "loc-goods-in", STORES)
    app.take_to_instrument(second, "i04", BEAMLINE)
    assert _status(system, shipment) == "in-use"

    app.request_dispatch(first, USER)
    app.book_dispatch(first, "dhl", "1234567891", STORES)
    app.scan_out(first, STORES)
    assert _status(system, shipment) == "partially-returned"
    app.mark_returned(first, STORES)
    assert _status(system, shipment) == "partially-returned"

    app.request_dispatch(second, USER)
    app.book_dispatch(second, "dhl", "1234567891", STORES)
    app.move_dewar(second, "loc-dispatch", STORES)
    app.scan_out(second, STORES)
    assert _status(system, shipment) == "partially-returned"
    app.mark_returned(second, STORES)
    assert _status(system, shipment) == "returned"
    assert [e["event"] for e in app.history(shipment)][-5:] == [
        "PartiallyReceived", "Received", "TakenIntoUse", "PartiallyReturned", "Returned"]


def test_a_dewar_scanned_twice_records_the_shipments_status_once(system):
    app = system.app
    shipment, barcode = packed_dewar(system)
    app.mark_sent(shipment, USER)
    app.scan_dewar(barcode, "loc-goods-in", STORES)
    app.scan_dewar(barcode, "loc-goods-in", STORES)
    app.move_dewar(barcode, "loc-stores-a1", STORES)

    assert [e["event"] for e in app.history(shipment)].count("Received") == 1


def test_the_stores_desk_lists_shipments_by_their_status(system):
    app, views = system.app, system.views
    shipment, first, _second = _two_dewar_shipment(system)
    waiting, alone = packed_dewar(system, code="cm26459", puck="CPS-0002", name="Grids")
    app.mark_sent(waiting, USER)
    app.scan_dewar(first, "loc-goods-in", STORES)

    partly, _more = views.page("shipment", proposals=None, workflow="partially-received")
    sent, _more = views.page("shipment", proposals=None, workflow="sent")

    assert [s["id"] for s in partly] == [str(shipment)]
    assert [s["id"] for s in sent] == [str(waiting)]
    assert [s["name"] for s in views.shipments_of(None, "partially-received")] == ["Run 1"]


def test_a_rebuilt_read_model_gives_every_shipment_the_same_status(system):
    app = system.app
    shipment, first, second = _two_dewar_shipment(system)
    app.scan_dewar(first, "loc-goods-in", STORES)
    before = system.views.row("shipment", shipment)

    system.projection.rebuild()

    assert system.views.row("shipment", shipment) == before
    assert before["workflow"] == "partially-received"


def test_logistics_status_shows_each_shipments_status(system, database_url, tmp_path):
    app = system.app
    shipment, first, _second = _two_dewar_shipment(system)
    app.scan_dewar(first, "loc-goods-in", STORES)

    text = ok(logistics(tmp_path, "status", database=database_url)).stdout
    data = json.loads(ok(logistics(tmp_path, "status", "--json", database=database_url)).stdout)

    assert "SHIPMENTS" in text
    line = next(line for line in text.splitlines() if "Run 1" in line)
    assert line.split() == ["mx23694", "Run", "1", "partially-received"]
    assert [(s["name"], s["workflow"]) for s in data["shipments"]] == [("Run 1", "partially-received")]


def test_a_cancelled_shipment_stays_cancelled(system):
    app = system.app
    shipment, _barcode = packed_dewar(system)
    app.cancel_shipment(shipment, USER)

    assert _status(system, shipment) == "cancelled"
    assert [e["event"] for e in app.history(shipment)][-1] == "Cancelled"


def test_the_shipments_history_tells_in_words_which_dewar_moved_it_on(system):
    from logistics.service_layer.access import Principal
    from logistics.service_layer.session import Session

    app = system.app
    shipment, first, second = _two_dewar_shipment(system)
    app.scan_dewar(first, "loc-goods-in", STORES)
    app.scan_dewar(second, "loc-goods-in", STORES)
    session = Session(app, system.views, Principal("acct-staff", "bea", frozenset({"beamline"})))

    told = session.told_history("shipment", str(shipment))

    sentences = [e["sentence"] for e in told]
    assert f"Shipment “Run 1” is partly at the facility: dewar {first} arrived" in sentences
    assert f"Every dewar of shipment “Run 1” is at the facility: dewar {second} arrived last" in sentences
