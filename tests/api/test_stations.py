"""X-Logistics-Station names where a person or script works, and every event records it: so only
a station an admin registered, and only for the staff it serves, is taken; anything else is
refused with what to do instead."""

from __future__ import annotations

from starlette.testclient import TestClient

from logistics.bootstrap import System
from logistics.entrypoints.guard import Settings
from logistics.entrypoints.web import create_app

ME = {"query": "{ me { name station } }"}


def client(system: System, username: str, roles: list[str], kind: str = "script") -> TestClient:
    system.accounts.add(username, roles, kind=kind)
    token = system.accounts.create_token(username)[1]
    return TestClient(create_app(system, Settings()), base_url="http://tracker",
                      headers={"authorization": f"Bearer {token}"})


def test_staff_at_a_registered_desk_are_recorded_there(system: System) -> None:
    system.accounts.add("goods-in-2", ["stores"], kind="station")
    sam = client(system, "sam", ["stores"])
    for _ in range(2):  # the second from memory (the station was looked up moments ago)
        answer = sam.post("/graphql", json=ME, headers={"x-logistics-station": "Goods-In-2"})
        assert answer.json() == {"data": {"me": {"name": "sam", "station": "goods-in-2"}}}
    assert sam.post("/graphql", json=ME).json()["data"]["me"]["station"] is None  # a script, no desk named


def test_a_station_nobody_registered_is_refused_with_how_to_register_it(system: System) -> None:
    answer = client(system, "sam", ["stores"]).post("/graphql", json=ME, headers={"x-logistics-station": "stores-desk-1"})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["message"] == (
        "station 'stores-desk-1' (X-Logistics-Station) is not registered: an admin registers a station with "
        "'logistics user add NAME --kind station --role ROLE'; without the header your changes are recorded at "
        "no station")


def test_an_account_may_not_claim_a_desk_of_another_role(system: System) -> None:
    system.accounts.add("stores-desk-1", ["stores"], kind="station")
    answer = client(system, "bea", ["beamline"]).post("/graphql", json=ME, headers={"x-logistics-station": "stores-desk-1"})
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["message"] == ("station 'stores-desk-1' (X-Logistics-Station) is for stores "
                                                     "staff; bea has beamline")


def test_a_station_is_always_itself_whatever_it_sends(system: System) -> None:
    system.accounts.add("goods-in-2", ["stores"], kind="station")
    desk = client(system, "stores-desk-1", ["stores"], kind="station")
    answer = desk.post("/graphql", json=ME, headers={"x-logistics-station": "goods-in-2"})
    assert answer.json()["data"]["me"] == {"name": "stores-desk-1", "station": "stores-desk-1"}
