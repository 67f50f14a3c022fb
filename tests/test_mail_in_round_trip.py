"""A user group's dewar goes to the facility, onto the beamline, and back, and every step is history."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.helpers import BEAMLINE, STORES, USER, packed_dewar


def test_a_mail_in_dewar_makes_the_full_round_trip_with_its_shipment_status_at_every_step(system):
    """The shipment's status is read after every step (issue 17), then the history says who did what."""
    app, views = system.app, system.views
    shipment, barcode = packed_dewar(system, samples=3)

    def shipment_status() -> str:
        return views.row("shipment", shipment)["workflow"]

    assert shipment_status() == "registered"
    app.record_labels_printed(shipment, "a4-14", "pdf", USER)  # label-ready
    assert shipment_status() == "registered"
    app.set_courier(shipment, "dhl", "1234567891", USER)
    assert shipment_status() == "registered"
    app.mark_sent(shipment, USER)
    assert views.where(barcode)["where"]["kind"] == "in-transit-to-facility"
    assert shipment_status() == "sent"

    app.scan_dewar(barcode, "loc-goods-in", STORES)
    assert views.where(barcode)["workflow"] == "received"
    assert shipment_status() == "received"
    app.move_dewar(barcode, "loc-stores-a1", STORES)
    assert [d["barcode"] for d in views.dewars_at("loc-stores-a1")] == [barcode]
    assert shipment_status() == "received"

    app.take_to_instrument(barcode, "i03", BEAMLINE)
    assert shipment_status() == "in-use"
    app.load("CPS-0001", "i03", "7", BEAMLINE)
    assert shipment_status() == "in-use"
    i03 = {p["position"]: p for p in views.changer_map("i03")}
    assert i03["7"]["barcode"] == "CPS-0001" and i03["7"]["proposal"] == "mx23694"
    assert views.where("CPS-0001")["where"]["kind"] == "sample-changer"

    app.unload("CPS-0001", BEAMLINE)
    assert shipment_status() == "in-use"
    app.hand_back(barcode, "loc-stores-a1", BEAMLINE)
    assert shipment_status() == "in-use"
    app.request_dispatch(barcode, USER)
    assert shipment_status() == "in-use"  # it was used: asking for the dewar back does not undo that
    app.book_dispatch(barcode, "ups", "1z999aa10123456784", STORES)
    assert shipment_status() == "in-use"
    app.move_dewar(barcode, "loc-dispatch", STORES)
    assert shipment_status() == "in-use"
    app.scan_out(barcode, STORES)
    assert shipment_status() == "partially-returned"  # on its way back
    app.mark_returned(barcode, STORES)
    assert shipment_status() == "returned"

    final = views.where(barcode)
    assert (final["workflow"], final["where"]["kind"]) == ("returned", "offsite")
    history = app.history(app.resolve(barcode)[1])
    assert [e["event"] for e in history] == [
        "Registered", "ContainerPacked", "Sent", "Arrived", "Moved", "TakenToInstrument", "ContainerLoaded",
        "ContainerUnloaded", "Moved", "DispatchRequested", "DispatchBooked", "Moved", "Dispatched", "Returned"]
    assert history[3]["actor"] == STORES.actor and history[3]["station"] == STORES.station
    assert history[6]["actor"] == BEAMLINE.actor and history[6]["data"]["position"] == "7"
    assert history[10]["data"]["tracking_number"] == "1Z999AA10123456784"
    times = [e["time"] for e in history]
    assert times == sorted(times)

    shipment_history = app.history(shipment)
    assert [e["event"] for e in shipment_history] == [
        "Registered", "DewarAdded", "LabelsPrinted", "CourierSet", "Sent", "Received", "TakenIntoUse",
        "PartiallyReturned", "Returned"]
    by_event = {e["event"]: e for e in history}
    for followed, cause in [("Received", "Arrived"), ("TakenIntoUse", "TakenToInstrument"),
                            ("PartiallyReturned", "Dispatched"), ("Returned", "Returned")]:
        event = next(e for e in shipment_history if e["event"] == followed)
        assert (event["actor"], event["station"], event["time"]) == (
            by_event[cause]["actor"], by_event[cause]["station"], by_event[cause]["time"])
        assert event["data"] == {"dewar_id": str(app.resolve(barcode)[1]), "dewar_event": cause}


def test_the_state_as_of_a_past_time_is_what_it_was_then(system):
    app = system.app
    shipment, barcode = packed_dewar(system)
    app.mark_sent(shipment, USER)
    in_transit = datetime.now(timezone.utc)
    app.scan_dewar(barcode, "loc-goods-in", STORES)
    between = datetime.now(timezone.utc)
    app.move_dewar(barcode, "loc-stores-b2", STORES)
    dewar_id = app.resolve(barcode)[1]

    then = app.as_of(dewar_id, between)
    assert then.where == {"kind": "storage", "code": "loc-goods-in"}
    assert app.as_of(dewar_id, datetime.now(timezone.utc)).where["code"] == "loc-stores-b2"
    assert app.as_of(shipment, in_transit).workflow == "sent"
    assert app.as_of(shipment, between).workflow == "received"


def test_non_mx_samples_travel_in_parcels_the_same_way(system):
    app, views = system.app, system.views
    from tests.helpers import proposal_with_contact
    contact = proposal_with_contact(system, "ee30522")
    shipment = app.create_shipment("ee30522", "Glasses", USER, sending_contact=contact)
    barcode = app.add_mail_in_dewar(shipment, 1, "i15-1", USER, kind="parcel")
    app.add_container("XPDF-BOX-7", "powder-box", barcode, USER)
    app.add_sample("XPDF-BOX-7", "1", "xpdf-sample", "sio2", {"formula": "SiO2"}, USER)
    app.add_sample("XPDF-BOX-7", "2", "xpdf-calibrant", "ceo2", {"calibrant": "CeO2"}, USER)
    app.mark_sent(shipment, USER)
    app.scan_dewar(barcode, "loc-ambient-shelf", STORES)
    app.take_to_instrument("XPDF-BOX-7", "i15-1", BEAMLINE)
    where = views.where("xpdf-box-7")
    assert where["where"] == {"kind": "instrument", "code": "i15-1", "text": "instrument i15-1"}
    contents = views.where(barcode)["contents"]
    assert [s["name"] for s in contents[0]["samples"]] == ["sio2", "ceo2"]
