"""Every mutation, through HTTP, by the role that does it: a member registers and sends a
shipment, stores scan it in and out, beamline staff take it to an instrument and load the
puck, an admin keeps the registries. Each command also meets bad input, which must come back
as the typed problem of its result union: never an HTTP 500, never a GraphQL `errors` entry.
"""

from __future__ import annotations

import random
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from logistics.domain.identifiers import MailInBarcode
from tests.api.introspection import graphql_type

PROBLEM_TYPES = {
    "UnknownBarcodeError": "unknown_barcode", "InvalidBarcodeError": "invalid_barcode",
    "InvalidValueError": "invalid_value", "NotPermittedError": "not_permitted", "AccessDeniedError": "access_denied",
    "NotFoundError": "not_found", "AlreadyExistsError": "already_exists",
}
WHERE = "where { kind code text }"
FRAGMENTS = {
    "Shipment": "... on Shipment { id name proposal workflow safetyLevel courier trackingNumber "
                "dewars { barcode workflow " + WHERE + " } }",
    "Dewar": "... on Dewar { id barcode facilityCode kind proposal workflow unexpected returnCourier returnTracking "
             + WHERE + " shipment { id name } containers { barcode } }",
    "Container": "... on Container { id barcode type proposal position disposed atInstrument "
                 "loaded { instrument position } where { kind code position text } dewar { barcode } "
                 "samples { id name position } children { barcode position } }",
    "Sample": "... on Sample { id name kind proposal position removed attributes container { barcode } }",
    "Scan": "... on Scan { changed event dewar { id barcode proposal workflow " + WHERE + " } }",
    "Done": "... on Done { ok id }",
    "NotificationSetting": "... on NotificationSetting { kind proposal delivery isDefault }",
    "SampleChanger": "... on SampleChanger { instrument positions { position occupied container { barcode } } }",
}
PROBLEM = "... on Problem { message code }"
HUGE = "x" * 100_000
SUCCEEDED: dict[str, set[str]] = {}  # server url -> mutations seen succeeding

INTROSPECTION = """{ __schema { mutationType { fields { name
  args { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }
  type { kind name ofType { kind name possibleTypes { name } } } } } } }"""




