"""A real `logistics serve` (uvicorn) on a free port, on SQLite and on PostgreSQL, with the demo
data and an API token for each demo account."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = ("ada", "rosalind", "dorothy", "jacques", "stores", "beamline", "admin", "stores-desk-1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(url: str, *args: str, cwd: Path, stdin: str | None = None) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "logistics", "--database", url, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, input=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class Server:
    url: str
    database_url: str
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def graphql(self) -> str:
        return self.url + "/graphql"

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.tokens[who]}"}, timeout=30)

    def gql(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        with self.client(who) as c:
            response = c.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


def start_server(database_url: str, cwd: Path) -> tuple[subprocess.Popen, Server]:
    cli(database_url, "demo", cwd=cwd)
    server = Server(url="", database_url=database_url)
    from logistics.bootstrap import bootstrap
    system = bootstrap(database_url)
    try:
        for who in ACCOUNTS:
            server.tokens[who] = system.accounts.create_token(who, "tests")[1]
    finally:
        system.close()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "logistics", "--database", database_url, "serve", "--port",
                                str(port)], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server.url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(server.url + "/health", timeout=1).status_code == 200:
                return process, server
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError("logistics serve stopped: " + process.stderr.read().decode())
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("logistics serve did not answer within 60 s")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from tests.conftest import fresh_postgres_database, stop
    cwd = tmp_path_factory.mktemp("server")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{cwd / 'logistics.db'}"
        else:
            url = stack.enter_context(fresh_postgres_database("logistics_api"))
        process, server = start_server(url, cwd)
        stack.callback(stop, process)
        yield server
