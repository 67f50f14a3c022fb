"""Loads `fixtures/demo.json`: proposals, people, and a dozen shipments in different states."""

from __future__ import annotations

from typing import Any, Callable

from logistics.domain.by import By
from logistics.service_layer.application import Logistics

USER, STORES, BEAMLINE = By("demo-user", "web"), By("demo-stores", "stores-desk-1"), By("demo-beamline", "beamline-station")


def _steps(app: Logistics, shipment_id: Any, barcode: str) -> dict[str, Callable[..., Any]]:
    return {
        "sent": lambda: app.mark_sent(shipment_id, USER),
        "cancel": lambda: app.cancel_shipment(shipment_id, USER),
        "scan": lambda loc: app.scan_dewar(barcode, loc, STORES),
        "move": lambda loc: app.move_dewar(barcode, loc, STORES),
        "topup": lambda litres: app.top_up(barcode, STORES, float(litres)),
        "check": lambda result, *notes: app.check_contents(barcode, result == "ok", " ".join(notes), STORES),
        "damage": lambda *words: app.report_damage(barcode, " ".join(words), STORES),
        "take": lambda instrument: app.take_to_instrument(barcode, instrument, BEAMLINE),
        "load": lambda box, instrument, position: app.load(box, instrument, position, BEAMLINE),
        "unload": lambda box: app.unload(box, BEAMLINE),
        "handback": lambda loc: app.hand_back(barcode, loc, BEAMLINE),
        "request": lambda: app.request_dispatch(barcode, USER),
        "book": lambda courier, number: app.book_dispatch(barcode, courier, number, STORES),
        "out": lambda: app.scan_out(barcode, STORES),
        "returned": lambda: app.mark_returned(barcode, STORES),
        "close": lambda: app.close_dewar(barcode, STORES),
    }


def demo_password(username: str) -> str:
    return f"{username}-at-the-facility"  # 12 characters or more, and not a common password


def demo_accounts(demo: dict[str, Any]) -> list[str]:
    """Who can sign in to the demo, as the start-up banner lists them: each proposal's members, then staff."""
    lines = [f"{', '.join(m['username'] for m in p['members'])} ({p['code']})"
             for p in demo["proposals"] if any("username" in m for m in p["members"])]
    staff = demo.get("staff_accounts", [])
    if staff:
        lines.append(", ".join(a["username"] for a in staff) + " (" + ", ".join(r for a in staff for r in a["roles"]) + ")")
    return lines


def is_loaded(app: Logistics, demo: dict[str, Any]) -> bool:
    """Whether the demo data is in this database already (its first proposal is registered)."""
    try:
        app.proposal(demo["proposals"][0]["code"])
        return True
    except Exception:  # noqa: BLE001 - not registered, whichever way the application says so
        return False


def load_demo(app: Logistics, demo: dict[str, Any], progress: Callable[[int], None] = lambda n: None,
              accounts: Any = None) -> int:
    """Returns how many shipments were loaded; loads nothing if the demo is already there.

    With `accounts`, every demo person and staff member gets an account whose password is
    `demo-` followed by the username."""
    if is_loaded(app, demo):
        return 0
    contacts: dict[str, str] = {}
    for account in demo.get("staff_accounts", []) if accounts else []:
        accounts.add(account["username"], account["roles"], password=demo_password(account["username"]))
    for station in demo.get("stations", []) if accounts else []:
        accounts.add(station["username"], station["roles"], kind="station")
    for proposal in demo["proposals"]:
        app.register_proposal(proposal["code"], proposal["title"], STORES)
        for member in proposal["members"]:
            person = app.register_person(member["name"], member["email"], STORES, phone=member.get("phone"))
            app.add_member(proposal["code"], person, member["role"], STORES)
            if accounts:
                accounts.add(member["username"], ["member"], password=demo_password(member["username"]),
                             person_id=str(person))
            if "lab_contact" in member:
                contacts[proposal["code"]] = app.add_lab_contact(proposal["code"], person, member["lab_contact"], STORES)
    for code in demo["facility_dewars"]:
        app.register_facility_dewar(code, STORES)
    for s in demo["shipments"]:
        shipment = app.create_shipment(s["proposal"], s["name"], USER, safety=s["safety"],
                                       sending_contact=contacts.get(s["proposal"]))
        if "courier" in s:
            app.set_courier(shipment, s["courier"][0], s["courier"][1], USER)
        for d in s["dewars"]:
            if "facility" in d:
                barcode = app.add_facility_dewar(shipment, d["facility"], USER)
            else:
                barcode = app.add_mail_in_dewar(shipment, d["visit"], d["beamline"], USER, kind=d.get("kind", "dewar"))
            for c in d["containers"]:
                app.add_container(c["barcode"], c["type"], barcode, USER, parent=c.get("parent"), position=c.get("position"))
                for sample in c["samples"]:
                    app.add_sample(c["barcode"], sample["position"], sample["kind"], sample["name"], sample["attributes"], USER)
            steps = _steps(app, shipment, barcode)
            for step in d["steps"]:
                verb, *args = step.split()
                steps[verb](*args)
        progress(1)
    for arrival in demo.get("unexpected_arrivals", []):
        app.record_unexpected_arrival(arrival["barcode"], arrival["location"], arrival["note"], STORES)
    return len(demo["shipments"])
