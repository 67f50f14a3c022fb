"""`logistics serve --workers N`: the processes share the connections, one that dies comes back,
SIGTERM stops them all, and a port already taken is refused by name."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.api.conftest import ROOT, cli, free_port


def _serve(url: str, port: int, cwd: Path, workers: int = 2) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "logistics", "--database", url, "serve", "--port", str(port),
                             "--workers", str(workers)], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _processes_answering(port: int, connections: int, seconds: float = 60) -> set[int]:
    """Which API processes answer `connections` keep-alive clients, once they all answer."""
    deadline = time.monotonic() + seconds
    while True:
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) for _ in range(connections)]
        try:
            return {c.get("/health").json()["process"] for c in clients}
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
        finally:
            for c in clients:
                c.close()


def _answering(clients: list[httpx.Client]) -> dict[int, list[httpx.Client]]:
    """The keep-alive clients each API process answers, by its process id."""
    by_process: dict[int, list[httpx.Client]] = {}
    for client in clients:
        by_process.setdefault(client.get("/health").json()["process"], []).append(client)
    return by_process


def test_eight_stations_keep_alive_connections_are_shared_four_and_four_also_after_some_leave(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'logistics.db'}"
    cli(url, "init", cwd=tmp_path)
    port = free_port()
    server = _serve(url, port, tmp_path)
    clients: list[httpx.Client] = []
    try:
        _processes_answering(port, 1)  # up
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) for _ in range(8)]
        first = _answering(clients)
        # one process's GIL caps its share at a core: 6 of 8 stations on one starves them
        assert sorted(len(c) for c in first.values()) == [4, 4], first
        leaving = next(iter(first.values()))[:3]  # three stations of one process go home
        for client in leaving:
            client.close()
            clients.remove(client)
        time.sleep(0.5)  # the processes publish what they closed every 0.1 s
        clients += [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) for _ in range(3)]
        assert sorted(len(c) for c in _answering(clients).values()) == [4, 4]  # the newcomers went there
    finally:
        for client in clients:
            client.close()
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr[-2000:]


def test_two_api_processes_share_the_connections_and_one_that_is_killed_comes_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'logistics.db'}"
    cli(url, "init", cwd=tmp_path)
    port = free_port()
    server = _serve(url, port, tmp_path)
    try:
        # 24 keep-alive connections opened one after another: the parent hands each to the process
        # holding the fewest
        pids = _processes_answering(port, 24)
        assert len(pids) == 2, pids
        os.kill(pids.pop(), signal.SIGKILL)
        deadline = time.monotonic() + 60
        while len(now := _processes_answering(port, 24)) < 2 or not pids <= now:
            assert time.monotonic() < deadline, now
            time.sleep(0.5)
    finally:
        lingering = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)  # open when the server stops:
        lingering.get("/health")  # the server closes it, and its end lingers in TIME_WAIT
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
        lingering.close()
    assert server.returncode == 0, stderr[-2000:]
    assert "starting another" in stderr
    for pid in now:  # SIGTERM stopped every API process, not only the parent
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    # started again at once on the same port, though the connection the server closed lingers
    again = _serve(url, port, tmp_path)
    try:
        assert len(_processes_answering(port, 4, seconds=60)) >= 1
    finally:
        again.send_signal(signal.SIGTERM)
        _, stderr = again.communicate(timeout=60)
    assert again.returncode == 0, stderr[-2000:]


def test_a_port_already_in_use_is_refused_by_name(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'logistics.db'}"
    cli(url, "init", cwd=tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = _serve(url, port, tmp_path)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode != 0
    assert f"port {port}" in stderr and "already in use" in stderr, stderr[-2000:]


def test_the_parent_keeps_the_read_model_up_to_date_without_a_reader_asking(tmp_path: Path) -> None:
    """With `--workers`, the API processes leave the read model to their parent: scans recorded
    through the API reach it within moments although nothing reads it (a read would catch up by
    itself, so the test looks at the database, not at the API)."""
    from logistics.bootstrap import bootstrap

    url = f"sqlite:///{tmp_path / 'logistics.db'}"
    cli(url, "demo", cwd=tmp_path)
    system = bootstrap(url)
    try:
        token = system.accounts.create_token("stores-desk-1", "tests")[1]
    finally:
        system.close()
    port = free_port()
    server = _serve(url, port, tmp_path)
    try:
        _processes_answering(port, 2)
        scan = 'mutation { scanDewar(barcode: "DLS-MX-0007", location: "%s") { __typename } }'
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                          timeout=10) as client:
            for location in ("loc-stores-a1", "loc-stores-a2", "loc-stores-b1"):
                reply = client.post("/graphql", json={"query": scan % location}).json()
                assert reply["data"]["scanDewar"]["__typename"] == "Scan", reply
        import sqlite3

        deadline = time.monotonic() + 10
        with sqlite3.connect(tmp_path / "logistics.db") as db:
            while True:
                head = db.execute("SELECT max(rowid) FROM stored_events").fetchone()[0]
                position = db.execute("SELECT position FROM rm_tracking WHERE name = 'read_model'").fetchone()[0]
                where = db.execute("SELECT where_code FROM rm_dewars WHERE barcode = 'DLS-MX-0007'").fetchone()[0]
                if position == head:
                    break
                assert time.monotonic() < deadline, f"read model at {position}, events up to {head}"
                time.sleep(0.05)
        assert where == "loc-stores-b1"
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr[-2000:]


def test_api_processes_whose_parent_was_killed_stop_rather_than_hold_the_port(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'logistics.db'}"
    cli(url, "init", cwd=tmp_path)
    port = free_port()
    server = _serve(url, port, tmp_path)
    pids = _processes_answering(port, 4)
    server.kill()  # SIGKILL: the parent cannot tell them
    server.communicate(timeout=30)
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
              for pid in pids):
        assert time.monotonic() < deadline, f"API processes {pids} still run without their parent"
        time.sleep(0.2)
