"""`logistics ispyb ...`: the tracker beside a facility's ISPyB database."""

from __future__ import annotations

import json
import signal
import sys
import time
from typing import Any

import click

from logistics.adapters.ispyb.schema import IspybError
from logistics.adapters.ispyb.sync import ENV_VAR

URL_HELP = f"The ISPyB database, e.g. mysql+pymysql://USER:PASSWORD@HOST:3306/ispyb (default: ${ENV_VAR})."


def _fail(message: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"error": {"code": "ispyb", "message": message}}))
    else:
        click.echo(f"error: {message}", err=True)
    sys.exit(2)


def open_sync(system: Any, url: str | None, as_json: bool = False) -> Any:
    from logistics.service_layer.ispyb_readback import attach_read_back
    from logistics.adapters.ispyb.sync import IspybSync
    try:
        sync = IspybSync(system, url)
    except IspybError as e:
        _fail(str(e), as_json)
    attach_read_back(sync, system)
    return sync


@click.group(help="Live beside ISPyB: project shipments, dewars, containers and samples into an ISPyB "
                  "database, and read the beamline software's sample-changer loads back.")
def ispyb() -> None:
    pass


@ispyb.command("init-schema", help="Create ISPyB's tables (from Diamond's ispyb package) in an EMPTY database: "
                                   "for trying it out and for tests. A database with tables is refused.")
@click.option("--url", envvar=ENV_VAR, required=True, help=URL_HELP)
@click.option("--json", "as_json", is_flag=True)
def init_schema(url: str, as_json: bool) -> None:
    from logistics.adapters.ispyb.schema import init_schema as create
    try:
        count = create(url)
    except IspybError as e:
        _fail(str(e), as_json)
    click.echo(json.dumps({"tables": count}) if as_json else f"created {count} ISPyB tables")


@ispyb.command(help="Project every event into ISPyB, then keep doing so (--once: catch up and stop).")
@click.option("--url", envvar=ENV_VAR, default=None, help=URL_HELP)
@click.option("--once", is_flag=True, help="Catch up once and stop (for cron or checks).")
@click.option("--interval", default=1.0, show_default=True, type=float, help="Seconds between rounds when idle.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def sync(ctx: click.Context, url: str | None, once: bool, interval: float, as_json: bool) -> None:
    system = ctx.obj.system
    worker = open_sync(system, url, as_json)
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda n, _f: stopping.append(n))
    signal.signal(signal.SIGINT, lambda n, _f: stopping.append(n))
    totals = {"applied": 0, "read_back": 0, "waiting": 0}
    try:
        while not stopping:
            done = worker.run_once()
            totals["applied"] += done.applied
            totals["read_back"] += done.read_back
            totals["waiting"] = done.waiting
            if once:
                break
            if not done:
                time.sleep(interval)
    finally:
        worker.close()
        system.close()
    if as_json:
        click.echo(json.dumps(totals))
    else:
        click.echo(f"projected {totals['applied']} events into ISPyB; read back {totals['read_back']} loads; "
                   f"{totals['waiting']} records wait (see 'logistics ispyb pending')", err=True)


@ispyb.command(help="What waits to reach ISPyB (a proposal or visit ISPyB does not have yet), and the "
                    "beamline's records that disagreed with ours (problems for staff).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def pending(ctx: click.Context, as_json: bool) -> None:
    from logistics.service_layer.ispyb_readback import ispyb_problems, ispyb_waiting
    system = ctx.obj.system
    waiting, problems = ispyb_waiting(system), ispyb_problems(system)
    if as_json:
        click.echo(json.dumps({"waiting": waiting, "problems": problems}, default=str, indent=2))
        return
    lines = [f"WAITING FOR ISPYB: {len(waiting)}"]
    lines += [f"  {w['kind']:<9} {w['name']:<32} {w['reason']}  (since {w['since']:%Y-%m-%d %H:%M})" for w in waiting]
    lines.append(f"PROBLEMS FOR STAFF: {len(problems)}")
    lines += [f"  {p['at']:%Y-%m-%d %H:%M}  {p['message']}" for p in problems]
    click.echo("\n".join(lines))
