"""The ISPyB database: connecting to it, and creating its tables in an empty database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

ACCEPTED = "mysql+pymysql://USER:PASSWORD@HOST:3306/DATABASE"


class IspybError(Exception):
    """Something about the ISPyB database that the operator must fix; the message says what."""


def ispyb_engine(url: str, **options: Any) -> Engine:
    """An engine on the ISPyB database. MariaDB's default isolation (REPEATABLE READ) would show a
    polling reader the snapshot of its first read for as long as its transaction lasts; READ
    COMMITTED lets each poll see what the beamline committed meanwhile."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise IspybError(f"{url!r} is not a database URL: expected {ACCEPTED}") from None
    if not parsed.drivername.startswith(("mysql", "mariadb")):
        raise IspybError(f"ISPyB runs on MariaDB or MySQL, not {parsed.get_backend_name()}: expected {ACCEPTED}")
    if parsed.drivername in ("mysql", "mariadb", "mariadb+pymysql"):
        parsed = parsed.set(drivername="mysql+pymysql")
    if parsed.drivername != "mysql+pymysql":  # the projection writes multi-row INSERTs with PyMySQL's escaping
        raise IspybError(f"the ISPyB database is reached with PyMySQL, not {parsed.drivername}: expected {ACCEPTED}")
    if not parsed.database:
        raise IspybError(f"the URL names no database: expected {ACCEPTED}")
    try:
        return create_engine(parsed.update_query_dict({"charset": "utf8mb4"}), pool_pre_ping=True, isolation_level="READ COMMITTED", **options)
    except NoSuchModuleError:
        raise IspybError(f"no driver for {parsed.drivername}: install the project's 'ispyb' extra "
                         "(pip install 'facility-logistics[ispyb]')") from None


def _tables(engine: Engine) -> list[str]:
    try:
        return inspect(engine).get_table_names()
    except OperationalError as e:
        raise IspybError(f"cannot reach the ISPyB database at {engine.url.render_as_string(hide_password=True)}: "
                         f"{e.orig}") from None


def init_schema(url: str) -> int:
    """Create ISPyB's tables (the `ispyb` package's SQLAlchemy models) in an empty database;
    returns how many. A database that has tables is refused: it may be a facility's real ISPyB."""
    from ispyb.sqlalchemy import Base  # the optional 'ispyb' extra

    engine = ispyb_engine(url)
    try:
        existing = _tables(engine)
        if existing:
            raise IspybError(f"the database {engine.url.database!r} already has {len(existing)} tables "
                             f"(e.g. {', '.join(sorted(existing)[:3])}): init-schema only fills an empty database")
        return create_tables(engine)
    finally:
        engine.dispose()


def create_tables(engine: Engine, names: list[str] | None = None) -> int:
    """ISPyB's tables (all, or these and the tables their foreign keys need), with the lookup rows that
    their column defaults point at: `Container.priorityPipelineId` defaults to 6, which the
    `ispyb-database` project's lookups.sql fills with the xia2/DIALS pipeline."""
    from ispyb.sqlalchemy import Base

    tables = Base.metadata.tables
    wanted = set(tables) if names is None else set()
    stack = list(names or [])
    while stack:
        name = stack.pop()
        if name not in wanted:
            wanted.add(name)
            stack.extend(fk.column.table.name for fk in tables[name].foreign_keys)
    Base.metadata.create_all(engine, tables=[tables[n] for n in wanted])
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO ProcessingPipelineCategory (processingPipelineCategoryId, name) "
                             "VALUES (2, 'processing')")
        conn.exec_driver_sql("INSERT INTO ProcessingPipeline (processingPipelineId, processingPipelineCategoryId, "
                             "name, discipline, pipelineStatus, reprocessing) VALUES (6, 2, 'xia2/DIALS', 'MX', 'optional', 1)")
    return len(wanted)


def require_schema(engine: Engine) -> None:
    """Refuse a database without ISPyB's tables, naming what is missing."""
    missing = sorted(set(TABLES) - set(_tables(engine)))
    if missing:
        raise IspybError(f"the database {engine.url.database!r} is not an ISPyB database: it has no table "
                         f"{', '.join(missing)} (create them with 'logistics ispyb init-schema --url URL')")


TABLES = ["Proposal", "BLSession", "Person", "LabContact", "Shipping", "ShippingHasSession", "Dewar", "DewarRegistry",
          "DewarTransportHistory", "Container", "ContainerRegistry", "ContainerHistory", "BLSample", "Crystal",
          "Protein", "DiffractionPlan"]  # the tables the tracker reads or writes
