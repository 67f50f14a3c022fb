"""The web pages: server-rendered templates over the same GraphQL API, through the named
operations in graphql/*.graphql (run in-process here, and from the browser by small scripts).

Routes that are not GraphQL operations, and why (each still asks the Session, `system.session(me)`,
for anything a proposal owns, so access is decided in the one place):

| route | why not GraphQL | through |
|---|---|---|
| `POST /import` (here) | a multipart file upload (CSV/XLSX); GraphQL over JSON carries no files | `Session.import_contents` |
| `GET /import-template.{csv,xlsx}` (here) | a file download of reference data only (the catalogue's columns), nobody's data | the catalogue |
| `GET/POST /shipments/{id}/labels` (web.py) | PDF or ZPL bytes; GET downloads, POST prints and is recorded | `labelling.render_labels` / `print_labels` over the Session |
| `GET /find` (web.py) | the header's barcode box: a redirect to the page, not data | `Session.resolve`, `Session.shipments_named` |
| `/login`, `/logout`, `/health` (web.py) | signing in and out, and the load balancer's probe: no Session yet, or none needed | accounts, the projection's position |
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from logistics.api.export import operations
from logistics.api.schema import schema
from logistics.api.types import Context, Loaders
from logistics.bootstrap import System
from logistics.domain.errors import DomainError
from logistics.domain.identifiers import tracking_url
from logistics.domain.shipment import STATUSES as SHIPMENT_STATUSES
from logistics.service_layer.access import Principal, rule_of
from logistics.service_layer.importing import ImportRefused, column_of, template_columns, template_rows
from logistics.service_layer.grid import GridRefused, cells_of, grid_columns
from logistics.service_layer.session import Session

HERE = Path(__file__).resolve().parent


def _csp_nonce(request: Request) -> dict[str, str]:
    """The nonce that lets a page's own inline script run under the Content-Security-Policy (guard.py)."""
    return {"csp_nonce": request.scope.get("state", {}).get("csp_nonce", "")}


templates = Jinja2Templates(directory=str(HERE / "templates"), context_processors=[_csp_nonce])
templates.env.policies["json.dumps_kwargs"] = {"sort_keys": False}  # a schema's fields keep their order
OPS = {name: op.text for name, op in operations().items()}


class SignIn(Exception):
    pass


def _when(value: Any) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(str(value)) if not isinstance(value, datetime) else value
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


templates.env.filters["when"] = _when
templates.env.filters["clock"] = lambda v: _when(v)[11:16] + " UTC" if v else ""
templates.env.filters["tracking_url"] = lambda number, courier: tracking_url(courier, number)
templates.env.filters["urlpart"] = lambda v: quote(str(v), safe="")
templates.env.filters["tojson_compact"] = lambda v: json.dumps(v, separators=(",", ":"), default=str)


