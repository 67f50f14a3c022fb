"""GraphQL over HTTP: durable `scanDewar` mutations per second against a real `logistics serve`.

Baseline: Python's sqlite3 doing one durable INSERT transaction per event (WAL journal,
synchronous=FULL), measured in the same run (bench_core's function).

For SQLite with one API process, SQLite with LOGISTICS_BENCH_HTTP_WORKERS (default 2; `serve
--workers`), then PostgreSQL when it answers: `logistics demo` on a fresh database, an API token
for the `stores-desk-1` scanner station, 32 facility dewars registered through the API, then
`logistics serve` in a subprocess. Each client (an asyncio task with its own keep-alive HTTP/1.1
connection) scans its own dewar, cycling through three storage locations so that every scan records a
Moved event; 1, 8 and 32 clients run for a fixed time each. Afterwards every dewar's history
is read from the event store and matched against the scans sent: every acknowledged scan must
be recorded exactly once, in order, and nothing else (a scan whose reply was an error may or may
not have been recorded; how many were is reported).

The clients run on the same machine as the server: each phase reports the CPU time per scan
of the server (its processes) and of the clients, the two shares of the machine a scan costs.

Only 127.0.0.1 is contacted; the server is always terminated. LOGISTICS_BENCH_HTTP_SECONDS sets
the length of each measured phase (default 8 s); the whole run stays within about 3 minutes.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httptools
import httpx
import orjson

try:
    from uvloop import new_event_loop as client_loop
except ImportError:  # Windows: the standard library's loop
    client_loop = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_core import raw_insert_rate  # noqa: E402
from bench.support import scratch_postgres  # noqa: E402
from logistics.bootstrap import bootstrap  # noqa: E402

PHASE_SECONDS = float(os.environ.get("LOGISTICS_BENCH_HTTP_SECONDS", "8"))
WORKERS = int(os.environ.get("LOGISTICS_BENCH_HTTP_WORKERS", "2"))  # API processes of the second SQLite run
BUDGET_SECONDS = 170.0
CLIENTS = (1, 8, 32)
LOCATIONS = ("loc-stores-a1", "loc-stores-a2", "loc-stores-b1")
STATION = "stores-desk-1"
DEWARS = [f"DLS-MX-{n:04d}" for n in range(100, 100 + max(CLIENTS))]
# The targets from the issue, for SQLite.
TARGET_8, STRETCH_8, TARGET_P99_MS = 0.25, 0.5, 10.0

SCAN = """mutation Scan($barcode: String!, $location: String!) {
  scanDewar(barcode: $barcode, location: $location) {
    __typename
    ... on Scan { changed dewar { barcode where { code } } }
    ... on Problem { message code }
  }
}"""
REGISTER = """mutation Register($code: String!) {
  registerFacilityDewar(facilityCode: $code) {
    __typename
    ... on Dewar { id barcode }
    ... on Problem { message code }
  }
}"""

JSON_HEADERS = {"content-type": "application/json"}

DEADLINE = time.monotonic() + BUDGET_SECONDS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(url: str, *args: str, cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "logistics", "--database", url, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"logistics {' '.join(args)} failed: {done.stderr[-2000:]}")


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_server(database_url: str, cwd: Path, workers: int = 1) -> Server:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = cwd / "serve.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "logistics", "--database", database_url, "serve",
                                    "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
                                   cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(server.url + "/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError("logistics serve stopped: " + log.read_text()[-2000:])
        time.sleep(0.2)
    server.stop()
    raise RuntimeError("logistics serve did not answer within 60 s")


@dataclass
class Dewar:
    barcode: str
    id: str
    attempts: list[tuple[str, str]] = field(default_factory=list)  # (location, ok|unchanged|problem|error)

    def next_location(self) -> str:
        """Cycling through three locations: each scan differs from the two before it, so a scan after
        one whose reply was an error still moves the dewar, whether or not that one was recorded."""
        return LOCATIONS[len(self.attempts) % len(LOCATIONS)]

    @property
    def acknowledged(self) -> int:
        return sum(kind == "ok" for _, kind in self.attempts)

    @property
    def errors(self) -> int:
        return sum(kind == "error" for _, kind in self.attempts)


@dataclass
class Outcome:
    ok: int = 0
    unchanged: int = 0  # a Scan reply with changed=false: nothing recorded
    problems: int = 0  # a refusal of the domain (a Problem): nothing recorded
    errors: int = 0  # an HTTP or GraphQL error, or no reply: recorded or not, the client cannot tell
    stale: int = 0  # acknowledged, but the dewar in the reply was not yet where it was scanned
    latencies: list[float] = field(default_factory=list)
    first_problem: str | None = None

    def add(self, other: "Outcome") -> None:
        for name in ("ok", "unchanged", "problems", "errors", "stale"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.latencies += other.latencies
        self.first_problem = self.first_problem or other.first_problem


def classify(dewar: Dewar, location: str, status: int, body: Any, elapsed: float, outcome: Outcome) -> None:
    """Count one scan's reply; an error reply leaves the client unable to tell whether it was recorded."""
    result = ((body.get("data") if isinstance(body, dict) else None) or {}).get("scanDewar") or {}
    if status != 200 or body.get("errors") or not result:
        kind = "error"
        outcome.errors += 1
        outcome.first_problem = outcome.first_problem or f"HTTP {status}: {str(body)[:300]}"
    elif result["__typename"] != "Scan":
        kind = "problem"
        outcome.problems += 1
        outcome.first_problem = outcome.first_problem or f"{result['__typename']}: {result.get('message')}"
    elif not result["changed"]:
        kind = "unchanged"
        outcome.unchanged += 1
    else:
        kind = "ok"
        outcome.ok += 1
        outcome.latencies.append(elapsed)
        if result["dewar"]["where"]["code"] != location:
            outcome.stale += 1
    dewar.attempts.append((location, kind))


