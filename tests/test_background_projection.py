"""A server projects in the background: a command returns once its events are durable, a thread
keeps the read model up to date, and every read waits until the read model holds every event
recorded so far, so a client always reads its own change back, from any process."""

from __future__ import annotations

import time

from logistics.bootstrap import bootstrap
from tests.helpers import STORES, at_facility, event_count


def test_a_read_right_after_a_command_sees_it_and_the_thread_projects_without_any_reader(system):
    _, barcode = at_facility(system)
    system.project_in_background()
    kind, dewar_id = system.app.resolve(barcode)
    for location in ("loc-stores-a1", "loc-stores-b1", "loc-stores-a2"):
        system.app.scan_dewar(barcode, location, STORES)
        assert system.views.row(kind, dewar_id)["where_code"] == location  # read-your-writes
    system.app.scan_dewar(barcode, "loc-stores-a1", STORES)
    deadline = time.monotonic() + 10
    while system.projection.position() < event_count(system):  # no reader asks: the thread applies it
        assert time.monotonic() < deadline, "the background projection did not catch up"
        time.sleep(0.02)
    system.views.before_read = lambda: None
    assert system.views.row(kind, dewar_id)["where_code"] == "loc-stores-a1"


def test_events_a_process_recorded_but_never_projected_are_applied_by_the_next_reader_anywhere(system, database_url):
    _, barcode = at_facility(system)
    system.project_in_background()
    system.projection.stop_following()  # as if the process died right after acknowledging
    system.app.on_recorded = lambda _notification_id: None
    system.app.scan_dewar(barcode, "loc-stores-b1", STORES)
    assert system.projection.position() < event_count(system)
    other = bootstrap(database_url)  # another process: a server, or the CLI, whose reads wait all the same
    try:
        kind, dewar_id = other.app.resolve(barcode)
        assert other.views.row(kind, dewar_id)["where_code"] == "loc-stores-b1"
        assert other.projection.position() == event_count(other)
    finally:
        other.close()
    assert other.projection.dump() == system.projection.dump()


def test_while_the_read_model_cannot_be_written_reads_answer_as_it_is_and_it_catches_up_after(system, caplog):
    _, barcode = at_facility(system)
    system.project_in_background()
    kind, dewar_id = system.app.resolve(barcode)
    write = system.projection._write

    def broken(conn, prepared):
        raise RuntimeError("disk full")

    system.projection._write = broken
    system.app.scan_dewar(barcode, "loc-stores-b1", STORES)  # acknowledged: the events are durable
    assert system.views.row(kind, dewar_id)["where_code"] == "loc-goods-in"  # stale, but an answer
    assert "could not catch up" in caplog.text and "disk full" in caplog.text
    system.projection._write = write
    deadline = time.monotonic() + 15
    while system.views.row(kind, dewar_id)["where_code"] != "loc-stores-b1":
        assert time.monotonic() < deadline, "the projection did not catch up once it could"
        time.sleep(0.05)
    assert system.projection.position() == event_count(system)
