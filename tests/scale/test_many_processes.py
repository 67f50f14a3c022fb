"""Several API processes and a worker on one database (PostgreSQL, and one SQLite file): nothing acknowledged is lost,
doubled or reordered, read-your-writes holds whichever process answers next, and the read
model equals a rebuild, also when the worker is killed with SIGKILL in the middle."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

import httpx
import pytest

from logistics.bootstrap import bootstrap, register_reference_data
from logistics.domain.by import By
from tests.api.conftest import ROOT, free_port
from tests.conftest import fresh_postgres_database, stop

CLIENTS, REQUESTS, SHARED = 16, 30, 4
LOCATIONS = ["loc-stores-a1", "loc-stores-a2", "loc-stores-b1", "loc-stores-b2"]
MOVE = """mutation($b: String!, $l: String!) { moveDewar(barcode: $b, location: $l) {
  __typename ... on Scan { changed dewar { where { code } } } ... on Problem { message } } }"""
WHERE = """query($b: String!) { dewar(barcode: $b) { ... on Dewar { where { code } } } }"""


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":  # several processes on one machine share one SQLite file
        yield f"sqlite:///{tmp_path / 'logistics.db'}"
        return
    with fresh_postgres_database("logistics_scale") as url:
        yield url


def _spawn(url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = tempfile.NamedTemporaryFile(prefix="logistics-", suffix=".log", delete=False)
    process = subprocess.Popen([sys.executable, "-m", "logistics", "--database", url, *args], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    process.log = log.name  # type: ignore[attr-defined]
    return process


def _wait_healthy(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{base} stopped: " + open(process.log).read()[-2000:])  # type: ignore[attr-defined]
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{base} did not answer: " + open(process.log).read()[-2000:])  # type: ignore[attr-defined]


def _setup(url: str) -> tuple[list[str], str]:
    system = bootstrap(url)
    register_reference_data(system.app)
    admin = By("test:admin")
    codes = [f"DLS-MX-{n:04d}" for n in range(1, CLIENTS + SHARED + 1)]
    for code in codes:
        system.app.register_facility_dewar(code, admin)
        system.app.scan_dewar(code, "loc-goods-in", admin)
    system.accounts.add("desk", ["stores"], kind="station")
    token = system.accounts.create_token("desk")[1]
    system.close()
    return codes, token


def _run_clients(servers: list[str], token: str, codes: list[str], during=None) -> tuple[Counter, list[str]]:
    shared, own = codes[:SHARED], codes[SHARED:]
    acknowledged: Counter = Counter()
    problems: list[str] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}"}

    def client(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(headers=headers, timeout=60) as http:
            for i in range(REQUESTS):
                barcode = own[n] if i % 2 else rng.choice(shared)
                location = LOCATIONS[(i + n) % len(LOCATIONS)]
                answered = http.post(servers[i % 2] + "/graphql",
                                     json={"query": MOVE, "variables": {"b": barcode, "l": location}})
                body = answered.json()
                result = (body.get("data") or {}).get("moveDewar") or {"__typename": "error", "body": body}
                if result["__typename"] != "Scan":
                    with lock:
                        problems.append(str(result))
                    continue
                if result["changed"]:
                    with lock:
                        acknowledged[barcode] += 1
                if barcode == own[n]:  # read-your-writes, asking the other process
                    seen = http.post(servers[(i + 1) % 2] + "/graphql", json={"query": WHERE, "variables": {"b": barcode}})
                    assert seen.json()["data"]["dewar"]["where"]["code"] == location

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    if during:
        during()
    for t in threads:
        t.join()
    return acknowledged, problems


def _check(url: str, codes: list[str], acknowledged: Counter) -> None:
    system = bootstrap(url)
    try:
        system.projection.catch_up()
        for code in codes:
            moves = [e for e in system.app.history(system.app.resolve(code)[1]) if e["event"] == "Moved"]
            assert len(moves) == acknowledged[code] + 1, code  # and the move to goods-in made by _setup
        live = system.projection.dump()
        system.projection.rebuild()
        assert system.projection.dump() == live
    finally:
        system.close()


@pytest.mark.parametrize("kill_worker", [False, True], ids=["steady", "worker-killed"])
def test_two_api_processes_and_a_worker_lose_and_double_nothing(database_url, kill_worker):
    postgres_url = database_url
    codes, token = _setup(postgres_url)
    ports = [free_port()]
    while len(ports) < 2:  # two different ports (a port just freed may be handed out again)
        port = free_port()
        if port not in ports:
            ports.append(port)
    servers = [f"http://127.0.0.1:{p}" for p in ports]
    processes = [_spawn(postgres_url, "serve", "--port", str(p)) for p in ports]
    worker = _spawn(postgres_url, "worker")
    try:
        for base, process in zip(servers, processes):
            _wait_healthy(base, process)

        def kill_and_restart() -> None:
            nonlocal worker
            time.sleep(1.5)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            time.sleep(0.5)
            worker = _spawn(postgres_url, "worker")

        acknowledged, problems = _run_clients(servers, token, codes, kill_and_restart if kill_worker else None)
        assert not problems, problems[:5]
        assert sum(acknowledged.values()) > CLIENTS * REQUESTS // 3
    finally:
        for p in [*processes, worker]:
            stop(p)
    _check(postgres_url, codes, acknowledged)
