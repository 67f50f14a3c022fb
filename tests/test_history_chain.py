"""A history that proves itself: someone with database access edits, deletes, swaps or cuts
events, and `logistics verify` names the first broken link; a kept anchor proves the history
before it unchanged even when the links were recomputed. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing
import threading
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from sqlalchemy import text

from logistics.bootstrap import bootstrap
from logistics.domain.chain import Anchor, Head, link_events
from logistics.service_layer import audit
from tests.helpers import ADMIN, STORES, packed_dewar
from tests.test_cli import logistics

LOCATIONS = ("loc-stores-a1", "loc-stores-a2", "loc-stores-b1")


def _sql(system, statement: str, **params: Any) -> list[Any]:
    """What someone with the database's password can do, bypassing the tracker."""
    table = system.app.recorder.events_table_name
    position = "rowid" if system.database.is_sqlite else "notification_id"
    engine = system.database.engine(writer=True)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement.format(events=table, position=position)), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def _edit_state(system, position: int) -> None:
    """One byte more in an event's state blob."""
    if system.database.is_sqlite:
        _sql(system, "UPDATE {events} SET state = CAST(state || ' ' AS BLOB) WHERE {position} = :p", p=position)
    else:
        _sql(system, "UPDATE {events} SET state = state || '\\x20'::bytea WHERE {position} = :p", p=position)


def _event_at(system, position: int) -> tuple[str, int]:
    n = system.app.recorder.select_notifications(position, 1)[0]
    assert n.id == position
    return str(n.originator_id), n.originator_version


@pytest.fixture
def history(system):
    """A dewar's trip: registered, packed, scanned about; about a hundred events in all."""
    _shipment, barcode = packed_dewar(system)
    for n in range(6):
        system.app.scan_dewar(barcode, LOCATIONS[n % 3], STORES)
    return system


def _verify(system, **kwargs: Any) -> audit.Report:
    return audit.verify_history(system.app, **kwargs)


def test_a_history_nobody_touched_verifies_from_the_first_event_to_the_last(history):
    report = _verify(history)
    last = history.app.recorder.max_notification_id()
    assert report.ok and report.broken is None
    assert (report.first, report.last, report.checked) == (1, last, last)
    assert report.head.position == last and report.trusted_from == 1
    assert report.sentences()[0] == f"the history holds: {last} events checked, positions 1 to {last}"


def test_an_edited_state_blob_is_caught_and_named_by_aggregate_version_and_position(history):
    position = 40
    aggregate, version = _event_at(history, position)
    _edit_state(history, position)

    broken = _verify(history).broken
    assert (broken.position, broken.aggregate, broken.version) == (position, aggregate, version)
    assert broken.sentence() == (f"position {position} (aggregate {aggregate} version {version}): "
                                 "the event was altered: its content no longer matches its hash")


def test_a_deleted_event_is_caught_where_it_was(history):
    aggregate, version = _event_at(history, 30)
    _sql(history, "DELETE FROM {events} WHERE {position} = 30")

    broken = _verify(history).broken
    assert (broken.position, broken.aggregate, broken.version) == (30, aggregate, version)
    assert broken.problem == "the event the chain recorded here is missing: it was deleted"


def test_a_deleted_event_and_its_link_are_caught_at_the_next_link(history):
    _sql(history, "DELETE FROM {events} WHERE {position} = 30")
    _sql(history, "DELETE FROM event_chain WHERE position = 30")

    broken = _verify(history).broken
    assert broken.position > 30 and not _verify(history).ok
    assert ("was removed" in broken.problem or "is missing" in broken.problem
            or "does not follow from position 29" in broken.problem), broken.problem


def test_two_swapped_events_are_caught_as_reordered(history):
    first, second = _event_at(history, 20), _event_at(history, 50)
    _sql(history, "UPDATE {events} SET {position} = -1 WHERE {position} = 20")
    _sql(history, "UPDATE {events} SET {position} = 20 WHERE {position} = 50")
    _sql(history, "UPDATE {events} SET {position} = 50 WHERE {position} = -1")
    assert _event_at(history, 20) == second

    broken = _verify(history).broken
    assert (broken.position, broken.aggregate, broken.version) == (20, *first)
    assert broken.problem == (f"holds aggregate {second[0]} version {second[1]} instead: "
                              "events were reordered or replaced")


def test_a_truncated_tail_is_caught_at_its_first_missing_event(history):
    last = history.app.recorder.max_notification_id()
    aggregate, version = _event_at(history, last - 4)
    _sql(history, "DELETE FROM {events} WHERE {position} > :p", p=last - 5)

    broken = _verify(history).broken
    assert (broken.position, broken.aggregate, broken.version) == (last - 4, aggregate, version)
    assert "missing: it was deleted" in broken.problem


