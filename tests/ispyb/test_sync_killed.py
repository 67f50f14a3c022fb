"""`logistics ispyb sync` killed with SIGKILL at any moment and started again: ISPyB ends up exactly
as after one uninterrupted sync, no row twice and none missing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from sqlalchemy import delete, text, update

from logistics.adapters.ispyb import projection as ispyb_projection
from logistics.adapters.projection import tracking
from logistics.entrypoints.ispyb_cli import open_sync
from logistics.entrypoints.simulate import simulate
from tests.ispyb.support import add_every_proposal, rows

# What every row of ours says, by our ids rather than ISPyB's (which differ from one run to another).
FINGERPRINTS = {
    "Shipping": "SELECT s.source, s.shippingStatus FROM Shipping s",
    "Dewar": "SELECT d.source, s.source, d.dewarStatus, d.storageLocation, d.barCode FROM Dewar d "
             "JOIN Shipping s ON s.shippingId = d.shippingId",
    "DewarTransportHistory": "SELECT d.source, s.source, h.dewarStatus, h.storageLocation, h.arrivalDate "
                             "FROM DewarTransportHistory h JOIN Dewar d ON d.dewarId = h.dewarId "
                             "JOIN Shipping s ON s.shippingId = d.shippingId",
    "Container": "SELECT c.source, d.source, s.source, c.containerStatus, c.barcode, p.source FROM Container c "
                 "LEFT JOIN Dewar d ON d.dewarId = c.dewarId LEFT JOIN Shipping s ON s.shippingId = d.shippingId "
                 "LEFT JOIN Container p ON p.containerId = c.parentContainerId",
    "ContainerHistory": "SELECT c.source, d.source, h.status, h.location, h.beamlineName, h.blTimeStamp "
                        "FROM ContainerHistory h JOIN Container c ON c.containerId = h.containerId "
                        "LEFT JOIN Dewar d ON d.dewarId = c.dewarId",
    "BLSample": "SELECT b.source, c.source, b.location, b.name, x.spaceGroup, p.acronym FROM BLSample b "
                "LEFT JOIN Container c ON c.containerId = b.containerId LEFT JOIN Crystal x ON x.crystalId = b.crystalId "
                "LEFT JOIN Protein p ON p.proteinId = x.proteinId",
    "Protein": "SELECT proposalId, acronym FROM Protein",
    "ContainerRegistry": "SELECT barcode FROM ContainerRegistry",
    "DewarRegistry": "SELECT facilityCode FROM DewarRegistry",
    "ShippingHasSession": "SELECT s.source, h.sessionId FROM ShippingHasSession h JOIN Shipping s ON s.shippingId = h.shippingId",
}


def fingerprint(engine: Any) -> dict[str, Counter]:
    with engine.connect() as conn:
        return {table: Counter(tuple(r) for r in conn.execute(text(sql))) for table, sql in FINGERPRINTS.items()}


def start_over(system: Any, engine: Any) -> None:
    """ISPyB without our rows, and our side of the sync forgotten."""
    with engine.begin() as conn:
        conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
        for table in [*FINGERPRINTS, "Crystal", "DiffractionPlan"]:
            conn.execute(text(f"DELETE FROM `{table}`"))
        conn.execute(text("SET FOREIGN_KEY_CHECKS = 1"))
    with system.database.engine(writer=True).begin() as conn:
        for table in ispyb_projection.metadata.sorted_tables:
            conn.execute(delete(table))
        conn.execute(update(tracking).where(tracking.c.name == "ispyb").values(position=0))


def test_a_sync_killed_at_any_moment_and_started_again_leaves_ispyb_as_one_uninterrupted_sync(system, ispyb_url):
    simulate(system, years=1 / 24, seed=5, progress=lambda n: None, catch_up_progress=None)
    sync = open_sync(system, ispyb_url)
    add_every_proposal(system, sync.engine)
    url = system.database.url.render_as_string(hide_password=False)
    command = [sys.executable, "-m", "logistics", "--database", url, "ispyb", "sync", "--url", ispyb_url, "--interval", "0.05"]
    total = system.app.recorder.max_notification_id()
    rng = random.Random(7)
    for attempt in range(5):  # a sync that outran the kills (it reached the end before the fourth) starts over
        positions: list[int] = []
        while len(positions) < 4 and (not positions or positions[-1] < total):
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))
            deadline = time.monotonic() + 30
            while sync.projection.position() == (positions[-1] if positions else 0) and time.monotonic() < deadline:
                time.sleep(0.02)  # until it has written something, so that each kill lands mid-sync
            time.sleep(rng.uniform(0.0, 0.15))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            positions.append(sync.projection.position())
        if len(positions) == 4 and positions[-1] < total:
            break
        start_over(system, sync.engine)
    else:
        raise AssertionError(f"the sync never was killed four times mid-way: last positions {positions} of {total}")
    print("positions after each SIGKILL:", positions, "of", total)
    while sync.run_once():
        pass
    extra = [(n.topic, n.state[:300]) for n in system.app.recorder.select_notifications(total + 1, 50)]
    assert sync.projection.position() == total, extra
    killed = fingerprint(sync.engine)

    start_over(system, sync.engine)
    sync.close()
    again = open_sync(system, ispyb_url)  # the proposals and visits are still there
    while again.run_once():
        pass
    whole = fingerprint(again.engine)
    again.close()
    assert {t: sum(c.values()) for t, c in killed.items()} == {t: sum(c.values()) for t, c in whole.items()}
    assert killed == whole
    assert whole["BLSample"] and whole["ContainerHistory"] and whole["DewarTransportHistory"]
    assert rows(again.engine, "SELECT COUNT(*) n FROM (SELECT source FROM BLSample GROUP BY source HAVING COUNT(*) > 1) x") == [{"n": 0}]


def test_a_sync_that_dies_after_ispyb_committed_and_before_we_did_replays_that_batch_without_a_duplicate(
        system, ispyb_url, monkeypatch):
    import pytest
    from logistics.adapters.fixture_files import load_demo
    from logistics.entrypoints.demo import load_demo as run_demo

    from logistics.domain.by import By
    run_demo(system.app, load_demo(), lambda n: None, accounts=system.accounts)
    system.app.unload("CPS-1001", By("account:beamline", "i03"))  # loaded, then unloaded: two history rows
    sync = open_sync(system, ispyb_url)
    add_every_proposal(system, sync.engine)
    record = ispyb_projection._Writer.record

    def die(writer: Any) -> None:
        raise OSError("killed between the two commits")
    monkeypatch.setattr(ispyb_projection._Writer, "record", die)
    with pytest.raises(OSError):
        sync.run_once()
    assert sync.projection.position() == 0 and rows(sync.engine, "SELECT COUNT(*) n FROM Shipping") != [{"n": 0}]
    monkeypatch.setattr(ispyb_projection._Writer, "record", record)
    recorded = system.app.recorder.max_notification_id()
    while sync.run_once():
        pass
    # the demo's loaded pucks were in the batch ISPyB kept: read back, they are ours, not the beamline's
    echoed = [n.topic for n in system.app.recorder.select_notifications(recorded + 1, 50)]
    assert echoed == [], echoed
    after_failure = fingerprint(sync.engine)

    start_over(system, sync.engine)
    sync.close()
    again = open_sync(system, ispyb_url)
    while again.run_once():
        pass
    assert fingerprint(again.engine) == after_failure
    again.close()
