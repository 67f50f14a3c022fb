"""Concurrent commands of one process commit together, on SQLite and on PostgreSQL (one
transaction, one fsync, one lock of the events table), and a conflict in a group fails only its
own command."""

from __future__ import annotations

import threading
import time
from uuid import uuid4

from eventsourcing.persistence import IntegrityError, OperationalError, PersistenceError, StoredEvent

from logistics.adapters.group_commit import GroupCommit
from logistics.adapters.sqlite_writes import GroupCommitRecorder
from logistics.service_layer.audit import verify_history
from tests.helpers import ADMIN, STORES

LOCATIONS = ("loc-stores-a1", "loc-stores-a2", "loc-stores-b1")


def test_eight_stations_scanning_one_dewar_at_once_each_move_is_recorded_once_and_read_back(system):
    dewar_id = system.app.register_facility_dewar("DLS-MX-0042", ADMIN)
    before = len(system.app.history(dewar_id))
    outcomes: list[dict] = []
    gate = threading.Barrier(8)

    def station(n: int) -> None:
        gate.wait()
        for k in range(25):  # eight stations moving one dewar about: most commands race another
            outcomes.append(system.app.scan_dewar("DLS-MX-0042", LOCATIONS[(n + k) % 3], STORES))

    threads = [threading.Thread(target=station, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    moved = sum(o["changed"] for o in outcomes)
    history = system.app.history(dewar_id)
    assert len(outcomes) == 200 and moved > 8
    assert len(history) - before == moved  # every acknowledged move exactly once, and nothing else
    assert [e["version"] for e in history] == list(range(1, len(history) + 1))
    assert system.views.dewar("DLS-MX-0042")["where_code"] == history[-1]["data"]["location"]


def _event(originator_id, version: int) -> StoredEvent:
    return StoredEvent(originator_id=originator_id, originator_version=version,
                       topic="logistics.domain.dewar:Dewar.Moved", state=b"{}")


def test_a_conflict_or_a_bad_value_in_a_group_fails_only_its_own_command_and_the_rest_are_recorded(system):
    recorder = system.app.recorder
    assert isinstance(recorder, GroupCommit)
    first, second, other = uuid4(), uuid4(), uuid4()
    unbindable = StoredEvent(originator_id=uuid4(), originator_version=1, topic="x", state={"not": "bytes"})
    commands = {"first": [_event(first, 1)], "same version again": [_event(first, 1)],
                "two events": [_event(second, 1), _event(second, 2)], "a bad value": [unbindable],
                "another": [_event(other, 1)]}
    results: dict[str, object] = {}

    def command(name: str) -> None:
        try:
            results[name] = recorder.insert_events(commands[name])
        except Exception as e:  # noqa: BLE001 - the outcome is what we examine
            results[name] = e

    head = recorder.max_notification_id() or 0
    with recorder._threads:  # no leader until all of them are queued: then they are one group
        threads = [threading.Thread(target=command, args=(name,)) for name in commands]
        for t in threads:
            t.start()
            time.sleep(0.05)  # queued in this order
        deadline = time.monotonic() + 10
        while len(recorder._queue) < len(commands) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(recorder._queue) == len(commands)
    for t in threads:
        t.join()

    assert isinstance(results.pop("same version again"), IntegrityError)  # the application retries it
    bad = results.pop("a bad value")  # the library's own error, as the driver's would be converted alone
    assert isinstance(bad, PersistenceError) and not isinstance(bad, IntegrityError), repr(bad)
    ids = [*results["first"], *results["two events"], *results["another"]]
    assert ids == sorted(ids) and ids[0] > head and len(set(ids)) == 4
    if isinstance(recorder, GroupCommitRecorder):  # SQLite's have no gaps (PostgreSQL's sequence may)
        assert ids == [head + 1, head + 2, head + 3, head + 4]
    recorded = recorder.select_notifications(start=head, limit=10, inclusive_of_start=False)
    assert [(n.originator_id, n.originator_version) for n in recorded] == [(first, 1), (second, 1), (second, 2),
                                                                           (other, 1)]
    report = verify_history(system.app)  # the failed commands left no links behind; the others are linked
    assert report.ok and report.last == ids[-1], report.sentences()


def test_an_interrupted_leader_keeps_its_interrupt_and_the_others_get_an_error_they_retry(system, monkeypatch):
    recorder = system.app.recorder

    def interrupted(batches):
        raise KeyboardInterrupt

    monkeypatch.setattr(recorder, "_write_group", interrupted)
    results: dict[str, BaseException | object] = {}

    def command(name: str) -> None:
        try:
            results[name] = recorder.insert_events([_event(uuid4(), 1)])
        except BaseException as e:  # noqa: BLE001 - the outcome is what we examine
            results[name] = e

    with recorder._threads:  # one group of three
        threads = [threading.Thread(target=command, args=(name,)) for name in "abc"]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while len(recorder._queue) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    for t in threads:
        t.join()
    outcomes = sorted(type(r).__name__ for r in results.values())
    assert outcomes == ["KeyboardInterrupt", "OperationalError", "OperationalError"], results
    assert all(isinstance(r, (KeyboardInterrupt, OperationalError)) for r in results.values())
