"""Personal data (names, e-mail and postal addresses, phone numbers) never sits in the stored
events in clear, and a person can be erased on request while every history stays whole.

The stored events are read straight from the database, as anyone with a copy of it would.
"""

from __future__ import annotations

import sqlite3
from uuid import uuid4

import psycopg
import pytest

from logistics.domain.by import By
from logistics.domain.errors import InvalidValue
from logistics.domain.people import Person, Proposal
from tests.helpers import ADMIN, USER

NAME, EMAIL, PHONE = "Ada Lovelace", "ada.lovelace@example.ac.uk", "+44 1865 000001"
STREET, TOWN = "South Parks Road", "Oxford OX1 3QU"
CLEAR = [NAME, "Lovelace", EMAIL, PHONE, STREET, TOWN]

# The event store's own tables, as the eventsourcing library names them on each engine.
EVENT_TABLES = {"sqlite": ("stored_events", "stored_snapshots"),
                "postgresql": ("logistics_events", "logistics_snapshots")}


def _engine(system) -> str:
    return "sqlite" if system.database.is_sqlite else "postgresql"


def _query(system, sql: str) -> list[tuple]:
    if system.database.is_sqlite:
        with sqlite3.connect(system.database.sqlite_path) as conn:
            return conn.execute(sql).fetchall()
    url = system.database.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def _tables(system) -> list[str]:
    if system.database.is_sqlite:
        return [r[0] for r in _query(system, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [r[0] for r in _query(system, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")]


def _raw_events(system) -> list[tuple[str, int, bytes]]:
    """Every stored event as the database holds it: (originator id, version, state bytes)."""
    table = EVENT_TABLES[_engine(system)][0]
    rows = _query(system, f"SELECT originator_id, originator_version, state FROM {table}")
    return sorted((str(o).replace("-", ""), v, bytes(s)) for o, v, s in rows)


def _as_text(value) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _register_ada(system) -> tuple[str, str]:
    """A proposal whose PI is Ada, with her lab's postal address as the lab contact."""
    app = system.app
    app.register_proposal("mx23694", "Efflux pumps", ADMIN)
    person = app.register_person(NAME, EMAIL, ADMIN, phone=PHONE)
    app.add_member("mx23694", person, "pi", ADMIN)
    contact = app.add_lab_contact("mx23694", person, {"lines": [STREET, TOWN], "country": "UK", "label": "Biochemistry"},
                                  ADMIN)
    return str(person), contact


def test_the_event_store_is_where_we_look(system):
    _register_ada(system)
    tables = _tables(system)

    for table in EVENT_TABLES[_engine(system)]:
        assert table in tables
    # The stored events are readable JSON: what is not personal data is there in clear.
    stored = "".join(_as_text(state) for _o, _v, state in _raw_events(system))
    assert "mx23694" in stored and "Efflux pumps" in stored and "admin:al" in stored
    assert "sealed:v1:" in stored


def test_no_stored_event_holds_a_name_email_phone_or_address_in_clear(system):
    _register_ada(system)

    stored = [_as_text(state) for _o, _v, state in _raw_events(system)]

    assert len(stored) >= 4
    leaks = [(text, clear) for text in stored for clear in CLEAR if clear.lower() in text.lower()]
    assert leaks == []


def test_no_table_in_the_database_holds_personal_data_in_clear(system):
    _person, contact = _register_ada(system)
    system.app.create_shipment("mx23694", "Run 1", USER, sending_contact=contact)

    leaks = []
    for table in _tables(system):
        for row in _query(system, f"SELECT * FROM {table}"):
            text = " ".join(_as_text(v) for v in row if v is not None)
            leaks += [(table, clear) for clear in CLEAR if clear.lower() in text.lower()]
    assert leaks == []


def test_the_application_reads_a_persons_details_back(system):
    person, contact = _register_ada(system)

    assert system.app.person_details(person) == {"name": NAME, "email": EMAIL, "phone": PHONE}
    added = [e for e in system.app.history(system.app.proposal("mx23694").id) if e["event"] == "LabContactAdded"]
    assert [e["data"]["contact_id"] for e in added] == [contact]
    assert added[0]["data"]["address"] == {"lines": [STREET, TOWN], "country": "UK", "label": "Biochemistry"}


def test_erasing_a_person_leaves_every_history_whole_with_the_person_shown_as_erased(system):
    app = system.app
    person, _contact = _register_ada(system)
    proposal_id = app.proposal("mx23694").id
    before = app.history(proposal_id)
    raw_before = _raw_events(system)

    app.erase_person(person, ADMIN)

    assert app.person_details(person) == {"erased": True}
    after = app.history(proposal_id)
    assert [(e["version"], e["event"], e["actor"], e["time"]) for e in after] == \
        [(e["version"], e["event"], e["actor"], e["time"]) for e in before]
    added = [e for e in after if e["event"] == "LabContactAdded"]
    assert len(added) == 1
    assert added[0]["data"]["address"] == {"erased": True}
    assert added[0]["data"]["person_id"] == person
    # Members are kept by id: the proposal still knows who its PI was.
    assert app.proposal("mx23694").members == {person: "pi"}
    # Every event recorded before stays exactly as it was stored; the erasure is one more event.
    raw_after = _raw_events(system)
    assert [r for r in raw_after if r in raw_before] == raw_before
    assert len(raw_after) == len(raw_before) + 1


def test_a_persons_history_shows_who_erased_them(system):
    app = system.app
    person, _contact = _register_ada(system)
    eraser = By("admin:dpo", "dpo-desk")

    app.erase_person(person, eraser)

    history = app.history(person)
    assert [e["event"] for e in history] == ["Registered", "Erased"]
    assert (history[-1]["actor"], history[-1]["station"]) == ("admin:dpo", "dpo-desk")
    assert history[0]["data"]["details"] == {"erased": True}


def test_erasing_one_person_does_not_touch_another(system):
    app = system.app
    ada, _ = _register_ada(system)
    grace = app.register_person("Grace Hopper", "grace@example.edu", ADMIN, phone="+1 555 0100")
    app.add_member("mx23694", grace, "member", ADMIN)
    app.add_lab_contact("mx23694", grace, {"lines": ["1 Navy Yard"], "country": "US"}, ADMIN)

    app.erase_person(ada, ADMIN)

    assert app.person_details(grace) == {"name": "Grace Hopper", "email": "grace@example.edu", "phone": "+1 555 0100"}
    addresses = [e["data"]["address"] for e in app.history(app.proposal("mx23694").id) if e["event"] == "LabContactAdded"]
    assert addresses[0] == {"erased": True}
    assert addresses[1]["lines"] == ["1 Navy Yard"]


def test_erasing_someone_twice_records_one_erasure(system):
    app = system.app
    person, _ = _register_ada(system)
    app.erase_person(person, ADMIN)

    app.erase_person(person, ADMIN)

    assert [e["event"] for e in app.history(person)] == ["Registered", "Erased"]


def test_a_person_cannot_be_recorded_with_clear_text_details():
    with pytest.raises(InvalidValue):
        Person(person_id=str(uuid4()), details="Ada", actor="admin:al", station=None)
    with pytest.raises(InvalidValue):
        Person(person_id=str(uuid4()), details={"name": "Ada"}, actor="admin:al", station=None)


def test_a_lab_contact_cannot_be_recorded_with_a_clear_text_address():
    proposal = Proposal(code="mx23694", title="Efflux pumps", actor="admin:al", station=None)
    person = str(uuid4())
    proposal.add_member(person, "pi", ADMIN)

    with pytest.raises(InvalidValue):
        proposal.add_lab_contact(str(uuid4()), person, f"{STREET}, {TOWN}", ADMIN)

    assert proposal.lab_contacts == {}


def test_changed_details_must_be_sealed_too():
    person = Person(person_id=str(uuid4()), details="sealed:v1:x:token", actor="admin:al", station=None)

    with pytest.raises(InvalidValue):
        person.change_details(details=EMAIL, actor="admin:al", station=None)

    assert person.details == "sealed:v1:x:token"