def test_a_tail_cut_with_its_links_is_caught_by_the_head(history):
    last = history.app.recorder.max_notification_id()
    _sql(history, "DELETE FROM {events} WHERE {position} > :p", p=last - 5)
    _sql(history, "DELETE FROM event_chain WHERE position > :p", p=last - 5)

    broken = _verify(history).broken
    assert broken.position == last
    assert broken.problem == (f"the head names this position but the history ends at position {last - 5}: "
                              "its tail was removed")


def test_a_kept_anchor_proves_the_history_before_it_even_when_every_link_was_recomputed(history):
    anchor = _verify(history).head
    assert _verify(history, anchor=anchor).ok

    # someone edits an event and recomputes every link and the head, so the chain holds by itself
    _edit_state(history, 40)
    _sql(history, "DELETE FROM event_chain_head")
    audit.backfill_chain(history.app)
    assert _verify(history).ok  # without the anchor nothing shows

    report = _verify(history, anchor=anchor)
    assert not report.ok
    assert report.broken.position == anchor.position
    assert report.broken.problem.endswith(f"not the anchor's {anchor.hash}: the history up to the anchor was rewritten")


def test_an_anchor_is_read_back_from_the_line_verify_prints():
    line = "anchor: position 663 hash " + "ab" * 32 + " at 2026-12-03T21:13:11Z"
    assert Anchor.parse(line) == Anchor(663, "ab" * 32, "2026-12-03T21:13:11Z")
    assert Anchor.parse(json.dumps({"anchor": {"position": 5, "hash": "CD" * 32, "time": "t"}})) == \
        Anchor(5, "cd" * 32, "t")
    with pytest.raises(ValueError, match="an anchor is the line 'anchor: position N hash HEX at TIME'"):
        Anchor.parse("position five")


def test_verifying_since_a_position_checks_only_from_there(history):
    last = history.app.recorder.max_notification_id()
    _sql(history, "DELETE FROM {events} WHERE {position} = 10")
    report = _verify(history, since=20)
    assert report.ok and (report.first, report.last) == (20, last)
    assert not _verify(history).ok


def test_a_database_recorded_before_the_chain_is_linked_once_and_trusted_from_then_on(history):
    last = history.app.recorder.max_notification_id()
    _sql(history, "DELETE FROM event_chain")  # as a database from before this change: no links, no head
    _sql(history, "DELETE FROM event_chain_head")

    report = _verify(history)
    assert not report.ok and "no chain yet: run 'logistics verify --backfill' once" in report.broken.problem

    head = audit.backfill_chain(history.app)
    assert (head.backfilled_through, head.trusted_from) == (last, last + 1)
    with pytest.raises(Exception, match="already linked: there is nothing to backfill"):
        audit.backfill_chain(history.app)

    history.app.register_facility_dewar("DLS-MX-0043", ADMIN)  # linked as it is recorded, after the backfill
    report = _verify(history)
    assert report.ok and report.last > last
    assert report.sentences()[1] == (f"positions up to {last} were linked afterwards (backfill); "
                                     f"links are made as events are recorded from position {last + 1}")


def test_the_links_recorded_are_the_ones_chain_py_makes_alone_and_in_a_group_with_a_failed_command(system):
    """On PostgreSQL the server makes the links (a PL/pgSQL function): byte for byte chain.py's."""
    recorder = system.app.recorder
    head = recorder.chain_head()
    a, b = uuid4(), uuid4()

    def event(aggregate, version: int, state: bytes = b'{"k": 1}') -> StoredEvent:
        return StoredEvent(aggregate, version, "logistics.domain.dewar:Dewar.Moved \u00e9", state)

    alone = [event(a, 1), event(b, 1, b""), event(a, 2)]  # two aggregates, one twice
    ids = list(recorder.insert_events(alone))
    group = [[event(a, 3)], [event(b, 1)], [event(b, 2), event(a, 4)]]  # the second conflicts
    done, errors = recorder._write_group(group)
    assert list(errors) == [1] and isinstance(errors[1], IntegrityError)
    ids += [*done[0], *done[2]]

    expected, _ = link_events(Head(head.position, head.chain_hash), [*alone, *group[0], *group[2]], ids, {})
    assert recorder.chain_rows(head.position, 10) == expected
    assert recorder.chain_head().chain_hash == expected[-1].chain_hash
    assert _verify(system).ok


