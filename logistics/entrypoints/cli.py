"""`logistics`: set up, load the demo, and ask where things are and what happened to them."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable
from uuid import UUID

import click
from tqdm import tqdm

from logistics.adapters.database import ENV_VAR, DatabaseURLError
from logistics.adapters.erasure_purge import configure_log_file
from logistics.adapters.fixture_files import load_demo
from logistics.adapters.mailer import SMTP_URL_VAR
from logistics.bootstrap import System, bootstrap, default_rebuild_jobs, register_reference_data
from logistics.bootstrap import rebuild_read_model as rebuild_model
from logistics.domain.by import By
from logistics.domain.errors import DomainError
from logistics.entrypoints.demo import load_demo as run_demo
from logistics.service_layer.access import Principal
from logistics.service_layer.notifications import OUTBOX_STATUSES

# The command line is run by the facility's operators, on the server: it sees as an admin does.
OPERATOR = Principal(account_id="cli", name="command line", roles=frozenset({"admin"}), station="cli")


@dataclass(frozen=True)
class Operator(Principal):
    """An operator's admin command at the server (adding an account, erasing a person): recorded
    as its account id (`cli:admin`, `cli:<login>`), as these commands always were."""

    @property
    def by(self) -> By:
        return By(self.account_id)


def operator(actor: str) -> Operator:
    return Operator(account_id=actor, name="command line", roles=frozenset({"admin"}))


def _emit(data: Any, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text)


def _fail(message: str, code: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"error": {"code": code, "message": message}}))
    else:
        click.echo(f"error: {message}", err=True)
    sys.exit(2)


class Context:
    def __init__(self, url: str | None):
        self.url = url
        self._system: System | None = None

    @property
    def system(self) -> System:
        if self._system is None:
            self._system = bootstrap(self.url)
        return self._system


def _run(ctx: click.Context, as_json: bool, action: Any) -> None:
    try:
        action(ctx.obj.system)
    except DomainError as e:
        _fail(e.message, e.code, as_json)
    except DatabaseURLError as e:
        _fail(str(e), "invalid_database_url", as_json)


@click.group(help="Facility sample logistics tracker. The database comes from --database or "
                  f"${ENV_VAR} (default: sqlite:///logistics.db in the working directory).")
@click.option("--database", "url", envvar=ENV_VAR, default=None, help="Database URL (sqlite:///FILE or postgresql://...)")
@click.pass_context
def cli(ctx: click.Context, url: str | None) -> None:
    configure_log_file()
    ctx.obj = Context(url)


@cli.command(help="Create the database and register the locations and instruments from fixtures/.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def init(ctx: click.Context, as_json: bool) -> None:
    def action(system: System) -> None:
        register_reference_data(system.app)
        data = {"database": system.database.url.render_as_string(hide_password=True),
                "locations": len(system.session(OPERATOR).locations()),
                "instruments": len(system.session(OPERATOR).catalogue().instruments)}
        _emit(data, as_json, f"initialised {data['database']}: {data['locations']} locations, "
                             f"{data['instruments']} instruments")
    _run(ctx, as_json, action)


@cli.command(help="Initialise, then load the demo proposals and a dozen shipments in different states.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def demo(ctx: click.Context, as_json: bool) -> None:
    def action(system: System) -> None:
        register_reference_data(system.app)
        data = load_demo()
        with tqdm(total=len(data["shipments"]), desc="demo shipments", unit="shipment", disable=as_json,
                  file=sys.stderr) as bar:
            loaded = run_demo(system.app, data, bar.update, accounts=system.accounts)
        _emit({"shipments_loaded": loaded}, as_json,
              f"loaded {loaded} demo shipments" if loaded else "the demo data is already loaded")
    _run(ctx, as_json, action)


def _describe_where(info: dict[str, Any]) -> str:
    lines = [f"{info['type']} {info['barcode']}: {info['where']['text']}"]
    if info["type"] == "dewar":
        lines[0] += f" ({info['workflow']})"
        for box in info["contents"]:
            lines.extend(_describe_box(box, "  "))
    else:
        lines[0] += f", in dewar {info['dewar']}" if info["dewar"] else ""
    return "\n".join(lines)


def _describe_box(box: dict[str, Any], indent: str) -> list[str]:
    where = f" loaded in {box['loaded_instrument']} position {box['loaded_position']}" if box["loaded_instrument"] else ""
    lines = [f"{indent}{box['container_type']} {box['barcode']}{' at ' + box['position'] if box['position'] else ''}{where}"]
    lines += [f"{indent}  {s['position']:>3}: {s['name']} ({s['kind']})" for s in box["samples"]]
    for child in box["children"]:
        lines.extend(_describe_box(child, indent + "  "))
    return lines


def _parse_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a time: expected ISO 8601, e.g. 2026-11-26T09:30:00+00:00")
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@cli.command(help="Where a dewar or container is now (or, with --as-of, its state at a past time).")
@click.argument("barcode")
@click.option("--as-of", "as_of", default=None, help="ISO 8601 time, e.g. 2026-11-26T09:30:00Z (UTC if no zone).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def where(ctx: click.Context, barcode: str, as_of: str | None, as_json: bool) -> None:
    when = _parse_time(as_of.replace("Z", "+00:00")) if as_of else None

    def action(system: System) -> None:
        session = system.session(OPERATOR)
        if when is None:
            info = session.where(barcode)
            _emit(info, as_json, _describe_where(info))
            return
        kind, entity_id, _row = session.resolve(barcode)
        state = session.as_of(kind, entity_id, when, name=barcode).state()
        _emit(state, as_json, "\n".join(f"{k}: {v}" for k, v in state.items()))
    _run(ctx, as_json, action)


@cli.command(help="What happened to a dewar, container, shipment or sample: every event, who, when, where from. "
                  "--format json or pdf adds each event's chain proof (its hashes and position), for an audit.")
@click.argument("barcode_or_id")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "pdf"]), default="text",
              show_default=True, help="json and pdf include the chain proof.")
@click.option("--output", "-o", default=None, help="Where to write the PDF (default: history-BARCODE.pdf).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (the events without their proof).")
@click.pass_context
def history(ctx: click.Context, barcode_or_id: str, output_format: str, output: str | None, as_json: bool) -> None:
    def action(system: System) -> None:
        session = system.session(OPERATOR)
        kind = "entity"
        try:
            entity_id = UUID(barcode_or_id.strip())
        except ValueError:
            kind, entity_id, _row = session.resolve(barcode_or_id)
        if output_format in ("json", "pdf"):
            _audit_export(system, barcode_or_id.strip(), kind, entity_id, output_format, output)
            return
        events = session.any_history(entity_id)
        session.tell(events, system.accounts.people)
        lines = [f"{e['time'].isoformat(timespec='seconds')}  {e['sentence']}, by {e['who']}"
                 f"{' at ' + e['station'] if e['station'] and e['station'] != e['who'] else ''}" for e in events]
        _emit(events, as_json, "\n".join(lines))
    _run(ctx, as_json or output_format == "json", action)


def _audit_export(system: System, name: str, kind: str, entity_id: UUID, output_format: str,
                  output: str | None) -> None:
    import getpass

    from logistics.domain.chain import now_text
    from logistics.service_layer.audit import history_proof

    proof = history_proof(system.app, entity_id)
    exported = {"exported_at": now_text(), "exported_by": f"cli:{getpass.getuser()}"}
    if output_format == "json":
        click.echo(json.dumps({"name": name, "kind": kind, **exported, **proof}, indent=2, default=str))
        return
    from logistics.entrypoints.history_pdf import render_history_pdf

    path = output or f"history-{''.join(c if c.isalnum() or c in '-_.' else '_' for c in name)}.pdf"
    with open(path, "wb") as f:
        f.write(render_history_pdf(name, kind, proof, exported["exported_at"], exported["exported_by"]))
    click.echo(f"wrote {path}: {len(proof['events'])} events of {kind} {name}, "
               + ("its chain holds" if proof["holds"] else "its chain DOES NOT HOLD"))
    if not proof["holds"]:
        sys.exit(1)


@cli.command("rebuild-read-model", help="Drop the read model and rebuild it from every stored event.")
@click.option("--jobs", type=click.IntRange(min=1), default=default_rebuild_jobs, show_default="one per core, up to 4",
              help="Processes that decode and replay the events (1: this process alone).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def rebuild_read_model(ctx: click.Context, jobs: int, as_json: bool) -> None:
    def action(system: System) -> None:
        total = system.app.recorder.max_notification_id() or 0
        with tqdm(total=total, desc="rebuilding read model", unit="event", disable=as_json, file=sys.stderr) as bar:
            applied = rebuild_model(system, jobs, progress=bar.update)
        _emit({"events_applied": applied}, as_json, f"read model rebuilt from {applied} events")
    _run(ctx, as_json, action)


@cli.command(help="Check that the history is as it was recorded: recompute every event's hash and both chains "
                  "(per aggregate, and the facility's over notification order) and report the first broken link. "
                  "Exits 1 on a break.")
@click.option("--since", type=int, default=None, metavar="POSITION",
              help="Check from this position on, taking the link before it as given.")
@click.option("--anchor", "print_anchor", is_flag=True,
              help="After checking, print the head (position, hash, time) to keep outside the database.")
@click.option("--anchor-file", type=click.File("r"), default=None,
              help="A kept anchor ('-' for stdin): also prove that nothing up to its position changed.")
@click.option("--backfill", is_flag=True, help="Once, for a database with events recorded before the chain "
                                               "existed: link them, and say from which position links are trusted.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def verify(ctx: click.Context, since: int | None, print_anchor: bool, anchor_file: Any, backfill: bool,
           as_json: bool) -> None:
    from logistics.domain.chain import Anchor
    from logistics.service_layer import audit

    kept = None
    if anchor_file is not None:
        try:
            kept = Anchor.parse(anchor_file.read())
        except ValueError as e:
            _fail(str(e), "invalid_value", as_json)

    def action(system: System) -> None:
        if backfill:
            with tqdm(total=system.app.recorder.max_notification_id() or 0, desc="linking recorded events",
                      unit="event", disable=as_json, file=sys.stderr) as bar:
                head = audit.backfill_chain(system.app, progress=bar.update)
            data = {"linked_through": head.backfilled_through or 0, "trusted_from": head.trusted_from,
                    "anchor": {"position": head.position, "hash": head.chain_hash.hex(), "time": head.started_at}}
            _emit(data, as_json, f"linked {head.backfilled_through or 0} events recorded before the chain existed. "
                                 f"Positions up to {head.backfilled_through or 0} are proved unchanged since now "
                                 f"({head.started_at}); from position {head.trusted_from} each event is linked as it "
                                 f"is recorded.\nanchor: position {head.position} hash {head.chain_hash.hex()} "
                                 f"at {head.started_at}")
            return
        with tqdm(total=audit.events_to_check(system.app, since), desc="verifying history", unit="event",
                  disable=as_json, file=sys.stderr) as bar:
            report = audit.verify_history(system.app, since=since, anchor=kept, progress=bar.update)
        lines = report.sentences()
        if print_anchor and report.ok and report.head is not None:
            lines.append(report.head.line())
        data = report.as_dict()
        if print_anchor and report.ok:
            data["anchor"] = data["head"]
        _emit(data, as_json, "\n".join(lines))
        if not report.ok:
            sys.exit(1)
    _run(ctx, as_json, action)


@cli.command(help="What is where: shipments by status, dewars by location and workflow, and every sample changer.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    def action(system: System) -> None:
        data = system.session(OPERATOR).overview()
        shipments, dewars, changers = data["shipments"], data["dewars"], data["changers"]
        lines = ["SHIPMENTS"]
        lines += [f"  {s['proposal']:<10} {s['name'][:30]:<30} {s['workflow']}" for s in shipments]
        lines.append("DEWARS")
        lines += [f"  {d['barcode']:<28} {d['workflow']:<19} {d['where_kind']} {d['where_code'] or ''}  [{d['proposal'] or '-'}]"
                  for d in dewars]
        lines.append("SAMPLE CHANGERS")
        for name, loaded in changers.items():
            if loaded:
                lines += [f"  {name} position {p['position']:>3}: {p['container_type']} {p['barcode']} [{p['proposal']}]" for p in loaded]
        lines.append(f"UNEXPECTED ARRIVALS: {len(data['unexpected'])}")
        _emit(data, as_json, "\n".join(lines))
    _run(ctx, as_json, action)


@cli.command(help="Print a shipment's labels (dewar, address, return and container labels, and the manifest) to a file.")
@click.argument("shipment")
@click.option("--stock", default="a4-14", show_default=True, help="a4-14, a4 or thermal-4x6 (fixtures/label-stocks.json)")
@click.option("--format", "label_format", default="pdf", show_default=True, type=click.Choice(["pdf", "zpl"]))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def labels(ctx: click.Context, shipment: str, stock: str, label_format: str, output: str, as_json: bool) -> None:
    from logistics.adapters.label_printer import LabelPrinter
    from logistics.service_layer.labelling import print_labels

    def action(system: System) -> None:
        data = print_labels(system.session(OPERATOR), LabelPrinter(), shipment, stock, label_format)
        with open(output, "wb") as f:
            f.write(data)
        _emit({"file": output, "bytes": len(data), "stock": stock, "format": label_format}, as_json,
              f"wrote {len(data)} bytes of {label_format.upper()} labels on {stock} to {output}")
    _run(ctx, as_json, action)


@cli.command(help="Serve the GraphQL API (and GraphiQL) with uvicorn.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="API processes (on one machine with SQLite; any number of hosts with PostgreSQL).")
@click.option("--demo/--no-demo", "with_demo", default=False, help="Initialise and load the demo data first.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, with_demo: bool) -> None:
    import os

    import uvicorn

    system = ctx.obj.system
    register_reference_data(system.app)
    if with_demo:
        from logistics.entrypoints.demo import is_loaded

        data = load_demo()
        if is_loaded(system.app, data):  # a second start: no progress bar standing at 0 of 12
            click.echo("the demo data is already loaded", err=True)
        else:
            with tqdm(total=len(data["shipments"]), desc="demo shipments", unit="shipment", file=sys.stderr) as bar:
                run_demo(system.app, data, bar.update, accounts=system.accounts)
    url = system.database.url.render_as_string(hide_password=False)
    system.close()
    os.environ["LOGISTICS_DATABASE_URL"] = url
    sign_in = f"  sign in:  http://{host}:{port}/login\n"
    if with_demo:
        from logistics.entrypoints.demo import demo_accounts, demo_password

        sign_in += "".join(f"            {line}\n" for line in ["demo accounts:", *demo_accounts(data)]) + \
            f"            each password is the username followed by {demo_password('')!r}, e.g. {demo_password('ada')}\n"
    click.echo(f"serving {system.database.url.render_as_string(hide_password=True)} on http://{host}:{port}\n"
               f"{sign_in}"
               f"  GraphQL:  http://{host}:{port}/graphql  (GraphiQL in the browser; scripts send\n"
               f"            'Authorization: Bearer TOKEN' from 'logistics token create --user NAME')", err=True)
    app, options = "logistics.entrypoints.web:app_from_environment", dict(factory=True, log_level="warning",
                                                                          access_log=False)
    if workers > 1:
        from logistics.entrypoints.processes import PortInUse, serve_processes
        from logistics.entrypoints.web import PROJECTED_BY_PARENT

        def project() -> Callable[[], None]:
            """The parent keeps the read model up to date: its API processes spend no time on it."""
            follower = bootstrap(url)
            follower.project_in_background()
            return follower.close

        os.environ[PROJECTED_BY_PARENT] = "1"
        try:
            serve_processes(app, host, port, workers, alongside=project, **options)
        except PortInUse as e:
            raise click.ClickException(str(e)) from None
        return
    uvicorn.run(app, host=host, port=port, **options)


@cli.command(help="Generate a realistic facility history of N years (about 3,000 mail-in shipments a year).")
@click.option("--years", default=1.0, show_default=True, type=click.FloatRange(0.001, 50))
@click.option("--seed", default=1, show_default=True, type=int, help="Another seed adds another, different history.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def simulate(ctx: click.Context, years: float, seed: int, as_json: bool) -> None:
    from logistics.entrypoints.simulate import simulate as run_simulation

    def action(system: System) -> None:
        register_reference_data(system.app)
        total = int(years * 9000 / 3)
        with tqdm(total=total, desc="simulated shipments", unit="shipment", disable=as_json, file=sys.stderr) as bar, \
                tqdm(desc="read model", unit="event", disable=as_json, file=sys.stderr) as events:
            result = run_simulation(system, years, seed, bar.update, events.update)
        _emit(result, as_json, f"simulated {result['shipments']} shipments over {years:g} years: "
                               f"{result['events']} events")
    _run(ctx, as_json, action)


@cli.command(help="Run the background work: keep the read model caught up with every process's events.")
@click.option("--interval", default=0.2, show_default=True, type=float, help="Seconds between polls when idle.")
@click.option("--once", is_flag=True, help="Catch up once and stop (for cron or checks).")
@click.option("--ispyb", "ispyb_url", default=None, metavar="URL",
              help="Also keep this ISPyB database up to date and read its beamline loads back (see 'logistics ispyb').")
@click.pass_context
def worker(ctx: click.Context, interval: float, once: bool, ispyb_url: str | None) -> None:
    import signal
    import time

    system = ctx.obj.system
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"worker on {system.database.url.render_as_string(hide_password=True)}: "
               f"read model at position {system.projection.position()}", err=True)
    from logistics.adapters.notifying import work as notify

    beside = None
    if ispyb_url:
        from logistics.entrypoints.ispyb_cli import open_sync
        beside = open_sync(system, ispyb_url)
    while not stopping:
        applied = system.projection.catch_up()
        notified = notify(system, until_idle=once)  # the e-mail outbox, the still-here check, the digests
        mirrored = beside.run_once() if beside else None
        if once:
            click.echo(f"applied {applied} events; notifications: {notified}"
                       + (f"; ISPyB: {mirrored.applied} events projected, {mirrored.read_back} loads read back, "
                          f"{mirrored.waiting} records waiting" if mirrored else ""), err=True)
            break
        if not (applied or notified or mirrored):
            time.sleep(interval)
    if beside:
        beside.close()
    system.close()


@cli.command(help="The e-mail outbox, newest first: who is told what (by person id; addresses are never kept), "
                  "and what failed.")
@click.option("--status", default=None, type=click.Choice(OUTBOX_STATUSES), help="Only messages in this state.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def outbox(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    def action(system: System) -> None:
        rows, text = outbox_listing(system, status, limit)
        _emit(rows, as_json, text)
    _run(ctx, as_json, action)


def outbox_listing(system: System, status: str | None, limit: int) -> tuple[list[dict[str, Any]], str]:
    """The outbox for `logistics outbox`, through the Session as the operator: the rows, and the same as text."""
    admin = system.session(OPERATOR)
    rows = admin.outbox(status, limit)
    counts = admin.outbox_counts()
    lines = ["OUTBOX " + (", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "empty")]
    if system.notifications is not None and system.notifications.smtp is None:
        lines.append(f"  (no {SMTP_URL_VAR}: nothing is sent; messages wait)")
    for r in rows:
        when = (r["sent_at"] or r["next_attempt_at"] or r["created_at"])
        detail = r["last_error"] or r["note"] or ""
        lines.append(f"  {r['id']:>6} {r['status']:<9} {r['kind']:<22} {r['barcode'] or '-':<26} to {r['recipient']} "
                     f"attempts {r['attempts']} {when:%Y-%m-%d %H:%M}{'  ' + detail if detail else ''}")
    return rows, "\n".join(lines)


@cli.group(help="Accounts: people, scanner stations and scripts.")
def user() -> None:
    pass


@user.command("add", help="Add an account. Members are linked to a person on their proposals.")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["member", "stores", "beamline", "admin"]), help="Repeat for several roles.")
@click.option("--kind", default="person", type=click.Choice(["person", "station", "script"]), show_default=True)
@click.option("--proposal", "proposals", multiple=True, help="For members: a proposal to join (repeatable).")
@click.option("--name", default=None, help="For members (and staff to be e-mailed): the person's name (kept sealed).")
@click.option("--email", default=None, help="For members (and staff to be e-mailed): the e-mail address (kept sealed).")
@click.option("--password-stdin", "password_stdin", is_flag=True,
              help="Read the password from the first line of standard input (for scripts); without it a "
                   "person's password is asked for. Never on the command line: it would stay in shell history.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def user_add(ctx: click.Context, username: str, roles: tuple[str, ...], kind: str, proposals: tuple[str, ...],
             name: str | None, email: str | None, password_stdin: bool, as_json: bool) -> None:
    from logistics.adapters.accounts import check_password
    from logistics.domain.errors import DomainError

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif kind == "person":
        password = click.prompt("password (at least 12 characters)", hide_input=True, confirmation_prompt=True)
    if password is not None:
        try:
            check_password(password, username)  # before anything is registered
        except DomainError as e:
            _fail(e.message, e.code, as_json)

    def action(system: System) -> None:
        admin = system.session(operator("cli:admin"))
        person_id = None
        if "member" in roles:
            if not (name and email and proposals):
                _fail("a member needs --name, --email and at least one --proposal", "invalid_value", as_json)
            for code in proposals:
                system.app.proposal(code)
            person_id = str(admin.register_person(name, email))
            for code in proposals:
                admin.add_member(code, person_id, "member")
        elif name and email:  # staff are e-mailed (notifications) through their person
            person_id = str(admin.register_person(name, email))
        account = system.accounts.add(username, list(roles), password=password, person_id=person_id, kind=kind)
        _emit({"id": account.id, "username": account.username, "roles": sorted(account.roles)}, as_json,
              f"added {account.kind} account {account.username} ({', '.join(sorted(account.roles))})")
    _run(ctx, as_json, action)


@cli.group(help="People whose personal data the tracker keeps (sealed).")
def person() -> None:
    pass


@person.command("erase", help="Erase a person (by person id, or the username of their account): their key is "
                              "destroyed, so their name, e-mail, phone and addresses read as erased in every history; "
                              "every account linked to them is disabled; the e-mail outbox, its digests and the log "
                              "file (LOGISTICS_LOG_FILE) are purged of them; the erasure is recorded with who did it "
                              "and when. Histories stay whole and verifiable. Cannot be undone.")
@click.argument("person_ref", metavar="PERSON")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def person_erase(ctx: click.Context, person_ref: str, yes: bool, as_json: bool) -> None:
    import getpass

    from logistics.domain.errors import NotFound

    def action(system: System) -> None:
        person_id = person_ref.strip()
        try:
            person_id = str(UUID(person_id))
        except ValueError:
            account = system.accounts.by_username(person_id)
            if account.person_id is None:
                raise NotFound(f"account {person_ref!r} is not linked to a person: there is nobody to erase")
            person_id = account.person_id
        system.app.person_details(person_id)  # refuses an unknown person before asking
        if not yes:
            try:
                confirmed = click.confirm(f"Erase person {person_id}? This cannot be undone", err=True)
            except click.Abort:  # no answer (no terminal, end of input)
                confirmed = False
            if not confirmed:
                _fail("nothing erased: answer yes, or pass --yes", "cancelled", as_json)
        report = system.session(operator(f"cli:{getpass.getuser()}")).erase_person(person_id)
        _emit({"person_id": report.person_id, "erased_by": report.erased_by,
               "already_erased": report.already_erased, **report.purged}, as_json, report.sentence())
    _run(ctx, as_json, action)


@user.command("unlock", help="Let an account that failed to sign in too often try again at once.")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def user_unlock(ctx: click.Context, username: str, as_json: bool) -> None:
    def action(system: System) -> None:
        system.accounts.by_username(username)
        was_locked = system.accounts.throttle.unlock(username, None, "unlocked by an admin (logistics user unlock)")
        _emit({"username": username, "was_locked": was_locked}, as_json,
              f"unlocked {username}" if was_locked else f"{username} was not locked; its failed sign-ins are forgotten")
    _run(ctx, as_json, action)


@user.command("sign-ins", help="Accounts locked after failed sign-ins, and unlocked again (the audit).")
@click.argument("username", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def user_sign_ins(ctx: click.Context, username: str | None, as_json: bool) -> None:
    def action(system: System) -> None:
        entries = system.accounts.throttle.audit(username)
        _emit([{"at": e.at.isoformat(), "event": e.event, "username": e.username, "client": e.client,
                "detail": e.detail} for e in entries], as_json,
              "\n".join(f"{e.at:%Y-%m-%d %H:%M:%S} UTC  {e.event:8}  {e.username}  from {e.client or '-'}: {e.detail}"
                        for e in entries) or "no account was locked")
    _run(ctx, as_json, action)


@cli.group(help="API tokens for scripts and scanner stations.")
def token() -> None:
    pass


@token.command("create", help="Create an API token; it is printed once and stored only hashed.")
@click.option("--user", "username", required=True)
@click.option("--label", default="", help="What the token is for, e.g. the station's desk.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def token_create(ctx: click.Context, username: str, label: str, as_json: bool) -> None:
    def action(system: System) -> None:
        token_id, secret = system.accounts.create_token(username, label)
        _emit({"id": token_id, "token": secret}, as_json,
              f"{secret}\n(token id {token_id}; shown only now: revoke with 'logistics token revoke {token_id}')")
    _run(ctx, as_json, action)


@token.command("revoke", help="Revoke an API token by its id (or the token itself).")
@click.argument("token_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def token_revoke(ctx: click.Context, token_id: str, as_json: bool) -> None:
    def action(system: System) -> None:
        system.accounts.revoke_token(token_id)
        _emit({"revoked": token_id}, as_json, f"revoked token {token_id}")
    _run(ctx, as_json, action)


from logistics.entrypoints.ispyb_cli import ispyb as _ispyb  # noqa: E402

cli.add_command(_ispyb)


def main() -> None:
    cli(prog_name="logistics")
