"""A dewar's whole trip, with a real SMTP server: exactly the expected messages reach exactly the
expected addresses, each once, with text, HTML and a link to the dewar's page; nobody of another
proposal hears of it; the outbox keeps no names or addresses."""

from __future__ import annotations

import json
from collections import Counter

from sqlalchemy import select

from logistics.adapters.outbox import outbox
from tests.helpers import BEAMLINE, STORES, USER
from tests.notifications.conftest import EMAILS, NAMES, SENDER, Facility, ship

ADA, ROSALIND, DOROTHY, SAM, BEA = (EMAILS[n] for n in ("ada", "rosalind", "dorothy", "sam", "bea"))


def test_a_trip_tells_exactly_the_right_people_once(facility: Facility) -> None:
    app, inbox = facility.app, facility.inbox
    _shipment, barcode = ship(facility, "mx23694", contact_of="ada")
    _other_shipment, other = ship(facility, "mx31020", contact_of="dorothy")

    app.scan_dewar(barcode, "loc-goods-in", STORES)  # arrived: members and the lab contact (Ada is both)
    app.scan_dewar(other, "loc-goods-in", STORES)  # arrived: only Dorothy
    app.move_dewar(barcode, "loc-stores-a1", STORES)  # a move: nobody
    app.top_up(barcode, STORES, 5.0)  # nobody
    app.check_contents(barcode, True, "all pucks present", STORES)  # a passed check: nobody
    app.check_contents(barcode, False, "puck CPS-0001 missing", STORES)  # failed: members and local contact
    app.report_damage(barcode, "lid cracked", STORES)  # members and local contact
    app.record_unexpected_arrival("UNKNOWN-77", "loc-goods-in", "no paperwork", STORES)  # stores
    app.take_to_instrument(barcode, "i03", BEAMLINE)  # nobody
    app.hand_back(barcode, "loc-stores-a1", BEAMLINE)  # nobody
    app.request_dispatch(barcode, USER)  # nobody: the user asked
    app.book_dispatch(barcode, "dhl", "9876543213", STORES)  # members, with courier and number
    app.scan_out(barcode, STORES)  # members

    assert facility.work() > 0
    expected = Counter({
        ("dewar-arrived", ADA): 1, ("dewar-arrived", ROSALIND): 1, ("dewar-arrived", DOROTHY): 1,
        ("contents-check-failed", ADA): 1, ("contents-check-failed", ROSALIND): 1, ("contents-check-failed", BEA): 1,
        ("damage-reported", ADA): 1, ("damage-reported", ROSALIND): 1, ("damage-reported", BEA): 1,
        ("unexpected-arrival", SAM): 1,
        ("dispatch-booked", ADA): 1, ("dispatch-booked", ROSALIND): 1,
        ("dispatched", ADA): 1, ("dispatched", ROSALIND): 1,
    })
    assert inbox.pairs() == expected

    # Dorothy (mx31020) hears nothing about mx23694, and mx23694's people nothing about hers.
    assert [r.kind for r in inbox.to(DOROTHY)] == ["dewar-arrived"]
    assert all(other in r.message["Subject"] for r in inbox.to(DOROTHY))
    assert not any(other in r.part("plain") for r in inbox.received if r.to != DOROTHY)
    assert not any(barcode in r.part("plain") for r in inbox.to(DOROTHY))
    assert not inbox.to(EMAILS["al"])  # an admin is not told, and a station has no address

    # Each message once, with the dedupe key as Message-ID; running again sends nothing.
    assert all(count == 1 for count in inbox.message_ids().values())
    assert facility.work() == 0
    assert len(inbox.received) == sum(expected.values())

    booked = next(r for r in inbox.to(ADA) if r.kind == "dispatch-booked")
    assert "DHL" in booked.message["Subject"] and "9876543213" in booked.part("plain")
    damage = next(r for r in inbox.to(BEA) if r.kind == "damage-reported")
    assert "lid cracked" in damage.part("plain") and "lid cracked" in damage.part("html")


def test_a_message_is_plain_text_and_html_with_a_link_to_the_dewar_page(facility: Facility) -> None:
    facility.notifications.configure(base_url="https://logistics.facility.example")
    _shipment, barcode = ship(facility, "mx23694", contact_of="ada")
    facility.app.scan_dewar(barcode, "loc-goods-in", STORES)
    facility.work()
    received = next(r for r in facility.inbox.to(ADA))
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    assert received.mail_from == SENDER
    assert NAMES["ada"] in message["To"] and ADA in message["To"]
    assert message["Subject"] == f"Dewar {barcode} has arrived at the facility"
    assert message["Auto-Submitted"] == "auto-generated"
    link = f"https://logistics.facility.example/dewars/{barcode}"
    assert link in received.part("plain")
    assert f'href="{link}"' in received.part("html")
    assert f"Dear {NAMES['ada']}," in received.part("plain")
    assert f"Received dewar {barcode} at Stores goods-in bay." in received.part("plain")  # the history's sentence

    row = facility.notifications.store.rows(recipient=facility.persons["ada"])[0]
    assert message["Message-ID"] == f"<{row['dedupe_key']}@facility.example>"
    assert row["dedupe_key"] == f"{row['position']}.dewar-arrived.{facility.persons['ada']}"
    assert row["status"] == "sent" and row["attempts"] == 1 and row["sent_at"] is not None


def test_the_outbox_keeps_no_names_or_addresses(facility: Facility) -> None:
    _shipment, barcode = ship(facility, "mx23694", contact_of="ada")
    facility.app.scan_dewar(barcode, "loc-goods-in", STORES)
    facility.app.report_damage(barcode, "lid cracked", STORES)
    facility.notifications.projection.catch_up()
    with facility.system.projection.engine.connect() as conn:
        dump = json.dumps([list(r) for r in conn.execute(select(outbox))], default=str)
    facility.work()
    with facility.system.projection.engine.connect() as conn:
        dump += json.dumps([list(r) for r in conn.execute(select(outbox))], default=str)
    assert facility.persons["ada"] in dump  # the person is named by id only
    for text in [*EMAILS.values(), *NAMES.values(), "Lovelace", "lab.example"]:
        assert text not in dump


def test_an_event_makes_its_messages_once_even_when_the_projection_runs_in_two_places(facility: Facility) -> None:
    """The projection moves its position with the rows it writes; a second projection object (another
    process) finds nothing left to do, and the dedupe key would refuse a repeat anyway."""
    from logistics.adapters.outbox import NotificationProjection

    _shipment, barcode = ship(facility, "mx23694", contact_of="ada")
    facility.app.scan_dewar(barcode, "loc-goods-in", STORES)
    system = facility.system
    other = NotificationProjection(system.app, system.projection.engine, system.projection.writer)
    assert other.catch_up() > 0
    assert facility.notifications.projection.catch_up() == 0
    facility.work()
    assert facility.inbox.pairs() == Counter({("dewar-arrived", ADA): 1, ("dewar-arrived", ROSALIND): 1})
