"""An ISPyB database on MariaDB (127.0.0.1:3306, root; override with LOGISTICS_TEST_MARIADB) for each test.

Creating the tables the tracker touches (and those their foreign keys need: 31 of ISPyB's 205)
takes 8 to 14 s of DDL on this machine, so each test process creates one database of its own and
each test empties it first; the database is dropped at the end. Where MariaDB does not answer the
tests are skipped, except in CI, where they fail.
"""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest
from sqlalchemy import Engine, text

MARIADB = os.environ.get("LOGISTICS_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")


def _admin():  # type: ignore[no-untyped-def]
    import pymysql
    from sqlalchemy.engine import make_url
    url = make_url(MARIADB)
    try:
        return pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
                               autocommit=True, connect_timeout=3)
    except pymysql.err.OperationalError:
        if os.environ.get("CI"):
            raise
        return None


@pytest.fixture(scope="session")
def ispyb_server() -> Iterator[tuple[str, Engine]]:
    pytest.importorskip("ispyb.sqlalchemy")
    from logistics.adapters.ispyb.schema import TABLES, create_tables, ispyb_engine
    admin = _admin()
    if admin is None:
        pytest.skip("MariaDB does not answer at " + MARIADB)
    name = f"ispyb_test_{uuid.uuid4().hex[:10]}"
    admin.cursor().execute(f"CREATE DATABASE `{name}`")
    url = MARIADB.rsplit("/", 1)[0] + "/" + name
    engine = ispyb_engine(url)
    try:
        create_tables(engine, TABLES)
        yield url, engine
    finally:
        engine.dispose()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@pytest.fixture
def ispyb_url(ispyb_server: tuple[str, Engine]) -> str:
    """The test's ISPyB database, emptied (its lookup rows kept)."""
    url, engine = ispyb_server
    with engine.begin() as conn:
        conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
        for (table,) in conn.execute(text("SHOW TABLES")).all():
            if not table.startswith("ProcessingPipeline"):
                conn.execute(text(f"DELETE FROM `{table}`"))
        conn.execute(text("SET FOREIGN_KEY_CHECKS = 1"))
    return url
