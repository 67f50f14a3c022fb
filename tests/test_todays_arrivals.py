"""The stores desk's "today's arrivals": every dewar that arrived since a moment, wherever it is now."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from logistics.service_layer.access import Principal
from logistics.service_layer.session import Session
from tests.helpers import BEAMLINE, STORES, USER, packed_dewar

STORES_DESK = Principal("acct-stores", "sam", frozenset({"stores"}))


def test_todays_arrivals_list_a_dewar_received_onto_a_rack_and_one_taken_on_to_an_instrument(system):
    app = system.app
    start = datetime.now(timezone.utc) - timedelta(seconds=1)
    first, on_rack = packed_dewar(system, name="Run 1", puck="CPS-0001")
    second = app.create_shipment("mx23694", "Run 2", USER)
    moved_on = app.add_mail_in_dewar(second, 1, "i03", USER)
    app.scan_dewar(on_rack, "loc-stores-b1", STORES)  # straight onto a rack, never at goods-in
    app.scan_dewar(moved_on, "loc-goods-in", STORES)
    app.take_to_instrument(moved_on, "i03", BEAMLINE)
    app.scan_dewar(on_rack, "loc-stores-a1", STORES)  # a later move is not a second arrival

    arrived = Session(app, system.views, STORES_DESK).arrived_since(start)

    assert [(d["barcode"], d["where_text"]) for d in arrived] == [(moved_on, "at i03"),
                                                                  (on_rack, "in Stores rack A shelf 1")]
    assert Session(app, system.views, STORES_DESK).arrived_since(datetime.now(timezone.utc) + timedelta(hours=1)) == []


def test_arrivals_survive_a_rebuild_of_the_read_model(system):
    from logistics.bootstrap import rebuild_read_model
    start = datetime.now(timezone.utc) - timedelta(seconds=1)
    _, barcode = packed_dewar(system)
    system.app.scan_dewar(barcode, "loc-goods-in", STORES)

    rebuild_read_model(system)

    assert [d["barcode"] for d in Session(system.app, system.views, STORES_DESK).arrived_since(start)] == [barcode]
