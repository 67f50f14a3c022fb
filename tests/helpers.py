"""The people and steps the business tests share."""

from __future__ import annotations

from typing import Any

from logistics.bootstrap import System
from logistics.domain.by import By

USER = By("person:ada", "web")
STORES = By("stores:sam", "stores-desk-1")
BEAMLINE = By("beamline:bea", "i03-console")
ADMIN = By("admin:al")


def proposal_with_contact(system: System, code: str = "mx23694") -> str:
    app = system.app
    app.register_proposal(code, "Efflux pumps", ADMIN)
    person = app.register_person("Ada Lovelace", "ada@example.ac.uk", ADMIN, phone="+44 1865 000001")
    app.add_member(code, person, "pi", ADMIN)
    return app.add_lab_contact(code, person, {"lines": ["South Parks Road", "Oxford OX1 3QU"], "country": "UK"}, ADMIN)


def packed_dewar(system: System, code: str = "mx23694", puck: str = "CPS-0001", samples: int = 3,
                 name: str = "Run 1") -> tuple[Any, str]:
    """A registered shipment with one mail-in dewar holding one unipuck with samples."""
    app = system.app
    contact = proposal_with_contact(system, code)
    shipment = app.create_shipment(code, name, USER, sending_contact=contact)
    barcode = app.add_mail_in_dewar(shipment, 1, "i03", USER)
    app.add_container(puck, "unipuck", barcode, USER)
    for n in range(1, samples + 1):
        app.add_sample(puck, str(n), "mx-crystal", f"lyso_{n}", {"protein_acronym": "lyso"}, USER)
    return shipment, barcode


def at_facility(system: System, **kwargs: Any) -> tuple[Any, str]:
    shipment, barcode = packed_dewar(system, **kwargs)
    system.app.set_courier(shipment, "dhl", "1234567891", USER)
    system.app.mark_sent(shipment, USER)
    system.app.scan_dewar(barcode, "loc-goods-in", STORES)
    return shipment, barcode


def event_count(system: System) -> int:
    return system.app.recorder.max_notification_id() or 0


ORIGIN = {"origin": "http://tracker"}


def member_browser(system: System, proposal: str = "mx23694", username: str = "ada") -> Any:
    """A browser (Starlette's TestClient) signed in at the pages as a member of `proposal`."""
    from starlette.testclient import TestClient

    from logistics.entrypoints.guard import Settings
    from logistics.entrypoints.web import create_app
    app, password = system.app, "correct horse battery staple"
    app.register_proposal(proposal, "Efflux pumps", ADMIN)
    person = app.register_person("Ada Lovelace", f"{username}@example.ac.uk", ADMIN, phone="+44 1865 000001")
    app.add_member(proposal, person, "pi", ADMIN)
    system.accounts.add(username, ["member"], password=password, person_id=str(person))
    client = TestClient(create_app(system, Settings()), base_url="http://tracker")
    signed_in = client.post("/login", data={"username": username, "password": password}, headers=ORIGIN,
                            follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text
    return client
