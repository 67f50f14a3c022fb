"""Beside ISPyB: how fast a simulated facility year reaches ISPyB.

* sync rate: `logistics ispyb sync` (the projection into a fresh MariaDB database with the ISPyB
  schema, from the first event to the last) in events/s and ISPyB rows/s;
* baseline, in the same run and the same database: the very rows it wrote, deleted and inserted
  again raw (one executemany per table in foreign-key order, PyMySQL's multi-row INSERTs, in
  transactions of 5,000 rows), in rows/s. The ratio is sync time over raw time.

LOGISTICS_BENCH_ISPYB_YEARS (default 1) sizes it; LOGISTICS_BENCH_MARIADB (default
mysql+pymysql://root@127.0.0.1:3306/test) names the server. Skipped when MariaDB does not answer.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from logistics.adapters.ispyb.projection import ispyb_table  # noqa: E402
from logistics.adapters.ispyb.schema import TABLES, create_tables, ispyb_engine  # noqa: E402
from logistics.bootstrap import bootstrap, register_reference_data  # noqa: E402
from logistics.entrypoints.ispyb_cli import open_sync  # noqa: E402
from logistics.entrypoints.simulate import simulate  # noqa: E402
from tests.ispyb.support import add_every_proposal  # noqa: E402

YEARS = float(os.environ.get("LOGISTICS_BENCH_ISPYB_YEARS", "1"))
SERVER = os.environ.get("LOGISTICS_BENCH_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
# Foreign-key order: the rows the sync writes, parents first.
WRITTEN = ["Protein", "DewarRegistry", "ContainerRegistry", "Shipping", "ShippingHasSession", "Dewar",
           "DewarTransportHistory", "Container", "ContainerHistory", "Crystal", "DiffractionPlan", "BLSample"]


def main() -> int:
    import pymysql
    url = make_url(SERVER)
    try:
        admin = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
                                autocommit=True, connect_timeout=3)
    except Exception as e:  # noqa: BLE001 - no MariaDB, no benchmark
        print(f"mariadb  skipped: {e}")
        return 0
    name = f"bench_ispyb_{os.getpid()}"
    admin.cursor().execute(f"CREATE DATABASE `{name}`")
    ispyb_url = SERVER.rsplit("/", 1)[0] + "/" + name
    try:
        with tempfile.TemporaryDirectory() as folder:
            system = bootstrap(f"sqlite:///{folder}/bench.db")
            register_reference_data(system.app)
            started = time.perf_counter()
            result = simulate(system, years=YEARS, seed=1, progress=lambda n: None, catch_up_progress=None)
            print(f"simulated {YEARS:g} year(s): {result['shipments']} shipments, {result['events']} events "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
            engine = ispyb_engine(ispyb_url)
            create_tables(engine, TABLES)
            add_every_proposal(system, engine)
            sync = open_sync(system, ispyb_url)
            started = time.perf_counter()
            events = 0
            while (done := sync.run_once()):
                events += done.applied
            synced = time.perf_counter() - started
            assert done.waiting == 0, f"{done.waiting} records wait"
            with engine.connect() as conn:
                dumped = {t: [dict(r._mapping) for r in conn.execute(ispyb_table(t).select())] for t in WRITTEN}
            count = sum(len(rows) for rows in dumped.values())
            print(f"sync      {events} events, {count} ISPyB rows in {synced:.1f} s: {events / synced:,.0f} events/s, "
                  f"{count / synced:,.0f} rows/s", flush=True)
            with engine.begin() as conn:
                conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
                for table in reversed(WRITTEN):
                    conn.execute(text(f"DELETE FROM `{table}`"))
                conn.execute(text("SET FOREIGN_KEY_CHECKS = 1"))
            started = time.perf_counter()
            for table in WRITTEN:
                rows = dumped[table]
                for start in range(0, len(rows), 5000):
                    with engine.begin() as conn:
                        conn.execute(insert(ispyb_table(table)), rows[start:start + 5000])
            raw = time.perf_counter() - started
            print(f"raw       {count} rows inserted again in {raw:.1f} s: {count / raw:,.0f} rows/s")
            print(f"ratio     sync / raw inserts of the same rows: {synced / raw:.1f}x the time "
                  f"({raw / synced:.2f} of raw speed)")
            sync.close()
            engine.dispose()
            system.close()
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
