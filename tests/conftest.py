"""Every test that takes `system` runs on SQLite and on PostgreSQL, each in a fresh database.

PostgreSQL is the machine's server at 127.0.0.1:5432 (override with LOGISTICS_TEST_POSTGRES).
Where it does not answer the PostgreSQL runs are skipped, except in CI, where they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import uuid
from typing import Any, Iterator

import psycopg
import pytest

from logistics.bootstrap import System, bootstrap, register_reference_data

PG_ADMIN = os.environ.get("LOGISTICS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_admin() -> psycopg.Connection | None:
    try:
        return psycopg.connect(PG_ADMIN.replace("postgresql+psycopg", "postgresql"), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        if os.environ.get("CI"):
            raise
        return None


@contextlib.contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database's URL, dropped afterwards; skips the test where PostgreSQL does not answer."""
    admin = _pg_admin()
    if admin is None:
        pytest.skip("PostgreSQL does not answer at " + PG_ADMIN)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def stop(process: subprocess.Popen) -> None:
    """Ask a server process to stop; kill it if it has not within ten seconds."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="module", autouse=True)
def no_event_loop_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """A module must not leave an event loop running in the main thread: the next module in the same
    xdist worker (whichever it is: the suite runs in any file order) could not start its own.
    Playwright's sync API does exactly that while it is open, so the browser fixtures are per module.
    Being the outermost module fixture, this checks after every other module fixture is torn down."""
    yield
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    pytest.fail(f"{request.module.__name__} left an event loop running in the main thread ({loop!r})")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'logistics.db'}"
        return
    with fresh_postgres_database("logistics_test") as url:
        yield url


@pytest.fixture
def system(database_url: str) -> Iterator[System]:
    s = bootstrap(database_url)
    register_reference_data(s.app)
    try:
        yield s
    finally:
        s.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Skipped tests are easy to miss in a long run: say which kind and how to run them."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        advice = " (the browser tests: apt-get install chromium; .ci/run installs it)" if "Chromium" in reason else ""
        terminalreporter.write_line(f"{count} test{'s' if count > 1 else ''} skipped: {reason}{advice}", yellow=True)
