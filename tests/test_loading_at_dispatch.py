"""A puck cannot be loaded from a dewar that is booked to go back and waits at dispatch: the
load would only block the scan-out later. Stores can cancel the dispatch first, and that is
recorded."""

from __future__ import annotations

import pytest

from logistics.domain.errors import NotPermitted
from tests.helpers import BEAMLINE, STORES, USER, at_facility, event_count


def _booked_at_dispatch(system):
    app = system.app
    shipment, barcode = at_facility(system)
    app.request_dispatch(barcode, USER)
    app.book_dispatch(barcode, "ups", "1Z999AA10123456784", STORES)
    app.move_dewar(barcode, "loc-dispatch", STORES)
    return shipment, barcode


def test_beamline_staff_cannot_load_a_puck_from_a_dewar_booked_to_go_back(system):
    _shipment, barcode = _booked_at_dispatch(system)
    before = event_count(system)

    with pytest.raises(NotPermitted) as refused:
        system.app.load("CPS-0001", "i03", "7", BEAMLINE)

    assert str(refused.value) == (
        f"container CPS-0001 cannot be loaded: its dewar {barcode} is dispatch-booked "
        "(to go back with UPS 1Z999AA10123456784); stores must cancel the dispatch first")
    assert event_count(system) == before
    assert system.views.where("CPS-0001")["where"]["kind"] != "sample-changer"


def test_once_stores_cancel_the_dispatch_the_puck_loads_and_the_cancellation_is_in_the_history(system):
    app = system.app
    _shipment, barcode = _booked_at_dispatch(system)

    app.cancel_dispatch(barcode, "the user wants one more beamtime", STORES)
    app.load("CPS-0001", "i03", "7", BEAMLINE)

    row = system.views.dewar(barcode)
    assert row["workflow"] == "received"
    assert (row["return_courier"], row["return_tracking"]) == (None, None)
    assert system.views.where("CPS-0001")["where"]["kind"] == "sample-changer"
    cancelled = next(e for e in app.history(app.resolve(barcode)[1]) if e["event"] == "DispatchCancelled")
    assert (cancelled["actor"], cancelled["station"]) == (STORES.actor, STORES.station)
    assert cancelled["data"] == {"workflow": "received", "reason": "the user wants one more beamtime"}


def test_a_cancelled_dispatch_of_a_dewar_that_was_in_use_puts_it_back_in_use(system):
    app = system.app
    _shipment, barcode = at_facility(system)
    app.take_to_instrument(barcode, "i03", BEAMLINE)
    app.request_dispatch(barcode, USER)

    app.cancel_dispatch(barcode, "not yet", STORES)

    assert system.views.dewar(barcode)["workflow"] == "in-use"


def test_cancelling_a_dispatch_nobody_asked_for_is_refused_and_says_why(system):
    _shipment, barcode = at_facility(system)
    before = event_count(system)

    with pytest.raises(NotPermitted) as refused:
        system.app.cancel_dispatch(barcode, "oops", STORES)

    assert str(refused.value) == (f"dewar {barcode} cannot be kept back: it is received; "
                                  "only a requested or booked dispatch can be cancelled")
    assert event_count(system) == before


def test_a_member_cannot_cancel_a_dispatch_only_stores_can(system):
    from logistics.domain.errors import AccessDenied
    from logistics.service_layer.access import Principal
    from logistics.service_layer.session import Session

    _shipment, barcode = _booked_at_dispatch(system)
    member = Session(system.app, system.views, Principal("acct-ada", "ada", frozenset({"member"}),
                                                         proposals=frozenset({"mx23694"})))

    with pytest.raises(AccessDenied):
        member.cancel_dispatch(barcode, "mine")
    assert system.views.dewar(barcode)["workflow"] == "dispatch-booked"