class Client(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time: what a scanner station does.

    The clients share the machine with the server, so they are kept lean: the request bytes are
    built from a template and the reply is parsed by httptools (the C parser uvicorn itself uses)
    on uvloop. aiohttp's client cost 0.33 ms of CPU per scan here, this one 0.10 ms (8 clients):
    CPU the server's processes get back, as they would with stations on other machines. Every
    reply is still read whole: status, Content-Length, and the JSON body, parsed and checked."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.reply: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []
        self.lost: Exception | None = None

    @classmethod
    async def open(cls, url: str, token: str) -> "Client":
        host, port = url.removeprefix("http://").split(":")
        _, client = await asyncio.get_running_loop().create_connection(cls, host, int(port))
        client.head = (f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
                       "Content-Type: application/json\r\nContent-Length: ").encode()
        return client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionResetError("the server closed the connection")
        if self.reply is not None and not self.reply.done():
            self.reply.set_exception(self.lost)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as e:
            if self.reply is not None and not self.reply.done():
                self.reply.set_exception(e)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.reply is not None and not self.reply.done():
            self.reply.set_result((self.parser.get_status_code(), b"".join(self.body)))

    async def post(self, payload: bytes, timeout: float = 10) -> tuple[int, Any]:
        if self.lost is not None or self.transport is None:
            raise ConnectionResetError("the connection is closed")
        self.body, self.reply = [], asyncio.get_running_loop().create_future()
        self.transport.write(self.head + str(len(payload)).encode() + b"\r\n\r\n" + payload)
        status, body = await asyncio.wait_for(self.reply, timeout)
        return status, orjson.loads(body)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def scan_async(client: Client, dewar: Dewar, outcome: Outcome) -> None:
    location = dewar.next_location()
    payload = orjson.dumps({"query": SCAN, "variables": {"barcode": dewar.barcode, "location": location}})
    start = time.perf_counter()
    try:
        status, body = await client.post(payload)
    except (OSError, httptools.HttpParserError, asyncio.TimeoutError, orjson.JSONDecodeError) as e:
        outcome.errors += 1
        dewar.attempts.append((location, "error"))
        outcome.first_problem = outcome.first_problem or f"{type(e).__name__}: {e}"
        return
    classify(dewar, location, status, body, time.perf_counter() - start, outcome)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time so far of a process and its children (uvicorn's workers) (Linux), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        children = [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                    for c in (task / "children").read_text().split()]
    except (OSError, ValueError, IndexError):
        return None
    total = own
    for child in children:
        used = cpu_seconds(child)
        if used is None:
            return None
        total += used
    return total


def own_cpu_seconds() -> float:
    """User + system CPU time of this process (the clients) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def warm_up(server_url: str, token: str, dewars: list[Dewar]) -> None:
    """Every dewar gets its first storage location, one scan after another; warms the server's caches."""
    client = await Client.open(server_url, token)
    try:
        warm = Outcome()
        for dewar in dewars:
            await scan_async(client, dewar, warm)
    finally:
        client.close()


def phase(server_url: str, token: str, dewars: list[Dewar], seconds: float) -> tuple[float, Outcome]:
    """Every client scans its own dewar for `seconds`; returns (acknowledged scans per second, outcome).

    The clients are asyncio tasks in this one process, each with its own keep-alive connection
    (Client): they share the machine with the server, so the less CPU a client spends per scan,
    the closer the figure is to what the server alone can do."""
    with asyncio.Runner(loop_factory=client_loop) as runner:
        return runner.run(_phase(server_url, token, dewars, seconds))


async def _phase(server_url: str, token: str, dewars: list[Dewar], seconds: float) -> tuple[float, Outcome]:
    outcomes = [Outcome() for _ in dewars]
    ends = [0.0] * len(dewars)
    sessions = [await Client.open(server_url, token) for _ in dewars]
    try:
        for session in sessions:  # each client's keep-alive connection answers before the clock starts
            status, body = await session.post(orjson.dumps({"query": "{ me { name } }"}))
            if status != 200 or "errors" in body:
                raise RuntimeError(f"the station's token was refused: HTTP {status} {str(body)[:300]}")
        start = time.perf_counter()
        stop_at = start + seconds

        async def client_loop(i: int) -> None:
            while time.perf_counter() < stop_at:
                await scan_async(sessions[i], dewars[i], outcomes[i])
            ends[i] = time.perf_counter()

        await asyncio.wait_for(asyncio.gather(*(client_loop(i) for i in range(len(dewars)))), seconds + 40)
    finally:
        for session in sessions:
            session.close()
    total = Outcome()
    for o in outcomes:
        total.add(o)
    return total.ok / (max(ends) - start), total


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def gql(server_url: str, token: str, query: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(server_url + "/graphql", json={"query": query, "variables": variables},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    body = response.json()
    if response.status_code != 200 or "errors" in body:
        raise RuntimeError(f"GraphQL failed: HTTP {response.status_code} {response.text[:500]}")
    return body["data"]


def matches(attempts: list[tuple[str, str]], events: list[str]) -> bool:
    """Whether the events are exactly the acknowledged scans, in order, plus some of the scans whose
    reply was an error: each acknowledged scan recorded once, nothing recorded twice or unasked."""
    reachable = {0}  # how many events the attempts so far can account for
    for location, kind in attempts:
        if kind not in ("ok", "error"):
            continue
        moved = {j + 1 for j in reachable if j < len(events) and events[j] == location}
        reachable = moved if kind == "ok" else reachable | moved
        if not reachable:
            return False
    return len(events) in reachable


def verify(database_url: str, dewars: list[Dewar]) -> tuple[bool, str]:
    """Read each dewar's history from the event store and match it against the scans sent."""
    system = bootstrap(database_url)
    try:
        acknowledged = recorded = errors = 0
        wrong: list[str] = []
        for d in dewars:
            history = system.app.history(d.id)[1:]  # after its registration
            moved = [e["data"].get("location") for e in history if e["event"] == "Moved" and e["station"] == STATION]
            acknowledged, recorded, errors = acknowledged + d.acknowledged, recorded + len(history), errors + d.errors
            if len(moved) != len(history) or not matches(d.attempts, moved):
                wrong.append(f"{d.barcode}: {d.acknowledged} acknowledged scans ({d.errors} error replies), "
                             f"{len(history)} new events of which {len(moved)} Moved by {STATION}")
        text = f"{acknowledged} acknowledged scans, {recorded} new events in {len(dewars)} dewars' histories"
        if wrong:
            return False, text + "; MISMATCH " + "; ".join(wrong[:5])
        text += ": every acknowledged scan recorded exactly once, in order"
        if errors:
            text += (f"; of {errors} scans answered with an error, {recorded - acknowledged} were recorded anyway"
                     f" and {errors - (recorded - acknowledged)} not")
        return True, text
    finally:
        system.close()


def server_errors(log: Path) -> str:
    """The exceptions in the server's log, most frequent first."""
    found: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout|Exhausted)\w*: ", line):
            found[line[:200]] = found.get(line[:200], 0) + 1
    return "; ".join(f"{n} x {line}" for line, n in sorted(found.items(), key=lambda kv: -kv[1])[:3]) or "(none logged)"


def remaining_phase_seconds(phases_left: int, reserve: float) -> float:
    """The phase length, shortened if the run would otherwise overrun its budget."""
    available = DEADLINE - time.monotonic() - reserve
    return max(1.0, min(PHASE_SECONDS, available / max(1, phases_left) - 1.5))


def run(name: str, database_url: str, cwd: Path, reserve: float, workers: int = 1) -> bool:
    cli(database_url, "demo", cwd=cwd)
    # The baseline again right before these phases, on this machine as it is now: measured once at
    # the start, it was a minute or two older than the last run's phases, and this machine's speed
    # wanders (raw sqlite3 gave 3,698 to 6,555/s in runs of one day).
    raw = raw_insert_rate(cwd)
    print(f"{name:<11} baseline raw sqlite3 inserts, measured before this run's phases: {raw:.0f}/s", flush=True)
    system = bootstrap(database_url)
    try:
        station_token = system.accounts.create_token(STATION, "bench")[1]
        admin_token = system.accounts.create_token("admin", "bench")[1]
    finally:
        system.close()
    server = start_server(database_url, cwd, workers)
    try:
        dewars = []
        for code in DEWARS:
            result = gql(server.url, admin_token, REGISTER, code=code)["registerFacilityDewar"]
            if result["__typename"] != "Dewar":
                raise RuntimeError(f"registerFacilityDewar {code}: {result}")
            dewars.append(Dewar(barcode=result["barcode"], id=result["id"]))
        asyncio.run(warm_up(server.url, station_token, dewars))
        results = []
        for n, clients in enumerate(CLIENTS):
            seconds = remaining_phase_seconds(len(CLIENTS) - n, reserve)
            cpu_before, own_before = cpu_seconds(server.process.pid), own_cpu_seconds()
            rate, outcome = phase(server.url, station_token, dewars[:clients], seconds)
            cpu_after, own_after = cpu_seconds(server.process.pid), own_cpu_seconds()
            results.append((clients, rate, outcome))
            cpu = (f"  CPU per scan: server {(cpu_after - cpu_before) / outcome.ok * 1e3:4.2f} ms, "
                   f"clients {(own_after - own_before) / outcome.ok * 1e3:4.2f} ms"
                   if cpu_before is not None and cpu_after is not None and outcome.ok else "")
            p50, p99 = percentile(outcome.latencies, 50) * 1e3, percentile(outcome.latencies, 99) * 1e3
            problems = "".join(f", {count} {what}" for count, what in (
                (outcome.unchanged, "unchanged"), (outcome.problems, "refused"), (outcome.errors, "errors"),
                (outcome.stale, "stale replies")) if count)
            if outcome.first_problem:
                problems += f"; first: {outcome.first_problem[:160]}"
            print(f"{name:<11} scanDewar over HTTP, {clients:>2} client{'s' if clients > 1 else ' '}: "
                  f"{rate:7.0f}/s = {rate / raw:5.2f}x raw sqlite3 inserts   "
                  f"latency p50 {p50:6.2f} ms  p99 {p99:6.2f} ms{cpu}  "
                  f"({outcome.ok} scans in {seconds:.0f} s{problems})", flush=True)
    finally:
        server.stop()
    if any(o.errors for _, _, o in results):
        print(f"{name:<11} server log: {server_errors(server.log)}")
    ok, text = verify(database_url, dewars)
    print(f"{name:<11} {'verified' if ok else 'NOT VERIFIED'}: {text}", flush=True)
    if name.startswith("sqlite"):  # one API process, and several
        by_clients = {c: (rate, o) for c, rate, o in results}
        rate8 = by_clients[8][0] / raw
        p99 = percentile(by_clients[1][1].latencies, 99) * 1e3
        verdict = "met" if rate8 >= TARGET_8 else "NOT met"
        stretch = "met" if rate8 >= STRETCH_8 else "not met"
        print(f"{name:<11} target: 8 clients >= {TARGET_8}x raw (stretch {STRETCH_8}x): {rate8:.2f}x -> {verdict}"
              f" (stretch {stretch})")
        print(f"{name:<11} target: single-client p99 <= {TARGET_P99_MS:.0f} ms: {p99:.2f} ms -> "
              f"{'met' if p99 <= TARGET_P99_MS else 'NOT met'}", flush=True)
    return ok


def over_budget(*_args: Any) -> None:
    raise SystemExit("bench_http: over its time budget; stopping")


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops the server
    signal.signal(signal.SIGALRM, over_budget)  # a last resort: `finally` still stops the server
    signal.alarm(int(BUDGET_SECONDS) + 40)
    verified = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("baseline    raw sqlite3, one durable INSERT transaction per event (WAL, synchronous=FULL): "
              "measured before each run", flush=True)
        with scratch_postgres("logistics_bench_http") as url:
            # Each run leaves the runs after it their share of the time that remains.
            runs = [("sqlite", "sqlite", 1), (f"sqlite x{WORKERS}", "sqlite", WORKERS)]
            if url is not None:
                runs.append(("postgresql", url, 1))
            for n, (name, database, workers) in enumerate(runs):
                cwd = folder / f"run{n}"
                cwd.mkdir()
                database_url = f"sqlite:///{cwd / 'bench.db'}" if database == "sqlite" else database
                reserve = (DEADLINE - time.monotonic()) * (len(runs) - n - 1) / (len(runs) - n) + 5.0
                verified &= run(name, database_url, cwd, reserve, workers)
    return 0 if verified else 1


if __name__ == "__main__":
    sys.exit(main())