def test_sqlite_keeps_only_committed_links_a_failed_commit_leaves_none_behind(tmp_path, monkeypatch):
    """The SQLite recorder keeps each aggregate's last committed link (no query for it on the
    next command): a link whose transaction did not commit must not be the one the next follows."""
    from eventsourcing.persistence import OperationalError
    from logistics.adapters.sqlite_writes import SQLiteLinker

    system = bootstrap(f"sqlite:///{tmp_path / 'logistics.db'}")
    try:
        recorder = system.app.recorder
        a = uuid4()

        def event(version: int, state: bytes) -> StoredEvent:
            return StoredEvent(a, version, "logistics.domain.dewar:Dewar.Moved", state)

        recorder.insert_events([event(1, b"1")])
        with monkeypatch.context() as patch:
            def fail(self):
                raise OperationalError("the commit failed")
            patch.setattr(SQLiteLinker, "finish", fail)
            with pytest.raises(OperationalError):
                recorder.insert_events([event(2, b"never recorded")])
        assert recorder._links[str(a)][0] == 1
        recorder.insert_events([event(2, b"2")])
        recorder.insert_events([event(3, b"3")])  # follows the kept link of version 2 as recorded
        assert recorder._links[str(a)] == (3, recorder.chain_rows_of(str(a))[-1].event_hash)
        assert _verify(system).ok
    finally:
        system.close()


def test_stations_scanning_at_once_in_one_process_leave_a_history_that_verifies(system):
    system.app.register_facility_dewar("DLS-MX-0042", ADMIN)
    gate = threading.Barrier(6)

    def station(n: int) -> None:
        gate.wait()
        for k in range(15):
            system.app.scan_dewar("DLS-MX-0042", LOCATIONS[(n + k) % 3], STORES)
            system.app.register_facility_dewar(f"DLS-CY-{n}{k:03d}", ADMIN)

    threads = [threading.Thread(target=station, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = _verify(system)
    assert report.ok, report.sentences()
    assert report.last == system.app.recorder.max_notification_id()


def _record_in_another_process(url: str, n: int) -> None:
    other = bootstrap(url)
    try:
        other.project_elsewhere()
        for k in range(20):
            other.app.register_facility_dewar(f"DLS-BI-{n}{k:03d}", ADMIN)
    finally:
        other.close()


def test_processes_recording_at_once_leave_one_facility_chain_that_verifies(system, database_url):
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_record_in_another_process, args=(database_url, n)) for n in range(3)]
    for p in processes:
        p.start()
    for k in range(20):
        system.app.register_facility_dewar(f"DLS-EM-{k:04d}", ADMIN)
    for p in processes:
        p.join(120)
        assert p.exitcode == 0
    report = _verify(system)
    assert report.ok, report.sentences()
    assert report.checked >= 4 * 20 * 2


def test_verify_at_the_terminal_exits_1_and_names_the_break(history, database_url, tmp_path):
    kept = logistics(tmp_path, "verify", "--anchor", database=database_url)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.splitlines()[-1].startswith("anchor: position ")
    assert "verifying history" in kept.stderr  # the progress bar
    (tmp_path / "anchor.txt").write_text(kept.stdout.splitlines()[-1])

    aggregate, version = _event_at(history, 30)
    _sql(history, "DELETE FROM {events} WHERE {position} = 30")
    result = logistics(tmp_path, "verify", "--anchor-file", str(tmp_path / "anchor.txt"), database=database_url)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (f"BROKEN at position 30 (aggregate {aggregate} version {version}): "
                                             "the event the chain recorded here is missing: it was deleted")
    data = json.loads(logistics(tmp_path, "verify", "--json", database=database_url).stdout)
    assert data["ok"] is False and data["broken"]["position"] == 30


def test_an_audit_export_of_one_dewar_carries_each_events_hashes_and_says_whether_they_hold(history, database_url,
                                                                                             tmp_path):
    barcode = history.views.dewars()[0]["barcode"]
    exported = logistics(tmp_path, "history", barcode, "--format", "json", database=database_url)
    assert exported.returncode == 0, exported.stderr
    proof = json.loads(exported.stdout)
    events = proof["events"]
    assert proof["name"] == barcode and proof["kind"] == "dewar" and proof["holds"] is True
    assert [e["version"] for e in events] == list(range(1, len(events) + 1)) and len(events) >= 8
    assert events[0]["previous_hash"] == "00" * 32
    assert all(e["matches"] and e["previous_hash"] == p["event_hash"] for p, e in zip(events, events[1:]))
    assert events[0]["event"] == "Registered" and events[-1]["event"] == "Moved"
    assert proof["head"]["position"] == history.app.recorder.max_notification_id()

    pdf = logistics(tmp_path, "history", barcode, "--format", "pdf", "-o", "dewar.pdf", database=database_url)
    assert pdf.returncode == 0, pdf.stderr
    assert pdf.stdout.strip() == f"wrote dewar.pdf: {len(events)} events of dewar {barcode}, its chain holds"
    assert (tmp_path / "dewar.pdf").read_bytes()[:5] == b"%PDF-"

    _edit_state(history, events[2]["position"])
    proof = json.loads(logistics(tmp_path, "history", barcode, "--format", "json", database=database_url).stdout)
    assert proof["holds"] is False and [e["matches"] for e in proof["events"]][2] is False
    tampered = logistics(tmp_path, "history", barcode, "--format", "pdf", "-o", "dewar.pdf", database=database_url)
    assert tampered.returncode == 1 and tampered.stdout.strip().endswith("its chain DOES NOT HOLD")