def build_pages(system: System, authenticate: Callable[[System, Request], Principal | None]) -> list[Any]:
    def principal_of(request: Request) -> Principal:
        principal = authenticate(system, request)
        if principal is None:
            raise SignIn()
        return principal

    async def op(request: Request, principal: Principal, name: str, **variables: Any) -> dict[str, Any]:
        session = system.session(principal)
        context = Context(session=session, loaders=Loaders(session), feed=system.feed, accounts=system.accounts)
        result = await schema.execute(OPS[name], variable_values=variables, context_value=context, operation_name=name)
        if result.errors:
            raise RuntimeError(f"{name}: {result.errors[0].message}")
        return result.data or {}

    def page(template: str, needs: tuple[str, ...] = (), roles: frozenset[str] | None = None) -> Callable[..., Any]:
        """A page handler: signs in first (and checks the role), renders `template` with what `load` returns."""
        def decorate(load: Callable[..., Any]) -> Callable[[Request], Any]:
            async def handler(request: Request) -> Response:
                try:
                    principal = await run_in_threadpool(principal_of, request)
                except SignIn:
                    return RedirectResponse(f"/login?next={quote(str(request.url.path))}", status_code=303)
                if roles is not None and not principal.roles & roles:
                    return templates.TemplateResponse(request, "problem.html", {
                        "me": principal, "ops": {}, "title": "Not for your role",
                        "message": f"This page is for {' or '.join(sorted(roles))} staff. Your start page has what "
                                   "your role needs."}, status_code=403)
                data = await load(request, principal)
                if isinstance(data, Response):
                    return data
                ops = {name: OPS[name] for name in needs}
                return templates.TemplateResponse(request, template, {"me": principal, "ops": ops, **data})
            return handler
        return decorate

    @page("shipments.html", needs=("CreateShipment",))
    async def my_shipments(request: Request, me: Principal) -> dict[str, Any]:
        data = await op(request, me, "MyShipments", first=500)
        rows = [e["node"] for e in data["shipments"]["edges"]]
        contacts = {p: (await op(request, me, "LabContacts", proposal=p))["labContacts"] for p in sorted(me.proposals)}
        groups = {w: [r for r in rows if r["workflow"] == w] for w in SHIPMENT_STATUSES}
        return {"groups": groups, "contacts": contacts, "title": "My shipments"}

    needs_shipment = ("AddMailInDewar", "AddFacilityDewar", "AddContainer", "AddSample", "SetCourier", "MarkSent",
                      "RequestDispatch", "CancelShipment", "Catalogue")

    @page("shipment.html", needs=needs_shipment)
    async def shipment(request: Request, me: Principal) -> Any:
        shipment_id = request.path_params["id"]
        data = await op(request, me, "Shipment", id=shipment_id)
        found = data["shipment"]
        if found["__typename"] != "Shipment":
            return _not_found(request, me, found["message"])
        history = (await op(request, me, "ShipmentHistory", id=shipment_id))["shipment"]["history"]
        catalogue = await op(request, me, "Catalogue")
        imported = request.query_params.get("imported")
        copy_notes = request.session.pop("copy_notes", None) if request.query_params.get("copied") else None
        return {"shipment": found, "history": history, "catalogue": catalogue, "title": f"Shipment {found['name']}",
                "imported": int(imported) if imported and imported.isdigit() else None, "copy_notes": copy_notes}

    @page("stores.html", roles=frozenset({"stores", "admin"}), needs=("ScanDewar", "RecordUnexpectedArrival", "TopUp", "BookDispatch", "ScanOut",
                                "StoresFeed", "Lookup"))
    async def stores(request: Request, me: Principal) -> dict[str, Any]:
        locations = (await op(request, me, "Locations"))["locations"]
        midnight = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        session = system.session(me)
        arrivals = await run_in_threadpool(session.arrived_since, midnight)
        feed, position = await run_in_threadpool(recent_feed, session)
        waiting = (await op(request, me, "DewarsAwaitingDispatch", first=200))["dewars"]["edges"]
        unexpected = (await op(request, me, "UnexpectedArrivals", first=200))["unexpectedArrivals"]["edges"]
        return {"locations": locations, "arrivals": arrivals, "feed": feed, "feed_position": position,
                "waiting": [e["node"] for e in waiting],
                "unexpected": [e["node"] for e in unexpected], "title": "Stores desk"}

    def recent_feed(session: Session, shown: int = 20, looked_at: int = 400) -> tuple[list[dict[str, Any]], int]:
        """The live feed as it would have been: the last events this principal may see, newest
        first, among the last `looked_at` recorded (a bounded read), and where the feed goes on from."""
        head = session.feed_head()
        items, _ = session.feed(max(0, head - looked_at), limit=looked_at)
        events = [item.event for item in items[-3 * shown:]][::-1]
        session.tell(events, system.accounts.people)
        told: list[dict[str, Any]] = []
        for e in events:  # a load is an event of the puck and of its dewar: told once
            if not (told and told[-1]["sentence"] == e["sentence"]):
                told.append(e)
        return told[:shown], head

    @page("instruments.html", roles=frozenset({"stores", "beamline", "admin"}))
    async def instruments(request: Request, me: Principal) -> dict[str, Any]:
        return {"instruments": (await op(request, me, "Instruments"))["instruments"], "title": "Beamlines"}

    @page("beamline.html", roles=frozenset({"stores", "beamline", "admin"}), needs=("LoadContainer", "UnloadContainer", "TakeToInstrument", "BeamlineFeed"))
    async def beamline(request: Request, me: Principal) -> Any:
        name = request.path_params["instrument"]
        changer = (await op(request, me, "SampleChangerMap", instrument=name))["sampleChanger"]
        if changer["__typename"] != "SampleChanger":
            return _not_found(request, me, changer["message"])
        return {"changer": changer, "instrument": name, "title": f"{name} sample changer"}

    @page("entity.html")
    async def dewar_page(request: Request, me: Principal) -> Any:
        return await _entity(request, me, "dewar")

    @page("entity.html")
    async def container_page(request: Request, me: Principal) -> Any:
        return await _entity(request, me, "container")

    async def _entity(request: Request, me: Principal, kind: str) -> Any:
        barcode = request.path_params["barcode"]
        found = (await op(request, me, "Lookup", barcode=barcode))["lookup"]
        if found["__typename"] not in ("Dewar", "Container"):
            return _not_found(request, me, found["message"])
        history_op = "DewarHistory" if found["__typename"] == "Dewar" else "ContainerHistory"
        field = "dewar" if found["__typename"] == "Dewar" else "container"
        history = (await op(request, me, history_op, barcode=barcode))[field]["history"]
        as_of, then, problem = request.query_params.get("asOf"), None, None
        if as_of:
            try:
                when = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
                when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
                as_of_op = "DewarAsOf" if field == "dewar" else "ContainerAsOf"
                then = (await op(request, me, as_of_op, barcode=barcode, asOf=when.isoformat()))[field]
                if then["__typename"] not in ("Dewar", "Container"):
                    problem, then = then["message"], None
            except ValueError:
                problem = f"{as_of!r} is not a time: use the picker, or e.g. 2026-11-26T09:30"
        grid = await _grid(request, me, barcode) if field == "container" else None
        return {"entity": found, "history": history, "then": then, "as_of": as_of or "", "as_of_problem": problem,
                "grid": grid, "title": f"{field.capitalize()} {found['barcode']}"}

    async def _grid(request: Request, me: Principal, barcode: str) -> dict[str, Any] | None:
        """The grid's data for a container that holds samples, in a dewar still being packed, for
        someone who may add samples to it; None otherwise (the page shows its contents read-only)."""
        found = (await op(request, me, "ContainerGrid", barcode=barcode))["container"]
        if found["__typename"] != "Container" or not (found["dewar"] or {}).get("workflow") == "registered" \
                or not me.may(rule_of(Session.fill_container), found["proposal"]):
            return None
        catalogue = system.app.catalogue
        ctype = catalogue.container_type(found["type"])
        if not ctype.holds_samples:
            return None
        kinds = [k for k in catalogue.sample_kinds.values() if ctype.code in k.goes_into]
        session = system.session(me)
        acronyms = await run_in_threadpool(session.protein_acronyms, found["proposal"])
        rows = {s["position"]: {"sample_name": s["name"], "sample_kind": s["kind"], **cells_of(s["attributes"] or {})}
                for s in found["samples"]}
        technique = {"mx": "mx", "cm": "cryo-em", "sm": "saxs", "ee": "xpdf", "cy": "chemical-crystallography"}.get(
            found["proposal"][:2])
        chosen = next((s["kind"] for s in found["samples"]), None) or next(
            (k.code for k in kinds if k.technique == technique), kinds[0].code if kinds else None)
        return {"barcode": found["barcode"], "positions": list(ctype.positions), "rows": rows, "kind": chosen,
                "kinds": {k.code: {"name": k.name, "columns": grid_columns(k)} for k in kinds}, "acronyms": acronyms}

    async def copy_shipment(request: Request) -> Response:
        """POST /shipments/{id}/copy (a form: name): a new shipment laid out as this one; to its page."""
        try:
            me = await run_in_threadpool(principal_of, request)
        except SignIn:
            return RedirectResponse("/login", status_code=303)
        form = await request.form()
        source = request.path_params["id"]
        session = system.session(me)
        try:
            new_id, notes = await run_in_threadpool(session.copy_shipment_layout, source, str(form.get("name", "")))
        except DomainError as e:
            status = 404 if e.code in ("not_found", "unknown_barcode") else 403 if e.code == "access_denied" else 400
            return problem(request, me, "Nothing was copied", e.message, status, json={"code": e.code},
                           context={"links": [(f"/shipments/{quote(source, safe='')}", "Back to the shipment")],
                                    "hint": "Nothing was saved."})
        if wants_json(request):
            return JSONResponse({"ok": True, "id": str(new_id), "notes": notes})
        request.session["copy_notes"] = notes[:20]  # shown once on the new shipment's page
        return RedirectResponse(f"/shipments/{new_id}?copied=1", status_code=303)

    async def save_grid(request: Request) -> Response:
        """POST /containers/{barcode}/grid (JSON: {"rows": [...]}) from the container page's grid: one
        save through the session; every bad cell (position, column, message) answered at once."""
        try:
            me = await run_in_threadpool(principal_of, request)
        except SignIn:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        try:
            body = await request.json()
        except (ValueError, RecursionError):
            body = None
        rows = body.get("rows") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows) or len(rows) > 1000:
            return JSONResponse({"error": 'send {"rows": [{"position": ..., "sample_name": ..., ...}, ...]}'},
                                status_code=400)
        session = system.session(me)
        try:
            counts = await run_in_threadpool(session.fill_container, request.path_params["barcode"], rows)
        except GridRefused as e:
            return JSONResponse({"error": e.message, "cells": [vars(c) for c in e.errors]}, status_code=422)
        except DomainError as e:
            status = 404 if e.code in ("not_found", "unknown_barcode") else 403 if e.code == "access_denied" else 400
            return JSONResponse({"error": e.message, "code": e.code}, status_code=status)
        return JSONResponse({"ok": True, **counts})

    @page("sample.html")
    async def sample_page(request: Request, me: Principal) -> Any:
        found = (await op(request, me, "SampleHistory", id=request.path_params["id"]))["sample"]
        if found["__typename"] != "Sample":
            return _not_found(request, me, found["message"])
        return {"sample": found, "title": f"Sample {found['name']}"}

    def _not_found(request: Request, me: Principal, message: str) -> Response:
        return templates.TemplateResponse(request, "problem.html", {"me": me, "ops": {}, "title": "Not found",
                                                                    "message": message}, status_code=404)

    async def home(request: Request) -> Response:
        try:
            me = await run_in_threadpool(principal_of, request)
        except SignIn:
            return RedirectResponse("/login", status_code=303)
        target = "/stores" if me.roles & {"stores", "admin"} else "/beamline" if "beamline" in me.roles else "/shipments"
        return RedirectResponse(target, status_code=303)

    async def import_contents(request: Request) -> Response:
        """POST /import (a form: dewar, file, shipment): one atomic import. A browser is sent back to
        the shipment's page, or shown a page listing every bad cell; a script asking for JSON gets JSON."""
        try:
            me = await run_in_threadpool(principal_of, request)
        except SignIn:
            if wants_json(request):
                return JSONResponse({"error": "sign in first"}, status_code=401)
            return RedirectResponse("/login", status_code=303)
        form = await request.form()
        upload, dewar = form.get("file"), str(form.get("dewar", ""))
        back = str(form.get("shipment", ""))
        back_link = [(f"/shipments/{quote(back, safe='')}", "Back to the shipment")] if back else []
        title = "Nothing was imported"
        if upload is None or not hasattr(upload, "read"):
            return problem(request, me, title, "Choose a CSV or XLSX file to import.", 400,
                           context={"links": back_link})
        content, filename = await upload.read(), upload.filename or ""
        try:
            rows = read_spreadsheet(filename, content)
        except ValueError as e:
            return problem(request, me, title, str(e), 400, context={"links": back_link})
        session = system.session(me)
        try:
            added = await run_in_threadpool(session.import_contents, dewar, rows)
        except ImportRefused as e:
            cells = [vars(c) for c in e.errors]
            rows_wrong = len({c.row for c in e.errors})
            summary = (f"{filename}: {len(e.errors)} problem{'s' if len(e.errors) != 1 else ''} in "
                       f"{rows_wrong} row{'s' if rows_wrong != 1 else ''}. Nothing was imported: correct these cells "
                       "in your file and import it again.")
            return problem(request, me, title, summary, 422, template="import_errors.html",
                           json={"cells": cells}, context={"cells": [_cell_parts(c) for c in e.errors],
                                                           "links": back_link, "filename": filename})
        except DomainError as e:
            return problem(request, me, title, e.message, 400, context={"links": back_link})
        if wants_json(request):
            return JSONResponse({"ok": True, "samples": added})
        _, _, row = await run_in_threadpool(session.resolve, dewar)
        return RedirectResponse(f"/shipments/{quote(str(row['shipment_id']), safe='')}?imported={added}",
                                status_code=303)

    async def import_template(request: Request) -> Response:
        try:
            kind = system.app.catalogue.sample_kind(request.query_params.get("kind", "mx-crystal"))
        except DomainError as e:
            me = await run_in_threadpool(authenticate, system, request)
            return problem(request, me, "No such template", e.message, 400)
        columns = template_columns(kind)
        examples = template_rows(kind)
        if request.path_params["format"] == "xlsx":
            from openpyxl import Workbook
            book = Workbook()
            sheet = book.active
            sheet.title = kind.code
            sheet.append(columns)
            for example in examples:
                sheet.append([example.get(c, "") for c in columns])
            out = io.BytesIO()
            book.save(out)
            return Response(out.getvalue(), headers={"content-disposition": f'attachment; filename="{kind.code}.xlsx"'},
                            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        for example in examples:
            writer.writerow({c: example.get(c, "") for c in columns})
        return Response(out.getvalue(), media_type="text/csv",
                        headers={"content-disposition": f'attachment; filename="{kind.code}.csv"'})

    @page("sample_kind.html", needs=())
    async def sample_kind_page(request: Request, me: Principal) -> Any:
        """A sample kind's fields: each one's column, what it accepts and, for a list, every allowed value."""
        code = request.path_params["kind"]
        kinds = (await op(request, me, "Catalogue"))["sampleKinds"]
        kind = next((k for k in kinds if k["code"] == code), None)
        if kind is None:
            return _not_found(request, me, f"sample kind {code!r} is not in the catalogue: expected one of "
                                           f"{', '.join(sorted(k['code'] for k in kinds))}")
        schema = kind["schema"]
        required = set(schema.get("required", []))
        fields = []
        for name, spec in schema.get("properties", {}).items():
            parts = [(f"{name}.{p}", s) for p, s in spec.get("properties", {}).items()] \
                if spec.get("type") == "object" else [(name, spec)]
            for path, part in parts:
                fields.append({"path": path, "column": column_of(path), "title": part.get("title", path),
                               "description": part.get("description", ""), "type": part.get("type", "string"),
                               "required": name in required, "allowed": part.get("enum", [])})
        return {"kind": kind, "fields": fields, "title": f"{kind['name']}: fields and allowed values"}

    return [
        Route("/", home),
        Route("/shipments", my_shipments),
        Route("/shipments/{id}", shipment),
        Route("/shipments/{id}/copy", copy_shipment, methods=["POST"]),
        Route("/import", import_contents, methods=["POST"]),
        Route("/import-template.{format:str}", import_template),
        Route("/sample-kinds/{kind}", sample_kind_page),
        Route("/stores", stores),
        Route("/beamline", instruments),
        Route("/beamline/{instrument}", beamline),
        Route("/dewars/{barcode:path}", dewar_page),
        Route("/containers/{barcode:path}/grid", save_grid, methods=["POST"]),
        Route("/containers/{barcode:path}", container_page),
        Route("/samples/{id}", sample_page),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]


def wants_json(request: Request) -> bool:
    """A script (an API token, or Accept: application/json) rather than a person's browser."""
    return ("application/json" in request.headers.get("accept", "")
            or request.headers.get("authorization", "")[:7].lower() == "bearer ")


class _Anonymous:
    """Who the layout shows on an error page for someone not signed in."""
    name, roles, is_staff = "", frozenset(), False


ANONYMOUS = _Anonymous()


def problem(request: Request, me: Any, title: str, message: str, status: int, **more: Any) -> Response:
    """An error as a page in the site's layout (a person's browser: never raw JSON), or as JSON for
    a client that asks for JSON. `json`: more fields for JSON; `context`: more for the template."""
    if wants_json(request):
        return JSONResponse({"error": message, **more.get("json", {})}, status_code=status)
    return templates.TemplateResponse(request, more.get("template", "problem.html"), {
        "me": me or ANONYMOUS, "ops": {}, "title": title, "message": message, **more.get("context", {})},
        status_code=status)


def _cell_parts(cell: Any) -> dict[str, Any]:
    """A bad cell for the page: its message split around "see the list", which links to the kind's list."""
    before, said, after = cell.message.partition("see the list")
    kind, _, field = cell.allowed_in.partition("/")
    href = f"/sample-kinds/{quote(kind, safe='')}#{quote(field, safe='')}" if said and kind else ""
    return {"row": cell.row, "column": cell.column, "value": cell.value, "before": before if href else cell.message,
            "href": href, "after": after if href else ""}


def read_spreadsheet(filename: str, content: bytes) -> list[dict[str, Any]]:
    """Rows of a CSV or XLSX file as dicts keyed by the header row."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook
        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
            raise ValueError(f"{filename} is not a readable XLSX file: save it again from your spreadsheet") from None
        rows = list(sheet.iter_rows(values_only=True))
        if not rows:
            raise ValueError(f"{filename} is empty: download the template and fill it in")
        header = [str(h or "").strip() for h in rows[0]]
        return [dict(zip(header, row)) for row in rows[1:]]
    if filename.lower().endswith(".csv"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = content.decode("latin-1")
        return list(csv.DictReader(io.StringIO(text)))
    raise ValueError(f"{filename!r} is neither a .csv nor an .xlsx file")
