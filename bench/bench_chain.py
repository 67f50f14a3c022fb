"""What linking every event into the history's chains costs: command rate (one client, and eight
at once, which commit in groups) and read-model rebuild rate, each as a ratio to the same system
without the chain (the group-commit recorders the chained ones extend), measured in the same run,
in alternating rounds, on SQLite and PostgreSQL. Also `verify`'s rate, next to the rebuild's.

Command rounds are long enough to measure (about ROUND_SECONDS each: a first round of WARM_UP
commands on each system times the one without the chain, and sets the count of every round
after it), and both systems run the same commands, so they hold as many events for the rebuild.
Plain and chained take turns, the first of a pair alternating, and a ratio is the median of the
pairs' ratios (each pair measured back to back: drift of the machine's load falls on both
alike). 5 rounds of 120 commands were too short on a noisy 2-core VM: the same SQLite build
printed 0.76x and 0.84x at 1 client in two runs, where longer measurements put the chain's cost
at 3% (1.18 vs 1.22 ms a command).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import scratch_postgres  # noqa: E402
from logistics.adapters.database import Database  # noqa: E402
from logistics.bootstrap import bootstrap, rebuild_read_model, register_reference_data  # noqa: E402
from logistics.domain.by import By  # noqa: E402
from logistics.service_layer.audit import verify_history  # noqa: E402

STORES, USER = By("bench:stores", "desk"), By("bench:user", "web")
ROUNDS, ROUND_SECONDS, WARM_UP, REBUILD_ROUNDS, THREADS = 11, 0.5, 48, 5, 8
UNCHAINED = {"sqlite": "logistics.adapters.sqlite_writes:GroupCommitRecorder",
             "postgresql": "logistics.adapters.postgres_writes:PostgresGroupCommitRecorder"}


@contextmanager
def unchained(engine: str) -> Iterator[None]:
    """Bootstrap with the recorder as it was before the chain."""
    original = Database.eventsourcing_env

    def env(self: Database) -> dict[str, str]:
        return {**original(self), "APPLICATION_RECORDER_TOPIC": UNCHAINED[engine]}
    with mock.patch.object(Database, "eventsourcing_env", env):
        yield


def setup(url: str, engine: str, chained: bool):
    if chained:
        system = bootstrap(url)
    else:
        with unchained(engine):
            system = bootstrap(url)
    register_reference_data(system.app)
    app = system.app
    app.register_proposal("mx23694", "bench", STORES)
    shipment = app.create_shipment("mx23694", "bench", USER)
    barcodes = [app.add_mail_in_dewar(shipment, 1, "i03", USER) for _ in range(THREADS)]
    app.mark_sent(shipment, USER)
    for barcode in barcodes:
        app.scan_dewar(barcode, "loc-goods-in", STORES)
    return system, barcodes


def commands(system, barcodes: list[str], threads: int, each: int) -> float:
    """Commands per second: `threads` clients each moving their own dewar `each` times."""
    locations = ["loc-stores-a1", "loc-stores-a2"]

    def client(barcode: str) -> None:
        for n in range(each):
            system.app.move_dewar(barcode, locations[n % 2], STORES)
    workers = [threading.Thread(target=client, args=(b,)) for b in barcodes[:threads]]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return each * threads / (time.perf_counter() - start)


def rebuild(system) -> float:
    start = time.perf_counter()
    applied = rebuild_read_model(system, jobs=1)
    return applied / (time.perf_counter() - start)


def alternate(measure, plain, chained, rounds: int) -> tuple[float, float, float]:
    """Over alternating rounds: the median rate of each, and the median of the pairs' ratios
    (chained / plain, measured back to back: the machine's noise falls on both alike)."""
    a, b = [], []
    for n in range(rounds):
        first, second = (plain, chained) if n % 2 == 0 else (chained, plain)
        x, y = measure(first), measure(second)
        (a.append(x), b.append(y)) if first is plain else (a.append(y), b.append(x))
    return statistics.median(a), statistics.median(b), statistics.median(y / x for x, y in zip(a, b))


def run(engine: str, plain_url: str, chained_url: str) -> None:
    (plain, plain_barcodes), (chained, chained_barcodes) = setup(plain_url, engine, False), \
        setup(chained_url, engine, True)
    barcodes = {id(plain): plain_barcodes, id(chained): chained_barcodes}
    for threads in (1, THREADS):
        warm = WARM_UP // threads
        rate = commands(plain, barcodes[id(plain)], threads, warm)
        commands(chained, barcodes[id(chained)], threads, warm)
        each = max(1, round(rate * ROUND_SECONDS / threads))
        before, after, ratio = alternate(lambda s: commands(s, barcodes[id(s)], threads, each), plain, chained, ROUNDS)
        print(f"{engine:<11} commands, {threads} client{'s' if threads > 1 else ' '}: {before:7.0f}/s before, "
              f"{after:7.0f}/s with the chain = {ratio:.2f}x")
    plain.projection.catch_up()
    chained.projection.catch_up()
    before, after, ratio = alternate(rebuild, plain, chained, REBUILD_ROUNDS)
    print(f"{engine:<11} read-model rebuild:  {before:7.0f} events/s before, {after:7.0f} with the chain "
          f"= {ratio:.2f}x")
    start = time.perf_counter()
    report = verify_history(chained.app)
    rate = report.checked / (time.perf_counter() - start)
    print(f"{engine:<11} verify: {report.checked} events, {rate:7.0f} events/s = {rate / after:.1f}x the rebuild rate "
          f"({'holds' if report.ok else 'BROKEN'})")
    plain.close()
    chained.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{Path(tmp) / 'plain.db'}", f"sqlite:///{Path(tmp) / 'chained.db'}")
    with scratch_postgres("logistics_bench_plain") as plain_url, scratch_postgres("logistics_bench_chain") as url:
        if url is None or plain_url is None:
            return
        run("postgresql", plain_url, url)


if __name__ == "__main__":
    main()
