"""An erased person receives nothing, whether erased before the message was made or while it waited;
someone no longer a member of the proposal is not told about it."""

from __future__ import annotations

from collections import Counter

from tests.helpers import ADMIN, STORES
from tests.notifications.conftest import EMAILS, Facility, ship

ADA, ROSALIND = EMAILS["ada"], EMAILS["rosalind"]


def test_a_person_erased_before_the_event_receives_nothing(facility: Facility) -> None:
    facility.app.erase_person(facility.persons["rosalind"], ADMIN)
    _shipment, barcode = ship(facility, "mx23694", contact_of="ada")
    facility.app.scan_dewar(barcode, "loc-goods-in", STORES)
    facility.app.report_damage(barcode, "lid cracked", STORES)
    facility.work()
    assert ROSALIND not in {r.to for r in facility.inbox.received}
    assert facility.inbox.pairs() == Counter({("dewar-arrived", ADA): 1, ("damage-reported", ADA): 1,
                                              ("damage-reported", EMAILS["bea"]): 1})
    skipped = facility.notifications.store.rows(status="skipped")
    assert {r["recipient"] for r in skipped} == {facility.persons["rosalind"]}
    assert {r["note"] for r in skipped} == {"the recipient's personal data was erased"}


def test_a_person_erased_while_the_message_waits_receives_nothing(facility: Facility) -> None:
    _shipment, barcode = ship(facility, "mx23694", contact_of="ada")
    facility.app.scan_dewar(barcode, "loc-goods-in", STORES)
    facility.notifications.projection.catch_up()  # the message to Rosalind is made...
    assert {r["recipient"] for r in facility.notifications.store.rows(status="pending")} == {
        facility.persons["ada"], facility.persons["rosalind"]}
    facility.app.erase_person(facility.persons["rosalind"], ADMIN)  # ...and she is erased before it goes
    facility.work()
    assert [r.to for r in facility.inbox.received] == [ADA]


def test_an_erased_person_gets_no_digest(facility: Facility) -> None:
    from datetime import datetime, timedelta, timezone
    facility.notifications.store.choose(facility.persons["rosalind"], "dewar-arrived", None, "digest",
                                        datetime.now(timezone.utc))
    _shipment, barcode = ship(facility, "mx23694", contact_of="ada")
    facility.app.scan_dewar(barcode, "loc-goods-in", STORES)
    today = datetime.now(timezone.utc)
    facility.work(now=today)
    facility.app.erase_person(facility.persons["rosalind"], ADMIN)
    facility.work(now=today + timedelta(days=1))
    assert [r.to for r in facility.inbox.received] == [ADA]
    # erasure settles her waiting digest item at once: no digest is ever made for her
    assert facility.notifications.store.rows(kind="daily-digest") == []
    (waiting,) = [r for r in facility.notifications.store.rows() if r["delivery"] == "digest"]
    assert (waiting["status"], waiting["note"]) == ("skipped", "not sent: the recipient was erased")


def test_someone_removed_from_the_proposal_is_not_told(facility: Facility) -> None:
    _shipment, barcode = ship(facility, "mx23694", contact_of="ada")
    facility.app.scan_dewar(barcode, "loc-goods-in", STORES)
    facility.notifications.projection.catch_up()

    proposal = facility.app.proposal("mx23694")
    proposal.remove_member(person_id=facility.persons["rosalind"], actor=ADMIN.actor, station=None)
    facility.app.save(proposal)
    facility.work()
    assert [r.to for r in facility.inbox.received] == [ADA]
    (skipped,) = facility.notifications.store.rows(status="skipped")
    assert skipped["note"] == "no longer a member of mx23694"

    facility.app.report_damage(barcode, "lid cracked", STORES)  # made after she left: not even a row
    facility.work()
    assert ROSALIND not in {r.to for r in facility.inbox.received}
    assert len(facility.notifications.store.rows(recipient=facility.persons["rosalind"])) == 1
