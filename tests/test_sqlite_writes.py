"""SQLite writers queue for one lock, across threads and processes; concurrent commands commit together,
and a conflict in a group fails only its own command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from uuid import uuid4

from eventsourcing.persistence import IntegrityError, StoredEvent

from logistics.adapters.sqlite_writes import GroupCommitRecorder, write_lock
from logistics.bootstrap import bootstrap
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


def test_a_conflict_or_a_bad_value_in_a_group_fails_only_its_own_command_and_the_rest_are_recorded(tmp_path):
    system = bootstrap(f"sqlite:///{tmp_path / 'logistics.db'}")
    recorder = system.app.recorder
    assert isinstance(recorder, GroupCommitRecorder)
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
    with write_lock(tmp_path / "logistics.db"):  # hold the writers back until all of them are queued
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
    assert "not supported" in str(results.pop("a bad value"))
    assert results == {"first": [head + 1], "two events": [head + 2, head + 3], "another": [head + 4]}
    recorded = recorder.select_notifications(start=head, limit=10, inclusive_of_start=False)
    assert [(n.originator_id, n.originator_version) for n in recorded] == [(first, 1), (second, 1), (second, 2),
                                                                           (other, 1)]
    system.close()


HOLDER = """
import sys, time
from logistics.adapters.sqlite_writes import write_lock
with write_lock(sys.argv[1]):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
print("released", flush=True)
"""


def _holder(path, seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True,
                            cwd=os.getcwd())


def test_another_process_waits_for_the_writers_lock_until_it_is_released(tmp_path):
    path = tmp_path / "logistics.db"
    with write_lock(path):
        other = _holder(path, 0)
        time.sleep(0.5)
        assert other.poll() is None, "the other process must not have taken the lock while it is held here"
    assert other.stdout.readline().strip() == "holding"
    assert other.wait(timeout=30) == 0


def test_a_killed_process_holding_the_writers_lock_does_not_stop_the_others(tmp_path):
    path = tmp_path / "logistics.db"
    holder = _holder(path, 3600)
    assert holder.stdout.readline().strip() == "holding"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    taken = threading.Event()

    def take() -> None:
        with write_lock(path):
            taken.set()

    threading.Thread(target=take, daemon=True).start()
    assert taken.wait(timeout=30)
