"""A dewar still at the facility N days after its last use: its members and stores are reminded, once
per dewar per trip. Use is an arrival, a take to an instrument, a load or an unload; moves and
top-ups are not. A dewar its users asked back is not "still here"."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from logistics.domain.clock import simulated
from tests.helpers import BEAMLINE, STORES, USER
from tests.notifications.conftest import EMAILS, Facility, ship

ADA, ROSALIND, SAM = EMAILS["ada"], EMAILS["rosalind"], EMAILS["sam"]
T0 = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)


def at(when: datetime):  # type: ignore[no-untyped-def]
    return simulated(lambda: when)


def test_members_and_stores_are_reminded_once_per_trip(facility: Facility) -> None:
    app, notifications = facility.app, facility.notifications
    _shipment, barcode = ship(facility, "mx23694", contact_of="ada")
    with at(T0):
        app.scan_dewar(barcode, "loc-goods-in", STORES)
    with at(T0 + timedelta(days=5)):
        app.take_to_instrument(barcode, "i03", BEAMLINE)  # used: the clock starts again
    with at(T0 + timedelta(days=6)):
        app.hand_back(barcode, "loc-stores-a1", BEAMLINE)  # a move back to stores: not a use
        app.top_up(barcode, STORES, 10.0)  # housekeeping: not a use
    facility.work(now=T0 + timedelta(days=6, hours=1))
    facility.inbox.clear()  # the arrival messages

    assert notifications.check_stale(now=T0 + timedelta(days=5 + 13)) == 0
    assert notifications.check_stale(now=T0 + timedelta(days=5 + 14)) == 1
    assert notifications.check_stale(now=T0 + timedelta(days=5 + 15)) == 0  # once per trip
    facility.work(now=T0 + timedelta(days=5 + 14, hours=1))
    assert facility.inbox.pairs() == Counter({("dewar-stale", ADA): 1, ("dewar-stale", ROSALIND): 1})
    reminder = facility.inbox.to(ADA)[0]
    assert reminder.message["Subject"] == f"Dewar {barcode} is still at the facility after 14 days"
    assert "loc-stores-a1" in reminder.part("plain") and f"/dewars/{barcode}" in reminder.part("plain")

    # Stores get reminders in their daily digest by default.
    facility.work(now=T0 + timedelta(days=5 + 15, hours=1))
    (digest,) = facility.inbox.to(SAM)
    assert digest.kind == "daily-digest" and f"Dewar {barcode} is still at the facility" in digest.part("plain")

    facility.work(now=T0 + timedelta(days=60))
    assert len(facility.inbox.received) == 3


def test_a_dewar_asked_back_is_not_still_here(facility: Facility) -> None:
    _shipment, barcode = ship(facility, "mx23694", contact_of="ada")
    with at(T0):
        facility.app.scan_dewar(barcode, "loc-goods-in", STORES)
    with at(T0 + timedelta(days=2)):
        facility.app.request_dispatch(barcode, USER)
    facility.notifications.projection.catch_up()
    assert facility.notifications.check_stale(now=T0 + timedelta(days=30)) == 0


def test_loading_a_puck_is_a_use_and_the_number_of_days_is_configurable(facility: Facility) -> None:
    app, notifications = facility.app, facility.notifications
    notifications.configure(stale_days=3)
    contact = app.add_lab_contact("mx23694", facility.persons["ada"], {"lines": ["x"], "country": "UK"}, USER)
    shipment = app.create_shipment("mx23694", "Pucks", USER, sending_contact=contact)
    barcode = app.add_mail_in_dewar(shipment, 1, "i03", USER)
    app.add_container("CPS-0042", "unipuck", barcode, USER)
    app.mark_sent(shipment, USER)
    with at(T0):
        app.scan_dewar(barcode, "loc-goods-in", STORES)
    with at(T0 + timedelta(days=2)):
        app.load("CPS-0042", "i03", "1", BEAMLINE)
    with at(T0 + timedelta(days=4)):
        app.unload("CPS-0042", BEAMLINE)
    notifications.projection.catch_up()
    assert notifications.check_stale(now=T0 + timedelta(days=6)) == 0  # two days since the unload
    assert notifications.check_stale(now=T0 + timedelta(days=7)) == 1


def test_a_facility_dewar_is_reminded_again_on_its_next_trip(facility: Facility) -> None:
    app, notifications = facility.app, facility.notifications
    app.register_facility_dewar("DLS-MX-0007", STORES)
    contact = app.add_lab_contact("mx23694", facility.persons["ada"], {"lines": ["x"], "country": "UK"}, USER)
    for trip, start in enumerate((T0, T0 + timedelta(days=40)), 1):
        with at(start):
            shipment = app.create_shipment("mx23694", f"Trip {trip}", USER, sending_contact=contact)
            app.add_facility_dewar(shipment, "DLS-MX-0007", USER)
            app.mark_sent(shipment, USER)
            app.scan_dewar("DLS-MX-0007", "loc-goods-in", STORES)
        notifications.projection.catch_up()
        assert notifications.check_stale(now=start + timedelta(days=15)) == 1
        assert notifications.check_stale(now=start + timedelta(days=16)) == 0
        with at(start + timedelta(days=20)):
            app.request_dispatch("DLS-MX-0007", USER)
            app.book_dispatch("DLS-MX-0007", "dhl", "1234567891", STORES)
            app.scan_out("DLS-MX-0007", STORES)
            app.mark_returned("DLS-MX-0007", STORES)
    stale = notifications.store.rows(kind="dewar-stale")
    assert Counter(r["recipient"] for r in stale) == Counter(
        {facility.persons["ada"]: 2, facility.persons["rosalind"]: 2, facility.persons["sam"]: 2})
