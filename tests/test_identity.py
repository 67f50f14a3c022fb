"""Barcodes and facility codes are unique: the event store decides, not a check-then-write."""

from __future__ import annotations

import threading

import pytest

from logistics.bootstrap import bootstrap
from logistics.domain.errors import AlreadyExists
from tests.helpers import ADMIN, USER, proposal_with_contact


def _race(database_url: str, clients: int, work) -> list[object]:
    """Run `work(app, n)` from separate clients (each its own connections) released at once."""
    systems = [bootstrap(database_url) for _ in range(clients)]
    gate = threading.Barrier(clients)
    results: list[object] = [None] * clients

    def client(n: int) -> None:
        gate.wait()
        try:
            results[n] = work(systems[n].app, n)
        except Exception as e:  # noqa: BLE001 - the result is what we examine
            results[n] = e

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in systems:
        s.close()
    return results


def test_two_admins_registering_one_facility_dewar_at_once_exactly_one_wins(system, database_url):
    for attempt in range(3):
        code = f"DLS-MX-{attempt + 10:04d}"
        results = _race(database_url, 2, lambda app, n: app.register_facility_dewar(code, ADMIN))
        wins = [r for r in results if not isinstance(r, Exception)]
        losses = [r for r in results if isinstance(r, Exception)]
        assert len(wins) == 1, results
        assert len(losses) == 1 and isinstance(losses[0], AlreadyExists), results
        assert code in str(losses[0])
        assert system.app.dewar(code).id == wins[0]


def test_two_users_packing_the_same_new_puck_at_once_register_it_once(system, database_url):
    contact = proposal_with_contact(system)
    shipment = system.app.create_shipment("mx23694", "Race", USER, sending_contact=contact)
    dewars = [system.app.add_mail_in_dewar(shipment, 1, "i03", USER) for _ in range(2)]
    results = _race(database_url, 2, lambda app, n: app.add_container("CPS-7777", "unipuck", dewars[n], USER))
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1, results
    assert all(isinstance(r, Exception) for r in results if r not in wins)
    assert len(system.views.dewars()) == 2
    assert system.views.where("CPS-7777")["dewar"] in dewars


def test_concurrently_allocated_mail_in_barcodes_are_all_different(system, database_url):
    contact = proposal_with_contact(system)
    shipments = [system.app.create_shipment("mx23694", f"Parallel {n}", USER, sending_contact=contact) for n in range(4)]
    results = _race(database_url, 4, lambda app, n: [app.add_mail_in_dewar(shipments[n], 1, "i04", USER) for _ in range(3)])
    assert not [r for r in results if isinstance(r, Exception)], results
    codes = [code for batch in results for code in batch]
    assert len(set(codes)) == 12
    assert sorted(d["barcode"] for d in system.views.dewars()) == sorted(codes)


def test_a_shipment_name_is_unique_within_its_proposal(system):
    contact = proposal_with_contact(system)
    system.app.create_shipment("mx23694", "Run 1", USER, sending_contact=contact)
    with pytest.raises(AlreadyExists, match="mx23694/run 1"):
        system.app.create_shipment("mx23694", "  run 1 ", USER, sending_contact=contact)
