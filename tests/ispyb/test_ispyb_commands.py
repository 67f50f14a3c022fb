"""An operator at a terminal: `logistics ispyb init-schema` never touches a database that has tables,
and `logistics worker --once --ispyb URL` writes what the tracker recorded into ISPyB."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from sqlalchemy import text

from logistics.adapters.ispyb.schema import ispyb_engine
from logistics.domain.by import By
from logistics.entrypoints.cli import cli
from tests.ispyb.support import add_proposal, rows

USER, STORES = By("account:ada", "web"), By("account:stores", "stores-desk")


def test_init_schema_refuses_a_database_that_already_has_tables_and_changes_nothing(system: Any, ispyb_url: str):
    engine = ispyb_engine(ispyb_url)
    try:
        before = rows(engine, "SELECT COUNT(*) n FROM information_schema.tables WHERE table_schema = DATABASE()")
        url = system.database.url.render_as_string(hide_password=False)
        result = CliRunner().invoke(cli, ["--database", url, "ispyb", "init-schema", "--url", ispyb_url])
        assert result.exit_code != 0
        assert "already has" in result.output and "init-schema only fills an empty database" in result.output
        assert "Traceback" not in result.output
        assert rows(engine, "SELECT COUNT(*) n FROM information_schema.tables WHERE table_schema = DATABASE()") == before
    finally:
        engine.dispose()


def test_the_worker_with_ispyb_writes_a_received_dewar_into_ispyb_and_says_how_much(system: Any, ispyb_url: str):
    engine = ispyb_engine(ispyb_url)
    try:
        add_proposal(engine, "mx40001")
        app = system.app
        app.register_proposal("mx40001", "Worker run", STORES)
        shipment = app.create_shipment("mx40001", "Worker run 1", USER)
        dewar = app.add_mail_in_dewar(shipment, 1, "i03", USER)
        app.add_container("WK-PUCK-1", "unipuck", dewar, USER)
        app.mark_sent(shipment, USER)
        app.scan_dewar(dewar, "loc-stores-a1", STORES)

        url = system.database.url.render_as_string(hide_password=False)
        result = CliRunner().invoke(cli, ["--database", url, "worker", "--once", "--ispyb", ispyb_url])

        assert result.exit_code == 0, result.output
        assert "ISPyB:" in result.output and "0 records waiting" in result.output
        [dewar_row] = rows(engine, "SELECT barCode, dewarStatus, source FROM Dewar")
        assert (dewar_row["barCode"], dewar_row["dewarStatus"]) == (dewar, "at facility")
        assert dewar_row["source"].startswith("logistics:")
        [shipping] = rows(engine, "SELECT shippingName FROM Shipping")
        assert shipping["shippingName"] == "Worker run 1"
        assert [r["barcode"] for r in rows(engine, "SELECT barcode FROM Container")] == ["WK-PUCK-1"]
    finally:
        engine.dispose()
