"""A simulated facility history goes through the aggregates' rules and reads back consistently."""

from __future__ import annotations

from collections import Counter

from logistics.bootstrap import rebuild_read_model
from logistics.entrypoints.simulate import simulate


def test_a_simulated_month_is_a_consistent_facility_history_and_rebuilds_alike_in_one_or_two_processes(system):
    result = simulate(system, years=1 / 12, seed=3, progress=lambda n: None, catch_up_progress=None)
    assert result["shipments"] == 750 // 3 and result["events"] > 10_000
    dewars = system.views.dewars()
    workflows = Counter(d["workflow"] for d in dewars if d["shipment_id"])
    assert workflows["returned"] > 0.9 * sum(workflows.values())
    assert all(d["where_kind"] == "offsite" for d in dewars if d["workflow"] == "returned")
    facility = [d for d in dewars if d["facility_code"]]
    assert len(facility) == 40 and any(d["shipment_id"] for d in facility)
    reused = max(len([e for e in system.app.history(d["id"]) if e["event"] == "AssignedToShipment"]) for d in facility)
    assert reused >= 2, "facility dewars are reused trip after trip"
    changer = system.app.changer("i03")
    assert not changer.occupied, "every simulated load was unloaded again"
    times = [e["time"] for e in system.app.history(dewars[0]["id"])]
    assert times == sorted(times)
    live = system.projection.dump()
    system.projection.rebuild()
    assert system.projection.dump() == live
    assert rebuild_read_model(system, jobs=2) == system.app.recorder.max_notification_id()  # in batches of 10,000
    assert system.projection.dump() == live
