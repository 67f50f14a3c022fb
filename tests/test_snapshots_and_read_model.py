"""Snapshots load the same aggregate as a full replay; the read model equals a rebuild."""

from __future__ import annotations

import random

import pytest
from eventsourcing.application import project_aggregate

from logistics.domain.errors import DomainError
from tests.helpers import ADMIN, BEAMLINE, STORES, USER, at_facility, proposal_with_contact


def _replayed(app, aggregate_id):
    return project_aggregate(None, app.events.get(aggregate_id))


def test_a_long_lived_facility_dewar_loaded_from_a_snapshot_equals_its_full_replay(system):
    app = system.app
    _, barcode = at_facility(system)
    locations = ["loc-stores-a1", "loc-stores-a2", "loc-ln2-fill", "loc-stores-b1"]
    for n in range(130):
        app.move_dewar(barcode, locations[n % len(locations)], STORES)
        if n % 7 == 0:
            app.top_up(barcode, STORES, 5)
    dewar_id = app.resolve(barcode)[1]
    assert list(app.snapshots.get(dewar_id)), "snapshots were taken"
    from_snapshot = app.repository.get(dewar_id)
    replayed = _replayed(app, dewar_id)
    assert from_snapshot.version == replayed.version > 130
    assert from_snapshot.state() == replayed.state()
    assert vars(from_snapshot) == vars(replayed)


def test_every_snapshot_taken_while_commands_ran_equals_the_replay_of_its_events(system):
    """Snapshots are taken of the aggregate a command saved, not read back: each must hold exactly
    what replaying the stored events up to its version gives, for every kind of aggregate."""
    app = system.app
    app.snapshotting_intervals = {kind: 3 for kind in app.snapshotting_intervals}
    _random_commands(system, random.Random(3), 150)
    checked = set()
    for notification in app.recorder.select_notifications(start=1, limit=100_000):
        aggregate_id = notification.originator_id
        if aggregate_id in checked:
            continue
        checked.add(aggregate_id)
        for snapshot in app.snapshots.get(aggregate_id):
            replayed = project_aggregate(None, app.events.get(aggregate_id, lte=snapshot.originator_version))
            assert vars(snapshot.mutate(None)) == vars(replayed), (type(replayed).__name__, snapshot.originator_version)
    kinds = {type(app.repository.get(i)).__name__ for i in checked if list(app.snapshots.get(i))}
    assert {"Dewar", "Container", "Shipment"} <= kinds, kinds


def _random_commands(system, rng: random.Random, steps: int) -> int:
    app = system.app
    contact = proposal_with_contact(system)
    shipments = [app.create_shipment("mx23694", f"Random {n}", USER, sending_contact=contact) for n in range(3)]
    dewars = [app.add_mail_in_dewar(s, 1, "i03", USER) for s in shipments]
    pucks = []
    for n, dewar in enumerate(dewars):
        for m in range(2):
            puck = f"RND-{n}{m}"
            app.add_container(puck, "unipuck", dewar, USER)
            pucks.append(puck)
    locations = ["loc-goods-in", "loc-stores-a1", "loc-stores-b2", "loc-dispatch"]
    actions = [
        lambda: app.mark_sent(rng.choice(shipments), USER),
        lambda: app.scan_dewar(rng.choice(dewars), rng.choice(locations), STORES),
        lambda: app.move_dewar(rng.choice(dewars), rng.choice(locations), STORES),
        lambda: app.take_to_instrument(rng.choice(dewars), rng.choice(["i03", "i04"]), BEAMLINE),
        lambda: app.load(rng.choice(pucks), rng.choice(["i03", "i04"]), str(rng.randint(1, 37)), BEAMLINE),
        lambda: app.unload(rng.choice(pucks), BEAMLINE),
        lambda: app.request_dispatch(rng.choice(dewars), USER),
        lambda: app.book_dispatch(rng.choice(dewars), "dhl", "1234567891", STORES),
        lambda: app.scan_out(rng.choice(dewars), STORES),
        lambda: app.top_up(rng.choice(dewars), STORES, 3),
        lambda: app.add_sample(rng.choice(pucks), str(rng.randint(1, 16)), "mx-crystal", "s", {"protein_acronym": "x"}, USER),
        lambda: app.register_facility_dewar(f"DLS-MX-{rng.randint(1, 30):04d}", ADMIN),
    ]
    refused = 0
    for _ in range(steps):
        try:
            rng.choice(actions)()
        except DomainError:
            refused += 1
    return refused


@pytest.mark.parametrize("seed", [1, 2])
def test_the_read_model_equals_a_rebuild_after_a_random_sequence_of_commands(system, seed):
    refused = _random_commands(system, random.Random(seed), 150)
    assert refused < 150, "some commands must succeed for the comparison to mean anything"
    live = system.projection.dump()
    assert live["rm_dewars"] and live["rm_containers"]
    system.projection.rebuild()
    assert system.projection.dump() == live


def test_a_change_is_visible_to_the_next_query_when_the_command_returns(system):
    app, views = system.app, system.views
    _, barcode = at_facility(system)
    for location in ["loc-stores-a1", "loc-stores-a2", "loc-stores-b1", "loc-stores-b2"] * 5:
        app.move_dewar(barcode, location, STORES)
        assert [d["barcode"] for d in views.dewars_at(location)] == [barcode]
