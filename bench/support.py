"""What the benchmarks share: a fresh PostgreSQL database for one run."""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

ADMIN_URL = os.environ.get("LOGISTICS_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def scratch_postgres(prefix: str) -> Iterator[str | None]:
    """The URL of a new database, dropped afterwards; None (and a printed reason) when the server does not answer."""
    try:
        import psycopg
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as e:  # noqa: BLE001 - any failure means: no PostgreSQL for this run
        print(f"postgresql  skipped: {e}")
        yield None
        return
    name = f"{prefix}_{os.getpid()}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
