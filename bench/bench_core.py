"""Event-sourced core: command rate, load rate, and a 10,000-event dewar, against raw SQLite.

Baseline: Python's sqlite3 doing one durable INSERT transaction per event (WAL journal,
synchronous=FULL, as the event store uses), measured in the same run.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import scratch_postgres  # noqa: E402
from logistics.bootstrap import bootstrap, register_reference_data  # noqa: E402
from logistics.domain.by import By  # noqa: E402

STORES, USER = By("bench:stores", "desk"), By("bench:user", "web")
N_RAW, N_COMMANDS, N_LOADS, LONG = 3000, 600, 2000, 10_000


def raw_insert_rate(folder: Path) -> float:
    db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE e (originator_id TEXT, originator_version INTEGER, topic TEXT, state BLOB, "
               "PRIMARY KEY (originator_id, originator_version))")
    payload = os.urandom(200)
    start = time.perf_counter()
    for n in range(N_RAW):
        db.execute("BEGIN")
        db.execute("INSERT INTO e VALUES (?, ?, ?, ?)", ("a" * 32, n, "logistics.domain.dewar:Dewar.Moved", payload))
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return N_RAW / elapsed


def raw_read_rate(folder: Path) -> float:
    """Reads of one aggregate's 10 rows by its id, as loads do (after raw_insert_rate made the table)."""
    db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    db.execute("INSERT INTO e SELECT 'b' || originator_id, originator_version, topic, state FROM e "
               "WHERE originator_version < 10")
    start = time.perf_counter()
    for _ in range(N_LOADS):
        db.execute("SELECT * FROM e WHERE originator_id = ? ORDER BY originator_version", ("b" + "a" * 32,)).fetchall()
    elapsed = time.perf_counter() - start
    db.close()
    return N_LOADS / elapsed


def raw_postgres_rates(url: str) -> tuple[float, float]:
    import psycopg
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE TABLE raw_e (originator_id TEXT, originator_version INTEGER, topic TEXT, state BYTEA, "
                   "PRIMARY KEY (originator_id, originator_version))")
        payload = os.urandom(200)
        start = time.perf_counter()
        for n in range(N_RAW // 3):
            with db.transaction():
                db.execute("INSERT INTO raw_e VALUES (%s, %s, %s, %s)", ("a" * 32, n, "t", payload))
        inserts = (N_RAW // 3) / (time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(N_LOADS):
            db.execute("SELECT * FROM raw_e WHERE originator_id = %s AND originator_version < 10 "
                       "ORDER BY originator_version", ("a" * 32,)).fetchall()
        reads = N_LOADS / (time.perf_counter() - start)
    return inserts, reads


def setup(url: str):
    system = bootstrap(url)
    register_reference_data(system.app)
    app = system.app
    app.register_proposal("mx23694", "bench", STORES)
    shipment = app.create_shipment("mx23694", "bench", USER)
    barcode = app.add_mail_in_dewar(shipment, 1, "i03", USER)
    app.mark_sent(shipment, USER)
    app.scan_dewar(barcode, "loc-goods-in", STORES)
    return system, barcode


def command_rate(system, barcode: str) -> float:
    locations = ["loc-stores-a1", "loc-stores-a2"]
    start = time.perf_counter()
    for n in range(N_COMMANDS):
        system.app.move_dewar(barcode, locations[n % 2], STORES)
    return N_COMMANDS / (time.perf_counter() - start)


def load_rate(system, barcode: str) -> float:
    dewar_id = system.app.resolve(barcode)[1]
    start = time.perf_counter()
    for _ in range(N_LOADS):
        system.app.repository.get(dewar_id)
    return N_LOADS / (time.perf_counter() - start)


def long_lived_dewar(system) -> tuple[float, float]:
    """Median load time of a facility dewar with 10,000 events, and of a new one."""
    app = system.app
    old_id = app.register_facility_dewar("DLS-MX-0007", STORES)
    new_id = app.register_facility_dewar("DLS-MX-0008", STORES)
    app.repository.get(old_id)
    locations = ["loc-stores-a1", "loc-stores-a2"]
    written = 1
    while written < LONG:
        dewar = app.repository.get(old_id)
        for n in range(min(100, LONG - written)):
            dewar.scan_in(locations[(written + n) % 2], STORES)  # unassigned facility dewar: moves
        written += min(100, LONG - written)
        app.save(dewar)
    system.projection.catch_up()

    def median_load(aggregate_id) -> float:
        times = []
        for _ in range(200):
            start = time.perf_counter()
            app.repository.get(aggregate_id)
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    cache, app.repository.cache = app.repository.cache, None  # cold: from the latest snapshot
    cold = median_load(old_id), median_load(new_id)
    app.repository.cache = cache
    return cold, (median_load(old_id), median_load(new_id)), app.repository.get(old_id).version


def run(name: str, url: str, raw_insert: float, raw_read: float, sqlite_insert: float) -> None:
    system, barcode = setup(url)
    commands = command_rate(system, barcode)
    loads = load_rate(system, barcode)
    cold, warm, version = long_lived_dewar(system)
    system.close()
    print(f"{name:<11} single-event commands: {commands:8.0f}/s  = {commands / raw_insert:5.2f}x raw {name} inserts"
          f"  = {commands / sqlite_insert:5.2f}x raw sqlite3 inserts")
    print(f"{name:<11} aggregate loads:       {loads:8.0f}/s  = {loads / raw_read:5.2f}x raw {name} reads"
          f"  = {loads / sqlite_insert:5.2f}x raw sqlite3 inserts")
    for label, (old, new) in (("from snapshot", cold), ("cached", warm)):
        print(f"{name:<11} dewar with {version} events, {label}: {old * 1e3:.2f} ms vs new dewar {new * 1e3:.2f} ms"
              f" = {old / new:.2f}x (target <= 2x)")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw_insert, raw_read = raw_insert_rate(folder), raw_read_rate(folder)
        print(f"baseline    raw sqlite3: one durable INSERT transaction per event {raw_insert:.0f}/s; "
              f"read of one aggregate's rows {raw_read:.0f}/s")
        run("sqlite", f"sqlite:///{folder / 'bench.db'}", raw_insert, raw_read, raw_insert)
        with scratch_postgres("logistics_bench") as url:
            if url is None:
                return
            pg_insert, pg_read = raw_postgres_rates(url)
            print(f"baseline    raw psycopg: one INSERT transaction per event {pg_insert:.0f}/s; "
                  f"read of one aggregate's rows {pg_read:.0f}/s")
            run("postgresql", url, pg_insert, pg_read, raw_insert)

if __name__ == "__main__":
    main()
