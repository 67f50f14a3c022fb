"""Ten facility-years: simulated history, read-model rebuild and list queries.

* rebuild rate: `rebuild-read-model` events/s vs raw reads of the same notifications
  (the event store's own select_notifications, no decoding) in the same run;
* list queries ("dewars at location", "shipments of proposal", a page of dewars by workflow):
  p50/p99 through the views vs the same SQL run raw, in the same run; target p99 <= 20 ms.

LOGISTICS_BENCH_YEARS (default 10) and LOGISTICS_BENCH_PG_YEARS (default 1; 0 skips
PostgreSQL) size it; LOGISTICS_BENCH_REBUILD_JOBS sets the rebuild's worker processes (default:
as `logistics rebuild-read-model`, one per core up to four). Ten years on SQLite takes several minutes.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402
from tqdm import tqdm  # noqa: E402

from bench.support import scratch_postgres  # noqa: E402
from logistics.adapters.read_model import dewars, shipments  # noqa: E402
from logistics.bootstrap import bootstrap, default_rebuild_jobs, rebuild_read_model, register_reference_data  # noqa: E402
from logistics.entrypoints.simulate import STORAGE, Simulation  # noqa: E402


REBUILD_JOBS = int(os.environ.get("LOGISTICS_BENCH_REBUILD_JOBS", default_rebuild_jobs()))


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def timed(fn, args_list) -> list[float]:
    times = []
    for args in args_list:
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return times


def run(name: str, url: str, years: float) -> None:
    from datetime import datetime, timedelta, timezone
    system = bootstrap(url)
    register_reference_data(system.app)
    simulation = Simulation(system.app, seed=7)
    start = time.perf_counter()
    with tqdm(total=int(years * 3000), desc=f"{name}: simulating {years:g} years", unit="shipment",
              file=sys.stderr) as bar:
        shipments_made = simulation.run(years, datetime.now(timezone.utc) - timedelta(days=365.25 * years), bar.update)
    made = time.perf_counter() - start
    events = simulation.saved_events
    print(f"{name:<11} simulated {shipments_made} shipments, {events} events in {made:.0f} s ({events / made:.0f} events/s)")

    recorder = system.app.recorder
    start, position = time.perf_counter(), 0
    while True:
        batch = recorder.select_notifications(start=position, limit=2000, inclusive_of_start=False)
        if not batch:
            break
        position = batch[-1].id
    raw_reads = events / (time.perf_counter() - start)
    with tqdm(total=events, desc=f"{name}: rebuilding read model", unit="event", file=sys.stderr) as bar:
        start = time.perf_counter()
        applied = rebuild_read_model(system, REBUILD_JOBS, progress=bar.update)
        rebuild = applied / (time.perf_counter() - start)
    print(f"{name:<11} read-model rebuild ({REBUILD_JOBS} processes): {rebuild:.0f} events/s = "
          f"{rebuild / raw_reads:.2f}x raw notification reads "
          f"({raw_reads:.0f}/s) (target >= 0.25x)")

    views, engine, rng = system.views, system.projection.engine, random.Random(1)
    proposals = simulation.proposals
    locations = [*STORAGE, "loc-goods-in", "loc-dispatch"]
    queries = {
        "dewars at location": (views.dewars_at, [(rng.choice(locations),) for _ in range(300)],
                               lambda loc: select(dewars).where(dewars.c.where_kind == "storage",
                                                                dewars.c.where_code == loc).order_by(dewars.c.barcode)),
        "shipments of proposal": (views.shipments_of, [(rng.choice(proposals),) for _ in range(300)],
                                  lambda p: select(shipments).where(shipments.c.proposal == p)
                                  .order_by(shipments.c.registered_at)),
        "50 returned dewars of a proposal": (
            lambda p: views.page("dewar", proposals=frozenset({p}), first=50, workflow="returned"),
            [(rng.choice(proposals),) for _ in range(300)],
            lambda p: select(dewars).where(dewars.c.proposal == p, dewars.c.workflow == "returned")
            .order_by(dewars.c.barcode, dewars.c.id).limit(51)),
    }
    with engine.connect() as conn:
        for label, (fn, args, raw_query) in queries.items():
            timed(fn, args[:20])
            p50, p99 = percentiles(timed(fn, args))
            raw50, raw99 = percentiles(timed(lambda *a: conn.execute(raw_query(*a)).fetchall(), args))
            print(f"{name:<11} {label:<34} p50 {p50 * 1e3:6.2f} ms  p99 {p99 * 1e3:6.2f} ms "
                  f"= {p99 / raw99:4.2f}x raw SQL p99 ({raw99 * 1e3:.2f} ms) (target p99 <= 20 ms)")
    system.close()


def main() -> None:
    years = float(os.environ.get("LOGISTICS_BENCH_YEARS", "10"))
    pg_years = float(os.environ.get("LOGISTICS_BENCH_PG_YEARS", "1"))
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{Path(tmp) / 'scale.db'}", years)
    if pg_years <= 0:
        return
    with scratch_postgres("logistics_scale") as url:
        if url is not None:
            run("postgresql", url, pg_years)

if __name__ == "__main__":
    main()