class Api:
    """Builds a mutation from its arguments (types from introspection) and posts it over HTTP."""

    def __init__(self, server: Any):
        self.server = server
        fields = server.gql("admin", INTROSPECTION)["__schema"]["mutationType"]["fields"]
        self.args = {f["name"]: {a["name"]: graphql_type(a["type"]) for a in f["args"]} for f in fields}
        self.members = {f["name"]: [t["name"] for t in f["type"]["ofType"]["possibleTypes"]] for f in fields}
        self._accounts: dict[str, str] = {}

    def post(self, who: str, query: str, variables: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> httpx.Response:
        with self.server.client(who) as c:
            return c.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {})

    def data(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        response = self.post(who, query, variables)
        assert response.status_code == 200, response.text[:2000]
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def mutation(self, name: str, keys: list[str]) -> str:
        types = self.args[name]
        declared = ", ".join(f"${k}: {types[k]}" for k in keys)
        used = ", ".join(f"{k}: ${k}" for k in keys)
        fragments = dict(FRAGMENTS)
        if {"Dewar", "Container"} <= set(self.members[name]):  # never let the two `proposal` fields conflict
            fragments["Container"] = fragments["Container"].replace(" proposal ", " containerProposal: proposal ")
        selection = " ".join(fragments[t] for t in self.members[name] if t in fragments)
        return (f"mutation{f'({declared})' if keys else ''} "
                f"{{ r: {name}{f'({used})' if keys else ''} {{ __typename {selection} {PROBLEM} }} }}")

    def call(self, who: str, name: str, /, headers: dict[str, str] | None = None, **kwargs: Any) -> dict[str, Any]:
        response = self.post(who, self.mutation(name, list(kwargs)), kwargs, headers)
        assert response.status_code == 200, f"{name}: HTTP {response.status_code}: {response.text[:2000]}"
        body = response.json()
        assert "errors" not in body, f"{name}: {body['errors']}"
        result = body["data"]["r"]
        if "containerProposal" in result:
            result["proposal"] = result.pop("containerProposal")
        if result["__typename"] not in PROBLEM_TYPES:
            SUCCEEDED.setdefault(self.server.url, set()).add(name)
        return result

    def actor(self, username: str) -> str:
        """The actor recorded on the events of an account: `account:<its id>`."""
        if username not in self._accounts:
            from logistics.adapters.accounts import Accounts
            from logistics.adapters.database import Database
            engine = Database.from_url(self.server.database_url).engine()
            try:
                self._accounts[username] = Accounts(engine).by_username(username).actor
            finally:
                engine.dispose()
        return self._accounts[username]


API_ARGS: dict[str, Any] = {}  # server url -> the schema's mutations and their arguments


@pytest.fixture(scope="module")
def api(server: Any) -> Api:
    made = Api(server)
    API_ARGS[server.url] = made.args
    return made


def ok(result: dict[str, Any], typename: str) -> dict[str, Any]:
    assert result["__typename"] == typename, result
    return result


def refused(result: dict[str, Any], typename: str, *names: str) -> dict[str, Any]:
    """A typed problem of this kind whose message names each of `names` (case-insensitive)."""
    assert result["__typename"] == typename, result
    assert result["code"] == PROBLEM_TYPES[typename], result
    for name in names:
        assert name.lower() in result["message"].lower(), (name, result["message"])
    return result


def uid() -> str:
    return uuid.uuid4().hex[:8].upper()


def unknown_mail_in(proposal: str = "mx23694") -> str:
    """A well-formed mail-in barcode (right check character) that nobody allocated."""
    return str(MailInBarcode.allocate(proposal, 9, "i03", random.randint(9_000_000, 9_999_000)))


def mistyped(barcode: str) -> str:
    """The same code with its check character changed: a misread."""
    check = barcode[-1]
    return barcode[:-1] + ("0" if check != "0" else "1")


def history(api: Api, who: str, barcode: str) -> list[dict[str, Any]]:
    query = "query($b: String!) { lookup(barcode: $b) { __typename ... on Dewar { history { version event time actor actorName station data } } " \
            "... on Container { history { version event time actor actorName station data } } } }"
    return api.data(who, query, b=barcode)["lookup"]["history"]


def shipment_status(api: Api, who: str, shipment_id: str) -> str:
    """The shipment's status as its page shows it to the user."""
    return api.data(who, "query($i: ID!) { shipment(id: $i) { ... on Shipment { workflow } } }",
                    i=shipment_id)["shipment"]["workflow"]


def free_position(api: Api, instrument: str) -> str:
    changer = api.data("beamline", "query($i: String!) { sampleChanger(instrument: $i) { ... on SampleChanger { "
                                   "positions { position occupied } } } }", i=instrument)["sampleChanger"]
    return next(p["position"] for p in changer["positions"] if not p["occupied"])


def new_facility_dewar(api: Api) -> dict[str, Any]:
    for _ in range(20):
        code = f"DLS-{random.choice(['MX', 'IN', 'CY', 'BI', 'EM'])}-{random.randint(1000, 8999)}"
        result = api.call("admin", "registerFacilityDewar", facilityCode=code)
        if result["__typename"] == "Dewar":
            return result
        refused(result, "AlreadyExistsError", code)
    raise AssertionError("no free facility code found")


def new_shipment(api: Api, who: str = "ada", proposal: str = "mx23694", **kwargs: Any) -> dict[str, Any]:
    return ok(api.call(who, "createShipment", proposal=proposal, name=f"API test {uid()}", **kwargs), "Shipment")


# --- the mail-in round trip -------------------------------------------------------------------

def test_a_mail_in_dewar_goes_round_the_facility_and_its_history_says_who_did_what(api: Api) -> None:
    u = uid()
    # the user group registers a shipment
    name = f"Journey {u}"
    shipment = ok(api.call("ada", "createShipment", proposal=" MX23694 ", name=name, safetyLevel="Yellow"), "Shipment")
    assert (shipment["proposal"], shipment["name"], shipment["workflow"], shipment["safetyLevel"], shipment["dewars"]) \
        == ("mx23694", name, "registered", "yellow", [])
    refused(api.call("rosalind", "createShipment", proposal="mx23694", name=f"  journey {u.lower()} "),
            "AlreadyExistsError")
    refused(api.call("ada", "createShipment", proposal="mx23694", name="x", safetyLevel="purple"),
            "InvalidValueError", "purple")
    refused(api.call("ada", "createShipment", proposal="23694", name="x"), "InvalidValueError", "23694")
    refused(api.call("ada", "createShipment", proposal="mx23694", name=" "), "InvalidValueError", "shipment name")
    sid = shipment["id"]

    # ... with a mail-in dewar
    dewar = ok(api.call("ada", "addMailInDewar", shipmentId=sid, visit=1, beamline="I04"), "Dewar")
    barcode = dewar["barcode"]
    assert re.fullmatch(r"mx23694-1-i04-[0-9]{7}-[0-9a-z]", barcode), barcode
    assert (dewar["workflow"], dewar["where"]["kind"], dewar["proposal"], dewar["facilityCode"], dewar["kind"]) \
        == ("registered", "offsite", "mx23694", None, "dewar")
    assert dewar["shipment"]["id"] == sid
    refused(api.call("ada", "addMailInDewar", shipmentId=sid, visit=1, beamline="i99"), "InvalidValueError", "i99")
    refused(api.call("ada", "addMailInDewar", shipmentId=sid, visit=0, beamline="i04"), "InvalidValueError", "visit")
    refused(api.call("ada", "addMailInDewar", shipmentId=sid, visit=1, beamline="i04", kind="crate"),
            "InvalidValueError", "crate")
    refused(api.call("ada", "addMailInDewar", shipmentId=str(uuid.uuid4()), visit=1, beamline="i04"), "NotFoundError")

    # ... a puck (typed in lower case) with samples
    puck = f"JP-{u}"
    container = ok(api.call("ada", "addContainer", barcode=f" {puck.lower()}\r\n", type="unipuck",
                            dewar=barcode.upper()), "Container")
    assert (container["barcode"], container["type"], container["proposal"], container["dewar"]["barcode"],
            container["where"]["kind"], container["loaded"], container["disposed"]) \
        == (puck, "unipuck", "mx23694", barcode, "offsite", None, False)
    refused(api.call("ada", "addContainer", barcode="x", type="unipuck", dewar=barcode), "InvalidBarcodeError", "'x'")
    refused(api.call("ada", "addContainer", barcode=f"JQ-{u}", type="teacup", dewar=barcode), "InvalidValueError", "teacup")
    refused(api.call("ada", "addContainer", barcode=f"JQ-{u}", type="unipuck", dewar=unknown_mail_in()),
            "UnknownBarcodeError")
    refused(api.call("ada", "addContainer", barcode=f"JQ-{u}", type="unipuck", dewar=mistyped(barcode)),
            "InvalidBarcodeError", "check character")

    sample = ok(api.call("ada", "addSample", container=puck, position="1", kind="mx-crystal", name=f"xtal_{u}",
                         attributes={"protein_acronym": "lyso"}), "Sample")
    assert (sample["name"], sample["kind"], sample["proposal"], sample["position"], sample["removed"],
            sample["container"]["barcode"], sample["attributes"]) \
        == (f"xtal_{u}", "mx-crystal", "mx23694", "1", False, puck, {"protein_acronym": "lyso"})
    refused(api.call("ada", "addSample", container=puck, position="1", kind="mx-crystal", name=f"other_{u}",
                     attributes={"protein_acronym": "lyso"}), "NotPermittedError", "position 1", "taken")
    refused(api.call("ada", "addSample", container=puck, position="2", kind="mx-crystal", name=f"other_{u}",
                     attributes={"protein_acronym": "has spaces"}), "InvalidValueError", "protein_acronym")
    refused(api.call("ada", "addSample", container=puck, position="2", kind="unicorn", name=f"other_{u}",
                     attributes={}), "InvalidValueError", "unicorn")
    refused(api.call("ada", "addSample", container=puck, position="17", kind="mx-crystal", name=f"other_{u}",
                     attributes={"protein_acronym": "lyso"}), "InvalidValueError", "17")

    moved = ok(api.call("ada", "moveSample", id=sample["id"], container=puck, position="16"), "Sample")
    assert (moved["position"], moved["container"]["barcode"]) == ("16", puck)
    refused(api.call("ada", "moveSample", id=sample["id"], container=puck, position="0"), "InvalidValueError", "'0'")
    refused(api.call("ada", "moveSample", id=str(uuid.uuid4()), container=puck, position="2"), "NotFoundError")

    spare = ok(api.call("ada", "addSample", container=puck, position="2", kind="mx-crystal", name=f"spare_{u}",
                        attributes={"protein_acronym": "lyso"}), "Sample")
    gone = ok(api.call("ada", "removeSample", id=spare["id"]), "Sample")
    assert gone["removed"] is True and gone["container"] is None
    refused(api.call("ada", "removeSample", id="not-a-sample-id"), "NotFoundError")
    samples = api.data("ada", "query($b: String!) { container(barcode: $b) { ... on Container { samples { name position } } } }",
                       b=puck)["container"]["samples"]
    assert samples == [{"name": f"xtal_{u}", "position": "16"}]

    # ... the courier, then sends it
    refused(api.call("ada", "setCourier", shipmentId=sid, courier="dhl", trackingNumber="12345"),
            "InvalidValueError", "12345")
    refused(api.call("ada", "setCourier", shipmentId=sid, courier="pigeon"), "InvalidValueError", "pigeon")
    courier = ok(api.call("ada", "setCourier", shipmentId=sid, courier="DHL", trackingNumber=" 12 3456 7891 "), "Shipment")
    assert (courier["courier"], courier["trackingNumber"]) == ("dhl", "1234567891")
    assert shipment_status(api, "ada", sid) == "registered"
    sent = ok(api.call("ada", "markSent", shipmentId=sid), "Shipment")
    assert sent["workflow"] == "sent"
    assert [(d["barcode"], d["workflow"], d["where"]["kind"]) for d in sent["dewars"]] \
        == [(barcode, "sent", "in-transit-to-facility")]
    refused(api.call("ada", "markSent", shipmentId=sid), "NotPermittedError", "already sent")
    refused(api.call("ada", "cancelShipment", shipmentId=sid), "NotPermittedError", "already sent")
    refused(api.call("ada", "addContainer", barcode=f"JQ-{u}", type="unipuck", dewar=barcode), "NotPermittedError", barcode)
    refused(api.call("ada", "requestDispatch", barcode=unknown_mail_in()), "UnknownBarcodeError")

    # stores scan it in at the goods-in desk (a scanner station: noise around the code, upper case)
    refused(api.call("stores-desk-1", "scanDewar", barcode=mistyped(barcode), location="loc-goods-in"),
            "InvalidBarcodeError", "check character")
    refused(api.call("stores-desk-1", "scanDewar", barcode=unknown_mail_in(), location="loc-goods-in"),
            "UnknownBarcodeError")
    refused(api.call("stores-desk-1", "scanDewar", barcode=barcode, location="loc-nowhere"),
            "InvalidValueError", "loc-nowhere")
    refused(api.call("stores-desk-1", "scanDewar", barcode=barcode, location="shelf 3"), "InvalidValueError", "shelf 3")
    refused(api.call("stores", "moveDewar", barcode=unknown_mail_in(), location="loc-stores-a1"), "UnknownBarcodeError")
    refused(api.call("stores", "moveDewar", barcode=barcode, location="loc-stores-a1"), "NotPermittedError", "scan it in")
    refused(api.call("stores", "topUp", barcode=barcode, litres=5.0), "NotPermittedError", "not at the facility")
    scan = ok(api.call("stores-desk-1", "scanDewar", barcode=f"  {barcode.upper()}\r\n", location="LOC-GOODS-IN"), "Scan")
    assert (scan["changed"], scan["event"]) == (True, "Arrived")
    assert shipment_status(api, "ada", sid) == "received"  # its only dewar arrived
    assert (scan["dewar"]["barcode"], scan["dewar"]["workflow"], scan["dewar"]["where"]["kind"],
            scan["dewar"]["where"]["code"]) == (barcode, "received", "storage", "loc-goods-in")
    again = ok(api.call("stores-desk-1", "scanDewar", barcode=barcode, location="loc-goods-in"), "Scan")
    assert (again["changed"], again["event"]) == (False, None) and again["dewar"]["workflow"] == "received"

    moved_dewar = ok(api.call("stores", "moveDewar", barcode=barcode, location="loc-ln2-fill"), "Scan")
    assert (moved_dewar["changed"], moved_dewar["event"]) == (True, "Moved")
    assert moved_dewar["dewar"]["where"]["code"] == "loc-ln2-fill"
    topped = ok(api.call("stores", "topUp", barcode=barcode, litres=12.5), "Dewar")
    assert topped["where"]["code"] == "loc-ln2-fill" and topped["workflow"] == "received"
    ok(api.call("stores", "topUp", barcode=barcode), "Dewar")
    refused(api.call("stores", "topUp", barcode=barcode, litres=1000.0), "InvalidValueError", "1000")
    refused(api.call("stores", "topUp", barcode=barcode, litres=-1.0), "InvalidValueError", "-1")
    checked = ok(api.call("stores", "checkContents", barcode=barcode, ok=True, notes="one puck, pins intact"), "Dewar")
    assert checked["workflow"] == "received"
    refused(api.call("stores", "checkContents", barcode="NOPE-" + u, ok=False), "UnknownBarcodeError", "NOPE-" + u)
    damaged = ok(api.call("stores", "reportDamage", barcode=barcode, description="lid hinge bent"), "Dewar")
    assert damaged["workflow"] == "received"
    refused(api.call("stores", "reportDamage", barcode=barcode, description="   "), "InvalidValueError", "damage")
    ok(api.call("stores", "moveDewar", barcode=barcode, location="loc-stores-a1"), "Scan")

    # beamline staff take it to i04 (from a bench that names its station) and load the puck
    bench = {"X-Logistics-Station": "i04-bench"}
    refused(api.call("beamline", "takeToInstrument", barcode=barcode, instrument="i99"), "InvalidValueError", "i99")
    refused(api.call("beamline", "takeToInstrument", barcode=unknown_mail_in(), instrument="i04"), "UnknownBarcodeError")
    taken = ok(api.call("beamline", "takeToInstrument", headers=bench, barcode=barcode, instrument="I04"), "Dewar")
    assert (taken["workflow"], taken["where"]["kind"], taken["where"]["code"]) == ("in-use", "instrument", "i04")
    assert shipment_status(api, "ada", sid) == "in-use"
    position = free_position(api, "i04")
    refused(api.call("beamline", "loadContainer", barcode=puck, instrument="i04", position="99"), "InvalidValueError", "99")
    refused(api.call("beamline", "loadContainer", barcode=puck, instrument="i19", position="1"), "InvalidValueError", "i19")
    refused(api.call("beamline", "loadContainer", barcode=barcode, instrument="i04", position=position),
            "InvalidValueError", "not a container")
    loaded = ok(api.call("beamline", "loadContainer", headers=bench, barcode=puck, instrument="i04", position=position),
                "Container")
    assert loaded["loaded"] == {"instrument": "i04", "position": position}
    assert (loaded["where"]["kind"], loaded["where"]["code"], loaded["where"]["position"]) \
        == ("sample-changer", "i04", position)
    refused(api.call("beamline", "loadContainer", barcode=puck, instrument="i04", position=free_position(api, "i04")),
            "NotPermittedError", "already in i04")
    changer = api.data("ada", 'query($i: String!) { sampleChanger(instrument: $i) { ... on SampleChanger { instrument '
                              'positions { position occupied container { barcode } } } } }', i="i04")["sampleChanger"]
    slot = next(p for p in changer["positions"] if p["position"] == position)
    assert slot == {"position": position, "occupied": True, "container": {"barcode": puck}}
    refused(api.call("beamline", "disposeContainer", barcode=puck, reason="cracked"), "NotPermittedError", "unload it first")
    refused(api.call("beamline", "handBack", barcode=puck, location="loc-stores-a1"), "NotPermittedError", "unload it first")

    # the user asks for it back while it is still in use; stores cannot book it while a puck is loaded
    requested = ok(api.call("ada", "requestDispatch", barcode=barcode), "Dewar")
    assert (requested["workflow"], requested["where"]["code"]) == ("dispatch-requested", "i04")
    assert shipment_status(api, "ada", sid) == "in-use"  # a request to send it back moves nothing yet
    refused(api.call("stores", "bookDispatch", barcode=barcode, courier="dhl", trackingNumber="1234567891"),
            "NotPermittedError", "sample changer")

    unloaded = ok(api.call("beamline", "unloadContainer", headers=bench, barcode=puck), "Container")
    assert unloaded["loaded"] is None and unloaded["where"]["kind"] == "instrument"
    refused(api.call("beamline", "unloadContainer", barcode=puck), "NotPermittedError", "not in a sample changer")
    refused(api.call("beamline", "unloadContainer", barcode="NOPE-" + u), "UnknownBarcodeError")
    at_bench = ok(api.call("beamline", "takeToInstrument", barcode=puck, instrument="i04"), "Container")
    assert at_bench["atInstrument"] == "i04"
    handed = ok(api.call("beamline", "handBack", barcode=puck, location="loc-stores-a1"), "Container")
    assert handed["atInstrument"] is None
    refused(api.call("beamline", "handBack", barcode=barcode, location="loc-nowhere"), "InvalidValueError", "loc-nowhere")
    back = ok(api.call("beamline", "handBack", headers=bench, barcode=barcode, location="loc-dispatch"), "Dewar")
    # the scan to a shelf changed where it is, not the user's request
    assert (back["where"]["kind"], back["where"]["code"], back["workflow"]) == ("storage", "loc-dispatch", "dispatch-requested")

    # stores book the courier and scan it out
    refused(api.call("stores", "scanOut", barcode=barcode), "NotPermittedError", "book the dispatch first")
    refused(api.call("stores", "bookDispatch", barcode=barcode, courier="ups", trackingNumber="1Z12"),
            "InvalidValueError", "1Z12")
    refused(api.call("stores", "bookDispatch", barcode=barcode, courier="dhl", trackingNumber="JD12"),
            "InvalidValueError", "JD12")
    refused(api.call("stores", "bookDispatch", barcode=barcode, courier="owl", trackingNumber="1234567891"),
            "InvalidValueError", "owl")
    label = "9622001900000000000000" + "477179081230"  # a FedEx label barcode: 34 digits ending in the number
    booked = ok(api.call("stores", "bookDispatch", barcode=barcode, courier="FedEx", trackingNumber=label), "Dewar")
    assert (booked["workflow"], booked["returnCourier"], booked["returnTracking"]) \
        == ("dispatch-booked", "fedex", "477179081230")
    refused(api.call("stores", "markReturned", barcode=barcode), "NotPermittedError", "not dispatched")
    out = ok(api.call("stores-desk-1", "scanOut", barcode=barcode.upper()), "Scan")
    assert (out["changed"], out["event"]) == (True, "Dispatched")
    assert (out["dewar"]["workflow"], out["dewar"]["where"]["kind"]) == ("dispatched", "in-transit-back")
    assert shipment_status(api, "ada", sid) == "partially-returned"  # on its way back, not yet home
    assert ok(api.call("stores-desk-1", "scanOut", barcode=barcode), "Scan")["changed"] is False
    refused(api.call("stores", "scanOut", barcode=mistyped(barcode)), "InvalidBarcodeError")
    refused(api.call("stores", "closeDewar", barcode=barcode), "NotPermittedError", "not returned")
    returned = ok(api.call("stores", "markReturned", barcode=barcode), "Dewar")
    assert (returned["workflow"], returned["where"]["kind"]) == ("returned", "offsite")
    assert shipment_status(api, "ada", sid) == "returned"
    closed = ok(api.call("stores", "closeDewar", barcode=barcode), "Dewar")
    assert closed["workflow"] == "closed"
    refused(api.call("stores", "closeDewar", barcode=barcode), "NotPermittedError", "not returned")
    refused(api.call("ada", "requestDispatch", barcode=barcode), "NotPermittedError", "closed")

    # the puck is worn out: beamline staff dispose of it
    refused(api.call("beamline", "disposeContainer", barcode=puck, reason=" "), "InvalidValueError", "reason")
    disposed = ok(api.call("beamline", "disposeContainer", barcode=puck, reason="pins bent"), "Container")
    assert disposed["disposed"] is True
    refused(api.call("beamline", "loadContainer", barcode=puck, instrument="i04", position=free_position(api, "i04")),
            "NotPermittedError")

    # the dewar's history: every change once, in order, with who and from which station
    events = history(api, "ada", barcode)
    names = [e["event"] for e in events]
    assert names == ["Registered", "ContainerPacked", "Sent", "Arrived", "Moved", "ToppedUp", "ToppedUp",
                     "ContentsChecked", "DamageReported", "Moved", "TakenToInstrument", "ContainerLoaded",
                     "DispatchRequested", "ContainerUnloaded", "Moved", "DispatchBooked", "Dispatched", "Returned",
                     "Closed"], names
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    by_event: dict[str, dict[str, Any]] = {}
    for e in events:
        by_event.setdefault(e["event"], e)  # the first of each kind
    ada, desk, stores, beamline = (api.actor(n) for n in ("ada", "stores-desk-1", "stores", "beamline"))
    assert len({ada, desk, stores, beamline}) == 4
    assert (by_event["Registered"]["actor"], by_event["Registered"]["station"]) == (ada, "web")
    assert (by_event["Arrived"]["actor"], by_event["Arrived"]["station"]) == (desk, "stores-desk-1")
    assert [(e["event"], e["actorName"]) for e in events if e["event"] in ("Registered", "Arrived", "ToppedUp",
                                                                          "TakenToInstrument", "Dispatched")] \
        == [("Registered", "ada"), ("Arrived", "stores-desk-1"), ("ToppedUp", "stores"), ("ToppedUp", "stores"),
            ("TakenToInstrument", "beamline"), ("Dispatched", "stores-desk-1")]
    assert by_event["Arrived"]["data"] == {"location": "loc-goods-in"}
    assert (by_event["ToppedUp"]["actor"], by_event["ToppedUp"]["station"]) == (stores, "web")
    assert by_event["ToppedUp"]["data"] == {"litres": 12.5}
    assert by_event["ContentsChecked"]["data"] == {"ok": True, "notes": "one puck, pins intact"}
    assert by_event["DamageReported"]["data"] == {"description": "lid hinge bent"}
    assert (by_event["TakenToInstrument"]["actor"], by_event["TakenToInstrument"]["station"]) == (beamline, "i04-bench")
    assert (by_event["ContainerLoaded"]["actor"], by_event["ContainerLoaded"]["station"]) == (beamline, "i04-bench")
    assert by_event["ContainerLoaded"]["data"]["position"] == position
    assert by_event["DispatchRequested"]["actor"] == ada
    assert by_event["DispatchBooked"]["data"] == {"courier": "fedex", "tracking_number": "477179081230"}
    assert (by_event["Dispatched"]["actor"], by_event["Dispatched"]["station"]) == (desk, "stores-desk-1")
    times = [datetime.fromisoformat(e["time"]) for e in events]
    assert times == sorted(times)
    assert history(api, "stores", barcode) == events  # staff see the same history

    # the puck's history, and the shipment's
    puck_events = [e["event"] for e in history(api, "ada", puck)]
    assert puck_events[:2] == ["Registered", "Packed"]
    assert puck_events.count("SamplePlaced") == 3 and puck_events.count("SampleRemoved") == 2
    assert ["Loaded", "Unloaded", "TakenToInstrument", "HandedBack", "Disposed"] == \
        [e for e in puck_events if e in ("Loaded", "Unloaded", "TakenToInstrument", "HandedBack", "Disposed")]
    shipment_history = api.data("ada", "query($i: ID!) { shipment(id: $i) { ... on Shipment { history { event actor station } } } }",
                                i=sid)["shipment"]["history"]
    # the shipment's own status events carry the actor and station of the dewar event that moved it on
    assert [(e["event"], e["actor"], e["station"]) for e in shipment_history] == [
        ("Registered", ada, "web"), ("DewarAdded", ada, "web"), ("CourierSet", ada, "web"), ("Sent", ada, "web"),
        ("Received", desk, "stores-desk-1"), ("TakenIntoUse", beamline, "i04-bench"),
        ("PartiallyReturned", desk, "stores-desk-1"), ("Returned", stores, "web")]
    assert shipment_status(api, "stores", sid) == "returned"  # and the rest of the trip changes it no more
    sample_history = api.data("ada", "query($i: ID!) { sample(id: $i) { ... on Sample { history { event } } } }",
                              i=sample["id"])["sample"]["history"]
    assert [e["event"] for e in sample_history][0] == "Registered"

    # the state at past times
    as_of = "query($b: String!, $t: DateTime) { dewar(barcode: $b, asOf: $t) { __typename " + FRAGMENTS["Dewar"] + " " + PROBLEM + " } }"
    then = api.data("ada", as_of, b=barcode, t=by_event["Arrived"]["time"])["dewar"]
    assert (then["workflow"], then["where"]["kind"], then["where"]["code"]) == ("received", "storage", "loc-goods-in")
    then = api.data("ada", as_of, b=barcode, t=by_event["DispatchRequested"]["time"])["dewar"]
    assert (then["workflow"], then["where"]["code"]) == ("dispatch-requested", "i04")
    then = api.data("ada", as_of, b=barcode, t=by_event["Sent"]["time"])["dewar"]
    assert (then["workflow"], then["where"]["kind"]) == ("sent", "in-transit-to-facility")
    now = api.data("ada", as_of, b=barcode, t=None)["dewar"]
    assert now["workflow"] == "closed"
    before = (datetime.fromisoformat(by_event["Registered"]["time"]) - timedelta(seconds=1)).isoformat()
    refused(api.data("ada", as_of, b=barcode, t=before)["dewar"], "NotFoundError", "did not exist yet")
    loaded_at = next(e["time"] for e in history(api, "ada", puck) if e["event"] == "Loaded")
    past_puck = api.data("ada", "query($b: String!, $t: DateTime) { container(barcode: $b, asOf: $t) { __typename "
                                "... on Container { loaded { instrument position } disposed } } }",
                         b=puck, t=loaded_at)["container"]
    assert past_puck == {"__typename": "Container", "loaded": {"instrument": "i04", "position": position},
                         "disposed": False}
    past_shipment = api.data("ada", "query($i: ID!, $t: DateTime) { shipment(id: $i, asOf: $t) { ... on Shipment { workflow courier } } }",
                             i=sid, t=by_event["Registered"]["time"])["shipment"]
    assert past_shipment == {"workflow": "registered", "courier": None}
    first_placed = next(e["time"] for e in sample_history_full(api, sample["id"]) if e["event"] == "Placed")
    past_sample = api.data("ada", "query($i: ID!, $t: DateTime) { sample(id: $i, asOf: $t) { ... on Sample { position } } }",
                           i=sample["id"], t=first_placed)["sample"]
    assert past_sample == {"position": "1"}


def sample_history_full(api: Api, sample_id: str) -> list[dict[str, Any]]:
    return api.data("ada", "query($i: ID!) { sample(id: $i) { ... on Sample { history { event time } } } }",
                    i=sample_id)["sample"]["history"]


def test_lookup_tolerates_scanner_noise_and_case_but_never_guesses(api: Api) -> None:
    query = "query($b: String!) { lookup(barcode: $b) { __typename ... on Dewar { barcode } ... on Container { barcode } " \
            + PROBLEM + " } }"
    dewar = api.data("ada", '{ shipments(proposal: "mx23694", first: 100) { edges { node { name dewars { barcode } } } } }')
    barcode = next(e["node"]["dewars"][0]["barcode"] for e in dewar["shipments"]["edges"]
                   if e["node"]["name"] == "Efflux pumps run 1")
    for typed in (barcode, f"  {barcode}\r\n", barcode.upper(), f"\t{barcode.upper()} \n"):
        assert api.data("ada", query, b=typed)["lookup"] == {"__typename": "Dewar", "barcode": barcode}, typed
    for typed in ("CPS-1001", "  cps-1001\r\n", "Cps-1001\n"):
        assert api.data("ada", query, b=typed)["lookup"] == {"__typename": "Container", "barcode": "CPS-1001"}, typed
    refused(api.data("ada", query, b=mistyped(barcode))["lookup"], "InvalidBarcodeError", "check character")
    swapped = barcode[:-3] + barcode[-2] + barcode[-3] + barcode[-1]  # two neighbours swapped
    assert api.data("ada", query, b=swapped)["lookup"]["__typename"] in ("InvalidBarcodeError", "UnknownBarcodeError")
    assert api.data("ada", query, b=swapped)["lookup"]["__typename"] != "Dewar"
    refused(api.data("ada", query, b="CPS-10O1")["lookup"], "UnknownBarcodeError", "CPS-10O1")
    refused(api.data("ada", query, b="  \r\n")["lookup"], "InvalidBarcodeError")


# --- the other commands: packing, facility dewars, cancelling, unexpected arrivals, registries --

def test_packing_repacking_and_a_facility_dewar_on_a_shipment_that_is_cancelled(api: Api) -> None:
    u = uid()
    facility = new_facility_dewar(api)
    code = facility["barcode"]
    assert (facility["facilityCode"], facility["workflow"], facility["proposal"]) == (code, "available", None)
    refused(api.call("admin", "registerFacilityDewar", facilityCode=code.lower()), "AlreadyExistsError", code)
    refused(api.call("admin", "registerFacilityDewar", facilityCode="DLS-XX-0001"), "InvalidBarcodeError", "DLS-XX-0001")

    shipment = new_shipment(api)
    sid = shipment["id"]
    refused(api.call("ada", "markSent", shipmentId=sid), "NotPermittedError", "no dewar")
    fd = ok(api.call("ada", "addFacilityDewar", shipmentId=sid, facilityCode=f" {code.lower()}\r\n"), "Dewar")
    assert (fd["barcode"], fd["facilityCode"], fd["proposal"], fd["workflow"], fd["shipment"]["id"]) \
        == (code, code, "mx23694", "registered", sid)
    other = new_shipment(api)
    refused(api.call("ada", "addFacilityDewar", shipmentId=other["id"], facilityCode=code), "NotPermittedError", code)
    refused(api.call("ada", "addFacilityDewar", shipmentId=sid, facilityCode="DLS-MX-12"), "InvalidBarcodeError", "DLS-MX-12")
    refused(api.call("ada", "addFacilityDewar", shipmentId=str(uuid.uuid4()), facilityCode=code), "NotFoundError")
    mail_in = ok(api.call("ada", "addMailInDewar", shipmentId=sid, visit=2, beamline="i03", kind="parcel"), "Dewar")
    assert mail_in["kind"] == "parcel"
    dewar = ok(api.call("ada", "addMailInDewar", shipmentId=sid, visit=2, beamline="i03"), "Dewar")["barcode"]

    cane, puck, plate = f"CANE-{u}", f"PK-{u}", f"PL-{u}"
    ok(api.call("ada", "addContainer", barcode=cane, type="cane", dewar=code), "Container")
    inner = ok(api.call("ada", "addContainer", barcode=puck, type="unipuck", dewar=code, parent=cane, position="1"),
               "Container")
    assert inner["position"] == "1" and inner["dewar"]["barcode"] == code
    children = api.data("ada", "query($b: String!) { container(barcode: $b) { ... on Container { children { barcode position } } } }",
                        b=cane)["container"]["children"]
    assert children == [{"barcode": puck, "position": "1"}]
    refused(api.call("ada", "addContainer", barcode=f"PKB-{u}", type="unipuck", dewar=code, parent=cane, position="1"),
            "NotPermittedError", "taken")
    refused(api.call("ada", "addContainer", barcode=f"PKB-{u}", type="unipuck", dewar=code, parent=cane, position="9"),
            "InvalidValueError", "9")
    refused(api.call("ada", "addContainer", barcode=f"CANE2-{u}", type="cane", dewar=code, parent=puck, position="1"),
            "NotPermittedError", "does not go into")
    refused(api.call("ada", "addContainer", barcode=plate, type="plate-96", dewar=code), "NotPermittedError",
            "does not go into")
    refused(api.call("ada", "addContainer", barcode=puck, type="unipuck", dewar=dewar), "NotPermittedError", "already packed")
    refused(api.call("ada", "addContainer", barcode=puck, type="cane", dewar=dewar), "InvalidValueError", "unipuck")
    refused(api.call("ada", "addContainer", barcode="mx23694-1-i03-0000001-3", type="unipuck", dewar=dewar),
            "InvalidBarcodeError")

    refused(api.call("ada", "removeContainer", barcode=cane), "NotPermittedError", "still holds")
    moved = ok(api.call("ada", "moveContainer", barcode=puck.lower(), dewar=dewar), "Container")
    assert (moved["dewar"]["barcode"], moved["position"]) == (dewar, None)
    refused(api.call("ada", "moveContainer", barcode=puck, dewar=unknown_mail_in()), "UnknownBarcodeError")
    refused(api.call("ada", "moveContainer", barcode=f"NOPE-{u}", dewar=dewar), "UnknownBarcodeError", f"NOPE-{u}")
    back = ok(api.call("ada", "moveContainer", barcode=puck, dewar=code, parent=cane, position="5"), "Container")
    assert (back["dewar"]["barcode"], back["position"]) == (code, "5")
    ok(api.call("ada", "moveContainer", barcode=puck, dewar=dewar), "Container")
    removed = ok(api.call("ada", "removeContainer", barcode=cane), "Container")
    assert removed["dewar"] is None and removed["position"] is None
    refused(api.call("ada", "removeContainer", barcode=cane), "NotPermittedError", "not packed")
    refused(api.call("ada", "removeContainer", barcode=f"NOPE-{u}"), "UnknownBarcodeError")
    contents = api.data("ada", "query($b: String!) { dewar(barcode: $b) { ... on Dewar { containers { barcode } } } }",
                        b=dewar)["dewar"]["containers"]
    assert contents == [{"barcode": puck}]

    cancelled = ok(api.call("ada", "cancelShipment", shipmentId=sid), "Shipment")
    assert cancelled["workflow"] == "cancelled"
    states = {d["barcode"]: d["workflow"] for d in cancelled["dewars"]}
    assert states == {mail_in["barcode"]: "cancelled", dewar: "cancelled"}  # the facility dewar left the shipment
    freed = api.data("admin", "query($b: String!) { dewar(barcode: $b) { ... on Dewar { workflow proposal shipment { id } } } }",
                     b=code)["dewar"]
    assert freed == {"workflow": "available", "proposal": None, "shipment": None}
    refused(api.call("ada", "cancelShipment", shipmentId=sid), "NotPermittedError", "already cancelled")
    refused(api.call("ada", "markSent", shipmentId=sid), "NotPermittedError", "already cancelled")
    refused(api.call("ada", "cancelShipment", shipmentId="nonsense"), "NotFoundError")
    refused(api.call("stores", "scanDewar", barcode=dewar, location="loc-goods-in"), "NotPermittedError", "cancelled")
    # the facility dewar goes on another shipment, its next trip
    again = ok(api.call("ada", "addFacilityDewar", shipmentId=other["id"], facilityCode=code), "Dewar")
    assert (again["workflow"], again["shipment"]["id"], again["containers"]) == ("registered", other["id"], [])


def test_stores_keep_back_a_dewar_the_user_asked_for_too_soon_and_it_goes_on_as_before(api: Api) -> None:
    sid = new_shipment(api)["id"]
    barcode = ok(api.call("ada", "addMailInDewar", shipmentId=sid, visit=1, beamline="i03"), "Dewar")["barcode"]
    ok(api.call("ada", "markSent", shipmentId=sid), "Shipment")
    ok(api.call("stores-desk-1", "scanDewar", barcode=barcode, location="loc-goods-in"), "Scan")
    ok(api.call("ada", "requestDispatch", barcode=barcode), "Dewar")

    kept = ok(api.call("stores", "cancelDispatch", barcode=barcode, reason="user asked before the beamtime"), "Dewar")

    assert (kept["workflow"], kept["where"]["code"], kept["returnCourier"]) == ("received", "loc-goods-in", None)
    cancelled = [e for e in history(api, "ada", barcode) if e["event"] == "DispatchCancelled"]
    assert [(e["actorName"], e["data"]["reason"]) for e in cancelled] == [("stores", "user asked before the beamtime")]
    refused(api.call("stores", "cancelDispatch", barcode=barcode, reason="again"), "NotPermittedError",
            "only a requested or booked dispatch")


def test_an_unexpected_dewar_is_recorded_once_and_listed_for_staff(api: Api) -> None:
    code = f"UNI-{uid()}"
    arrival = ok(api.call("stores-desk-1", "recordUnexpectedArrival", barcode=f" {code.lower()}\r\n",
                          location="loc-quarantine", note="no paperwork"), "Dewar")
    assert (arrival["barcode"], arrival["unexpected"], arrival["workflow"], arrival["proposal"], arrival["where"]["code"]) \
        == (code, True, "received", None, "loc-quarantine")
    refused(api.call("stores", "recordUnexpectedArrival", barcode=code, location="loc-goods-in"),
            "AlreadyExistsError", code)
    refused(api.call("stores", "recordUnexpectedArrival", barcode="CPS-1001", location="loc-goods-in"),
            "AlreadyExistsError", "CPS-1001")
    refused(api.call("stores", "recordUnexpectedArrival", barcode="mx23694-1-i03-0000001-4", location="loc-goods-in"),
            "InvalidBarcodeError", "check character")
    refused(api.call("stores", "recordUnexpectedArrival", barcode=f"UNI-{uid()}", location="loc-moon"),
            "InvalidValueError", "loc-moon")
    listed = api.data("stores", "{ unexpectedArrivals(first: 500) { edges { node { barcode unexpected } } } }")
    assert {"barcode": code, "unexpected": True} in [e["node"] for e in listed["unexpectedArrivals"]["edges"]]
    events = history(api, "stores", code)
    assert [(e["event"], e["station"]) for e in events] == [("Registered", "stores-desk-1"),
                                                             ("ArrivedUnexpectedly", "stores-desk-1")]
    assert events[1]["data"] == {"location": "loc-quarantine", "note": "no paperwork"}
    moved = ok(api.call("stores", "moveDewar", barcode=code, location="loc-goods-in"), "Scan")
    assert moved["changed"] is True


def test_an_admin_keeps_the_registries(api: Api) -> None:
    u = uid()
    location = ok(api.call("admin", "registerLocation", code=f" LOC-TEST-{u} ", name=f"Test shelf {u}"), "Done")
    assert location == {"__typename": "Done", "ok": True, "id": f"loc-test-{u.lower()}"}
    assert ok(api.call("admin", "registerLocation", code=f"loc-test-{u}", name="again"), "Done")["ok"] is True
    listed = api.data("ada", "{ locations { code name kind } }")["locations"]
    assert {"code": f"loc-test-{u.lower()}", "name": f"Test shelf {u}", "kind": "storage"} in listed
    refused(api.call("admin", "registerLocation", code="shelf 9", name="x"), "InvalidValueError", "shelf 9")
    refused(api.call("admin", "registerLocation", code=f"loc-test2-{u}", name=" "), "InvalidValueError", "location name")
    # the new location is scannable at once
    arrival = ok(api.call("stores", "recordUnexpectedArrival", barcode=f"UNI-{u}", location=f"loc-test-{u}"), "Dewar")
    assert arrival["where"]["code"] == f"loc-test-{u.lower()}"

    code = f"zz{random.randint(100000, 999999)}"
    assert ok(api.call("admin", "registerProposal", code=code.upper(), title="Test proposal"), "Done")["id"] == code
    refused(api.call("admin", "registerProposal", code=code, title="Twice"), "AlreadyExistsError", code)
    refused(api.call("admin", "registerProposal", code="123", title="x"), "InvalidValueError", "123")
    refused(api.call("admin", "registerProposal", code=f"zy{random.randint(100000, 999999)}", title=""),
            "InvalidValueError", "title")

    person = ok(api.call("admin", "registerPerson", name="Grace Hopper", email="grace@example.org",
                         phone="+1 555 0100"), "Done")
    pid = person["id"]
    assert uuid.UUID(pid)
    refused(api.call("admin", "registerPerson", name="Grace Hopper", email="grace.example.org"),
            "InvalidValueError", "grace.example.org")
    refused(api.call("admin", "registerPerson", name="", email="a@b.c"), "InvalidValueError", "name")
    assert ok(api.call("admin", "addMember", proposal=code, personId=pid, role="pi"), "Done")["ok"] is True
    refused(api.call("admin", "addMember", proposal=code, personId=pid, role="boss"), "InvalidValueError", "boss")
    refused(api.call("admin", "addMember", proposal=code, personId=str(uuid.uuid4()), role="member"), "NotFoundError")
    refused(api.call("admin", "addMember", proposal="zz0", personId=pid, role="member"), "NotFoundError", "zz0")
    contact = ok(api.call("admin", "addLabContact", proposal=code, personId=pid, addressLines=["1 Harbour Road", "Arlington"],
                          country="United States", label="Navy lab"), "Done")
    assert contact["ok"] is True and contact["id"]
    stranger = ok(api.call("admin", "registerPerson", name="Not A Member", email="nam@example.org"), "Done")["id"]
    refused(api.call("admin", "addLabContact", proposal=code, personId=stranger, addressLines=["x"], country="UK"),
            "NotPermittedError", "member")
    # a shipment of the new proposal can name that lab contact; a made-up contact is refused
    shipment = ok(api.call("admin", "createShipment", proposal=code, name="First", sendingContact=contact["id"]), "Shipment")
    assert shipment["proposal"] == code
    refused(api.call("admin", "createShipment", proposal=code, name="Second", sendingContact="no-such-contact"),
            "InvalidValueError", "no-such-contact")

    assert ok(api.call("admin", "erasePerson", personId=pid), "Done")["ok"] is True
    assert ok(api.call("admin", "erasePerson", personId=pid), "Done")["ok"] is True  # erasing twice changes nothing
    refused(api.call("admin", "erasePerson", personId=str(uuid.uuid4())), "NotFoundError")
    refused(api.call("admin", "erasePerson", personId="not-a-person"), "NotFoundError")
    # histories stay whole after the erasure
    events = api.data("admin", "query($i: ID!) { shipment(id: $i) { ... on Shipment { history { event } } } }",
                      i=shipment["id"])["shipment"]["history"]
    assert [e["event"] for e in events] == ["Registered"]


def test_a_member_chooses_how_to_be_told(api: Api) -> None:
    chosen = ok(api.call("rosalind", "setNotificationSetting", kind="DISPATCHED", delivery="DIGEST", proposal=" MX23694 "),
                "NotificationSetting")
    assert chosen == {"__typename": "NotificationSetting", "kind": "DISPATCHED", "proposal": "mx23694",
                      "delivery": "DIGEST", "isDefault": False}
    settings = api.data("rosalind", "{ notificationSettings { kind proposal delivery isDefault } }")["notificationSettings"]
    assert {"kind": "DISPATCHED", "proposal": "mx23694", "delivery": "DIGEST", "isDefault": False} in settings
    everywhere = ok(api.call("rosalind", "setNotificationSetting", kind="DAMAGE_REPORTED", delivery="OFF"),
                    "NotificationSetting")
    assert (everywhere["proposal"], everywhere["delivery"]) == (None, "OFF")


# --- bad input, command by command, never changes anything and never breaks the server ----------

@pytest.fixture(scope="module")
def demo(api: Api) -> dict[str, Any]:
    """Barcodes and ids of the demo's mx23694 things, found by queries."""
    data = api.data("admin", '{ shipments(proposal: "mx23694", first: 100) { edges { node { id name workflow '
                             'dewars { barcode containers { barcode samples { id } } } } } } }')
    by_name = {e["node"]["name"]: e["node"] for e in data["shipments"]["edges"]}
    run1, run2, draft = by_name["Efflux pumps run 1"], by_name["Efflux pumps run 2"], by_name["Efflux pumps run 3 (draft)"]
    return {
        "sent_shipment": run1["id"], "in_use_dewar": run1["dewars"][0]["barcode"],
        "requested_dewar": run2["dewars"][0]["barcode"], "requested_puck": run2["dewars"][0]["containers"][0]["barcode"],
        "requested_sample": run2["dewars"][0]["containers"][0]["samples"][0]["id"],
        "draft_shipment": draft["id"], "draft_dewar": draft["dewars"][0]["barcode"],
        "draft_puck": draft["dewars"][0]["containers"][0]["barcode"],
        "draft_sample": draft["dewars"][0]["containers"][0]["samples"][0]["id"],
    }


# (who, mutation, arguments (demo references as {name}), the typed problem, what its message names)
BAD_INPUT: list[tuple[str, str, dict[str, Any], str, str]] = [
    ("ada", "createShipment", {"proposal": "mx-23694", "name": "x"}, "InvalidValueError", "mx-23694"),
    ("ada", "createShipment", {"proposal": "mx23694", "name": "y" * 81}, "InvalidValueError", "shipment name"),
    ("ada", "createShipment", {"proposal": "mx23694", "name": "Efflux pumps run 1"}, "AlreadyExistsError", "efflux pumps run 1"),
    ("ada", "createShipment", {"proposal": "zz99999", "name": "x"}, "NotFoundError", "zz99999"),
    ("ada", "addMailInDewar", {"shipmentId": "{draft_shipment}", "visit": 10000, "beamline": "i03"}, "InvalidValueError", "10000"),
    ("ada", "addMailInDewar", {"shipmentId": "{sent_shipment}", "visit": 1, "beamline": "i03"}, "NotPermittedError", "already sent and is now in use"),
    ("ada", "addMailInDewar", {"shipmentId": "no-such-id", "visit": 1, "beamline": "i03"}, "NotFoundError", "no-such-id"),
    ("ada", "addFacilityDewar", {"shipmentId": "{draft_shipment}", "facilityCode": "DLS-MX-00071"}, "InvalidBarcodeError", "DLS-MX-00071"),
    ("ada", "addFacilityDewar", {"shipmentId": "{draft_shipment}", "facilityCode": "DLS-IN-9999"}, "UnknownBarcodeError", "DLS-IN-9999"),
    ("ada", "addContainer", {"barcode": "AB", "type": "unipuck", "dewar": "{draft_dewar}"}, "InvalidBarcodeError", "'AB'"),
    ("ada", "addContainer", {"barcode": "ZZ-NEW-1", "type": "unipuck", "dewar": "{requested_dewar}"}, "NotPermittedError", "dispatch-requested"),
    ("ada", "addContainer", {"barcode": "ZZ-NEW-1", "type": "unipuck", "dewar": "{draft_dewar}", "parent": "{draft_puck}", "position": "1"}, "NotPermittedError", "does not go into"),
    ("ada", "removeContainer", {"barcode": "{requested_puck}"}, "NotPermittedError", "dispatch-requested"),
    ("ada", "removeContainer", {"barcode": "{draft_dewar}"}, "InvalidValueError", "not a container"),
    ("ada", "moveContainer", {"barcode": "{requested_puck}", "dewar": "{draft_dewar}"}, "NotPermittedError", "dispatch-requested"),
    ("ada", "moveContainer", {"barcode": "{draft_puck}", "dewar": "mx23694-1-i03-9999999-0"}, "InvalidBarcodeError", "check character"),
    ("ada", "moveContainer", {"barcode": "ZZ-NO-SUCH-PUCK", "dewar": "{draft_dewar}"}, "UnknownBarcodeError", "ZZ-NO-SUCH-PUCK"),
    ("ada", "addSample", {"container": "{draft_puck}", "position": "1", "kind": "mx-crystal", "name": "x", "attributes": {"protein_acronym": "lyso"}}, "NotPermittedError", "taken"),
    ("ada", "addSample", {"container": "{draft_puck}", "position": "9", "kind": "mx-crystal", "name": "bad name!", "attributes": {"protein_acronym": "lyso"}}, "InvalidValueError", "name"),
    ("ada", "addSample", {"container": "{draft_puck}", "position": "9", "kind": "mx-crystal", "name": "ok", "attributes": {"protein_acronym": "lyso", "space_group": "P99"}}, "InvalidValueError", "P99"),
    ("ada", "addSample", {"container": "{draft_puck}", "position": "9", "kind": "cryoem-grid", "name": "g", "attributes": {}}, "InvalidValueError", ""),
    ("ada", "addSample", {"container": "{requested_puck}", "position": "16", "kind": "mx-crystal", "name": "x", "attributes": {"protein_acronym": "lyso"}}, "NotPermittedError", "dispatch-requested"),
    ("ada", "removeSample", {"id": "{requested_sample}"}, "NotPermittedError", "dispatch-requested"),
    ("ada", "removeSample", {"id": "00000000-0000-0000-0000-000000000000"}, "NotFoundError", "00000000-0000-0000-0000-000000000000"),
    ("ada", "moveSample", {"id": "{draft_sample}", "container": "{draft_puck}", "position": "99"}, "InvalidValueError", "99"),
    ("ada", "moveSample", {"id": "{draft_sample}", "container": "{draft_dewar}", "position": "1"}, "InvalidValueError", "not a container"),
    ("ada", "moveSample", {"id": "{requested_sample}", "container": "{draft_puck}", "position": "9"}, "NotPermittedError", "dispatch-requested"),
    ("ada", "setCourier", {"shipmentId": "{draft_shipment}", "courier": "ups", "trackingNumber": "1Z 123"}, "InvalidValueError", "1Z 123"),
    ("ada", "setCourier", {"shipmentId": "{draft_shipment}", "courier": "fedex", "trackingNumber": "12345678901"}, "InvalidValueError", "12345678901"),
    ("ada", "setCourier", {"shipmentId": "{draft_shipment}", "courier": "other", "trackingNumber": "z" * 65}, "InvalidValueError", "tracking number"),
    ("ada", "setCourier", {"shipmentId": "{sent_shipment}", "courier": "dhl", "trackingNumber": "1234567891"}, "NotPermittedError", "already sent and is now in use"),
    ("ada", "markSent", {"shipmentId": "{sent_shipment}"}, "NotPermittedError", "already sent and is now in use"),
    ("ada", "markSent", {"shipmentId": "00000000-0000-0000-0000-000000000000"}, "NotFoundError", ""),
    ("ada", "cancelShipment", {"shipmentId": "{sent_shipment}"}, "NotPermittedError", "already sent and is now in use"),
    ("ada", "requestDispatch", {"barcode": "{draft_dewar}"}, "NotPermittedError", "registered"),
    ("ada", "requestDispatch", {"barcode": "CPS-1001"}, "InvalidValueError", "not a dewar"),
    ("stores", "scanDewar", {"barcode": "mx23694-1-i03-0000001-4", "location": "loc-goods-in"}, "InvalidBarcodeError", "check character"),
    ("stores", "scanDewar", {"barcode": "mx23694-1-i03-1-3", "location": "loc-goods-in"}, "InvalidBarcodeError", "mx23694-1-i03-1-3"),
    ("stores", "scanDewar", {"barcode": "DLS-MX-9998", "location": "loc-goods-in"}, "UnknownBarcodeError", "DLS-MX-9998"),
    ("stores", "scanDewar", {"barcode": "{draft_dewar}", "location": "goods-in"}, "InvalidValueError", "goods-in"),
    ("stores", "scanDewar", {"barcode": "CPS-1001", "location": "loc-goods-in"}, "InvalidValueError", "not a dewar"),
    ("stores", "moveDewar", {"barcode": "{draft_dewar}", "location": "loc-stores-a1"}, "NotPermittedError", "offsite"),
    ("stores", "topUp", {"barcode": "{draft_dewar}", "litres": 0.0}, "InvalidValueError", "0"),
    ("stores", "topUp", {"barcode": "{draft_dewar}", "litres": 2.0}, "NotPermittedError", "not at the facility"),
    ("stores", "checkContents", {"barcode": "{draft_dewar}", "ok": True}, "NotPermittedError", "not at the facility"),
    ("stores", "reportDamage", {"barcode": "{draft_dewar}", "description": "d" * 2001}, "InvalidValueError", "damage description"),
    ("stores", "bookDispatch", {"barcode": "{requested_dewar}", "courier": "dhl", "trackingNumber": "12345678901"}, "InvalidValueError", "12345678901"),
    ("stores", "bookDispatch", {"barcode": "{requested_dewar}", "courier": "ups", "trackingNumber": "1Z999AA1012345678"}, "InvalidValueError", "1Z999AA1012345678"),
    ("stores", "bookDispatch", {"barcode": "{in_use_dewar}", "courier": "dhl", "trackingNumber": "1234567891"}, "NotPermittedError", "request it back"),
    ("stores", "cancelDispatch", {"barcode": "{in_use_dewar}", "reason": "user changed plans"}, "NotPermittedError", "only a requested or booked dispatch"),
    ("stores", "cancelDispatch", {"barcode": "{requested_dewar}", "reason": "  "}, "InvalidValueError", "reason"),
    ("stores", "scanOut", {"barcode": "{requested_dewar}"}, "NotPermittedError", "book the dispatch first"),
    ("stores", "markReturned", {"barcode": "{requested_dewar}"}, "NotPermittedError", "not dispatched"),
    ("stores", "closeDewar", {"barcode": "{requested_dewar}"}, "NotPermittedError", "not returned"),
    ("stores", "recordUnexpectedArrival", {"barcode": "UNI-77812", "location": "loc-goods-in"}, "AlreadyExistsError", "UNI-77812"),
    ("stores", "recordUnexpectedArrival", {"barcode": "x" * 65, "location": "loc-goods-in"}, "InvalidBarcodeError", "not a barcode"),
    ("beamline", "takeToInstrument", {"barcode": "{draft_dewar}", "instrument": "i03"}, "NotPermittedError", "not at the facility"),
    ("beamline", "takeToInstrument", {"barcode": "{draft_puck}", "instrument": "i03"}, "NotPermittedError", "not at the facility"),
    ("beamline", "takeToInstrument", {"barcode": "{in_use_dewar}", "instrument": "x-ray gun"}, "InvalidValueError", "x-ray gun"),
    ("beamline", "handBack", {"barcode": "CPS-1001", "location": "loc-stores-a1"}, "NotPermittedError", "unload it first"),
    ("beamline", "handBack", {"barcode": "{draft_dewar}", "location": "loc-stores-a1"}, "NotPermittedError", "offsite"),
    ("beamline", "loadContainer", {"barcode": "{draft_puck}", "instrument": "i04", "position": "2"}, "NotPermittedError", "not at the facility"),
    ("beamline", "loadContainer", {"barcode": "CPS-1002", "instrument": "i03", "position": "5"}, "NotPermittedError", ""),
    ("beamline", "loadContainer", {"barcode": "CPS-1003", "instrument": "i03", "position": "5"}, "NotPermittedError", "taken"),
    ("beamline", "loadContainer", {"barcode": "CPS-1003", "instrument": "m02", "position": "1"}, "NotPermittedError", ""),
    ("beamline", "unloadContainer", {"barcode": "{draft_puck}"}, "NotPermittedError", "not in a sample changer"),
    ("beamline", "disposeContainer", {"barcode": "CPS-1001", "reason": "cracked"}, "NotPermittedError", "unload it first"),
    ("beamline", "disposeContainer", {"barcode": "{draft_puck}", "reason": "r" * 501}, "InvalidValueError", "reason"),
    ("admin", "registerLocation", {"code": "loc-", "name": "x"}, "InvalidValueError", "loc-"),
    ("admin", "registerLocation", {"code": "loc-ok-name", "name": "n" * 201}, "InvalidValueError", "location name"),
    ("admin", "registerFacilityDewar", {"facilityCode": "DLS-MX-0007"}, "AlreadyExistsError", "DLS-MX-0007"),
    ("admin", "registerFacilityDewar", {"facilityCode": "DLS-QQ-0001"}, "InvalidBarcodeError", "DLS-QQ-0001"),
    ("admin", "registerProposal", {"code": "mx23694", "title": "again"}, "AlreadyExistsError", "mx23694"),
    ("admin", "registerProposal", {"code": "m23694", "title": "x"}, "InvalidValueError", "m23694"),
    ("admin", "registerPerson", {"name": "x", "email": ""}, "InvalidValueError", "e-mail"),
    ("admin", "registerPerson", {"name": "n" * 201, "email": "a@b.c"}, "InvalidValueError", "name"),
    ("admin", "addMember", {"proposal": "mx23694", "personId": "not-a-uuid", "role": "member"}, "NotFoundError", "not-a-uuid"),
    ("admin", "addMember", {"proposal": "mx 23694", "personId": "00000000-0000-0000-0000-000000000000", "role": "member"}, "InvalidValueError", "mx 23694"),
    ("admin", "addLabContact", {"proposal": "zz99999", "personId": "00000000-0000-0000-0000-000000000000", "addressLines": ["x"], "country": "UK"}, "NotFoundError", "zz99999"),
    ("admin", "addLabContact", {"proposal": "mx23694", "personId": "00000000-0000-0000-0000-000000000000", "addressLines": ["x"], "country": "UK"}, "NotFoundError", "person"),
    ("admin", "erasePerson", {"personId": "00000000-0000-0000-0000-000000000000"}, "NotFoundError", "00000000-0000-0000-0000-000000000000"),
    ("ada", "setNotificationSetting", {"kind": "DEWAR_ARRIVED", "delivery": "DIGEST", "proposal": "m1"}, "InvalidValueError", "m1"),
    ("ada", "setNotificationSetting", {"kind": "DEWAR_ARRIVED", "delivery": "DIGEST", "proposal": "zz99999"}, "NotFoundError", "zz99999"),
    ("stores", "setNotificationSetting", {"kind": "DEWAR_ARRIVED", "delivery": "OFF"}, "NotPermittedError", "not linked to a person"),
]


def _fill(value: Any, demo: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in demo:
        return demo[value[1:-1]]
    return value


@pytest.mark.parametrize("who,mutation,arguments,problem,names", BAD_INPUT,
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(BAD_INPUT)])
def test_bad_input_gets_the_typed_problem_of_the_result_union(api: Api, demo: dict[str, Any], who: str, mutation: str,
                                                              arguments: dict[str, Any], problem: str, names: str) -> None:
    arguments = {k: _fill(v, demo) for k, v in arguments.items()}
    refused(api.call(who, mutation, **arguments), problem, *([names] if names else []))


def test_every_mutation_has_a_bad_input_case(api: Api) -> None:
    assert set(api.args) == {c[1] for c in BAD_INPUT}


def test_huge_strings_in_every_argument_are_refused_as_typed_problems(api: Api, demo: dict[str, Any]) -> None:
    """Each String or ID argument of each bad-input case, in turn, 100 000 characters long."""
    known: set[tuple[str, str]] = set()
    seen = set()
    for who, mutation, arguments, _, _ in BAD_INPUT:
        if mutation in seen:
            continue
        seen.add(mutation)
        filled = {k: _fill(v, demo) for k, v in arguments.items()}
        for name, kind in api.args[mutation].items():
            if kind.rstrip("!") not in ("String", "ID") or (mutation, name) in known:
                continue
            result = api.call(who, mutation, **{**filled, name: HUGE})
            assert result["__typename"] in PROBLEM_TYPES, (mutation, name, result)
    for field in ("lookup(barcode: $s)", "dewar(barcode: $s)", "container(barcode: $s)", "sampleChanger(instrument: $s)"):
        data = api.data("ada", f"query($s: String!) {{ r: {field} {{ __typename }} }}", s=HUGE)
        assert data["r"]["__typename"] in PROBLEM_TYPES, (field, data)
    for field in ("shipment(id: $s)", "sample(id: $s)"):
        data = api.data("ada", f"query($s: ID!) {{ r: {field} {{ __typename }} }}", s=HUGE)
        assert data["r"]["__typename"] == "NotFoundError", (field, data)
    data = api.data("ada", "query($s: String) { shipments(proposal: $s, workflow: $s) { edges { node { id } } } "
                           "dewars(location: $s, workflow: $s, proposal: $s) { edges { node { id } } } "
                           "containers(proposal: $s, type: $s, loadedInstrument: $s) { edges { node { id } } } }", s=HUGE)
    assert data == {"shipments": {"edges": []}, "dewars": {"edges": []}, "containers": {"edges": []}}


def _graphql_error(response: httpx.Response, *words: str) -> None:
    assert response.status_code in (200, 400), response.text[:2000]
    body = response.json()
    assert body.get("errors"), body
    message = " ".join(e["message"] for e in body["errors"]).lower()
    for word in words:
        assert word in message, message


def test_malformed_graphql_is_refused_by_graphql_not_by_a_crash(api: Api) -> None:
    # wrong argument types, literal and in variables
    _graphql_error(api.post("stores", 'mutation { scanDewar(barcode: 5, location: "loc-goods-in") { __typename } }'),
                   "string")
    _graphql_error(api.post("stores", "mutation($b: String!) { scanDewar(barcode: $b, location: \"loc-goods-in\") { __typename } }",
                            {"b": ["a", "list"]}), "string")
    _graphql_error(api.post("ada", 'mutation { addMailInDewar(shipmentId: "x", visit: "one", beamline: "i03") { __typename } }'),
                   "int")
    _graphql_error(api.post("ada", "mutation($v: Int!) { addMailInDewar(shipmentId: \"x\", visit: $v, beamline: \"i03\") { __typename } }",
                            {"v": 2 ** 40}), "32-bit")
    _graphql_error(api.post("stores", 'mutation { checkContents(barcode: "x", ok: "yes") { __typename } }'), "boolean")
    _graphql_error(api.post("stores", 'mutation { topUp(barcode: "x", litres: "lots") { __typename } }'), "float")
    _graphql_error(api.post("ada", '{ dewar(barcode: "x", asOf: "last tuesday") { __typename } }'), "datetime")
    _graphql_error(api.post("ada", "mutation { scanDewar(location: \"loc-goods-in\") { __typename } }"), "barcode")
    _graphql_error(api.post("ada", "mutation { scanDewar(barcode: null, location: \"loc-goods-in\") { __typename } }"))
    _graphql_error(api.post("ada", "{ nosuchfield }"), "nosuchfield")
    _graphql_error(api.post("ada", "{ me { name }"), "syntax")
    _graphql_error(api.post("ada", "mutation { scanDewar(barcode: \"x\", location: \"y\") }"))  # no selection on a union
    # a 20-level deep query is refused by the depth limit
    deep = "barcode"
    for _ in range(10):
        deep = f"containers {{ dewar {{ {deep} }} }}"
    _graphql_error(api.post("admin", '{ dewar(barcode: "DLS-MX-0007") { ... on Dewar { ' + deep + " } } }"), "depth")
    # 50 aliases are refused by the alias limit
    aliases = " ".join(f"a{i}: lookup(barcode: \"CPS-1001\") {{ __typename }}" for i in range(50))
    _graphql_error(api.post("ada", "{ " + aliases + " }"), "alias")
    # a huge document of tokens
    _graphql_error(api.post("ada", "{ " + " ".join("me { name }" for _ in range(3000)) + " }"))
    # not JSON at all, or not a GraphQL request
    with api.server.client("ada") as c:
        for content in (b"not json", b"[]", b"{}", b'{"query": 5}'):
            response = c.post("/graphql", content=content, headers={"content-type": "application/json"})
            assert response.status_code in (200, 400), (content, response.status_code, response.text[:500])
    # and the server is still well
    assert api.data("ada", "{ me { name } }") == {"me": {"name": "ada"}}


RAN_HERE: set[str] = set()  # the tests of this module that ran in this process (node ids: each parameter too)


@pytest.fixture(autouse=True)
def ran_here(request: pytest.FixtureRequest) -> None:
    RAN_HERE.add(request.node.nodeid)


@pytest.fixture(scope="module", autouse=True)
def every_mutation_succeeded_in_a_journey(request: pytest.FixtureRequest) -> Any:
    """After the module, in whatever order its tests ran: every mutation of the schema was carried
    out by its role in the journeys (a test "running last" was true only in file order). Checked
    when the whole module ran, for each server it ran against."""
    failed_before = request.session.testsfailed
    yield
    items = [item for item in request.session.items if item.module is request.module]
    defined = {name for name in dir(request.module) if name.startswith("test_")}
    if {item.originalname for item in items} != defined or RAN_HERE != {item.nodeid for item in items} \
            or request.session.testsfailed > failed_before:
        return  # a subset ran in this process (-k, a node id, xdist spreading the file), or a journey failed
    for url, args in API_ARGS.items():  # the journeys' servers (a test with a private server is not one)
        missing = set(args) - SUCCEEDED.get(url, set())
        assert not missing, f"mutations no journey carried out successfully against {url}: {sorted(missing)}"


# --- bugs found: each documents the expected behaviour -----------------------------------------

def test_as_of_a_time_without_a_utc_offset_gives_a_result_not_a_graphql_error(api: Api, demo: dict[str, Any]) -> None:
    for when in ("2020-01-01T00:00:00", "2020-01-01"):
        response = api.post("ada", "query($b: String!, $t: DateTime) { dewar(barcode: $b, asOf: $t) { __typename } }",
                            {"b": demo["in_use_dewar"], "t": when})
        assert response.status_code == 200
        assert "errors" not in response.json(), response.json()


def test_sample_attributes_that_are_not_an_object_are_an_invalid_value(api: Api, demo: dict[str, Any]) -> None:
    for attributes, safety in (("abc", None), ([1, 2], None), (5, None), ({"protein_acronym": "lyso"}, "yes")):
        response = api.post("ada", "mutation($a: JSON!, $s: JSON, $c: String!) { addSample(container: $c, position: \"9\", "
                                   "kind: \"mx-crystal\", name: \"json_test\", attributes: $a, safety: $s) { __typename } }",
                            {"a": attributes, "s": safety, "c": demo["draft_puck"]})
        assert response.status_code == 200
        body = response.json()
        assert "errors" not in body, (attributes, safety, body)
        assert body["data"]["addSample"]["__typename"] == "InvalidValueError"


def test_a_malformed_cursor_is_an_argument_error_that_says_so(api: Api) -> None:
    response = api.post("ada", '{ dewars(after: "not-a-cursor") { edges { node { barcode } } } }')
    assert response.status_code == 200
    message = response.json()["errors"][0]["message"]
    assert "cursor 'not-a-cursor' is not valid: pass the endCursor of the previous page" == message


def test_a_lab_contact_for_someone_who_is_not_a_person_is_not_found(api: Api) -> None:
    for person in ("p" * 100, "not-a-person"):
        response = api.post("admin", "mutation($p: ID!) { addLabContact(proposal: \"mx23694\", personId: $p, "
                                     "addressLines: [\"x\"], country: \"UK\") { __typename } }", {"p": person})
        assert response.status_code == 200
        body = response.json()
        assert "errors" not in body, body
        assert body["data"]["addLabContact"]["__typename"] == "NotFoundError", body


@pytest.fixture
def private_postgresql(tmp_path: Any) -> Any:
    """A server of its own on PostgreSQL, for a test that may leave it broken."""
    from tests.api.conftest import start_server
    from tests.conftest import fresh_postgres_database, stop
    with fresh_postgres_database("logistics_api") as url:
        process, server = start_server(url, tmp_path)
        try:
            yield server
        finally:
            stop(process)


def test_a_long_location_code_neither_errors_nor_stops_the_read_model_on_postgresql(private_postgresql: Any) -> None:
    api = Api(private_postgresql)
    response = api.post("admin", "mutation($c: String!) { registerLocation(code: $c, name: \"long\") { __typename } }",
                        {"c": "loc-" + "a" * 100})
    assert response.status_code == 200
    assert "errors" not in response.json(), response.json()["errors"][0]["message"][:300]
    # whatever it answered, the next command of another user still works
    after = api.call("ada", "createShipment", proposal="mx23694", name=f"After a long location {uid()}")
    assert after["__typename"] == "Shipment"


def test_a_refused_move_leaves_the_container_where_it_was(api: Api) -> None:
    shipment = new_shipment(api)
    dewar = ok(api.call("ada", "addMailInDewar", shipmentId=shipment["id"], visit=3, beamline="i03"), "Dewar")["barcode"]
    puck, other = f"MV-{uid()}", f"MV-{uid()}"
    ok(api.call("ada", "addContainer", barcode=puck, type="unipuck", dewar=dewar), "Container")
    ok(api.call("ada", "addContainer", barcode=other, type="unipuck", dewar=dewar), "Container")
    refused(api.call("ada", "moveContainer", barcode=puck, dewar=other), "InvalidValueError", "not a dewar")
    where = api.data("ada", "query($b: String!) { container(barcode: $b) { ... on Container { dewar { barcode } } } }",
                     b=puck)["container"]
    assert where == {"dewar": {"barcode": dewar}}


def test_a_scan_answers_with_the_dewar_as_every_later_question_sees_it_with_times_in_utc(api: Api) -> None:
    """The reply to a command is the state it left (not read back), the same in every field as what
    a query then reads from the read model, and as the state at that moment; times carry +00:00."""
    dewar = new_facility_dewar(api)
    fields = "id barcode facilityCode kind proposal workflow unexpected returnCourier returnTracking updatedAt " + WHERE
    for location in ("loc-stores-a1", "loc-stores-b1"):
        reply = api.data("stores", "mutation($b: String!, $l: String!) { scanDewar(barcode: $b, location: $l) { "
                                   "... on Scan { changed dewar { " + fields + " } } } }",
                         b=dewar["barcode"], l=location)["scanDewar"]
        assert reply["changed"] and reply["dewar"]["where"]["code"] == location
        then = api.data("stores", "query($b: String!, $t: DateTime!) { now: dewar(barcode: $b) { ... on Dewar { "
                                  + fields + " } } at: dewar(barcode: $b, asOf: $t) { ... on Dewar { " + fields + " } } }",
                        b=dewar["barcode"], t=reply["dewar"]["updatedAt"])
        assert then["now"] == reply["dewar"] == then["at"]
        updated = datetime.fromisoformat(reply["dewar"]["updatedAt"])
        assert updated.utcoffset() == timedelta(0), reply["dewar"]["updatedAt"]
        assert abs(datetime.now(updated.tzinfo) - updated) < timedelta(minutes=5)
