"""Every named operation in graphql/*.graphql, sent by a real GraphQL client (gql) to a real
`logistics serve`, as the role that would send it: queries and mutations over HTTP (gql's HTTPX
transport, bearer token), subscriptions over a websocket (graphql-transport-ws).

A mutation under test works on things made fresh for it (through the same named operations), so
it succeeds; an operation refused in its state answers with a typed Problem, never a transport
error (gql raises on a transport or GraphQL error, which fails the test)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Iterator

import pytest
import websockets
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportError
from gql.transport.httpx import HTTPXTransport
from gql.transport.websockets import WebsocketsTransport
from graphql import GraphQLInterfaceType, build_schema

from logistics.api import export

try:
    OPERATIONS = export.operations()
except Exception:  # a broken contract is reported by tests/api/test_contract.py
    OPERATIONS = {}
SCHEMA = build_schema(export.sdl())
_problem = SCHEMA.get_type("Problem")
assert isinstance(_problem, GraphQLInterfaceType)
PROBLEMS = frozenset(t.name for t in SCHEMA.get_implementations(_problem).objects)
ADA, DOROTHY = "mx23694", "mx31020"
FEED_SECONDS = 5  # "within a few seconds"


def uid() -> str:
    return uuid.uuid4().hex[:8].upper()


# --- a gql client per account ------------------------------------------------------------------

class Api:
    def __init__(self, server: Any):
        self.server = server
        self.clients: dict[str, Client] = {}

    def client(self, who: str) -> Client:
        if who not in self.clients:
            transport = HTTPXTransport(url=self.server.graphql, timeout=30,
                                       headers={"Authorization": f"Bearer {self.server.tokens[who]}"})
            self.clients[who] = Client(transport=transport, schema=SCHEMA)  # validates each operation locally too
        return self.clients[who]

    def run(self, who: str, operation: str, /, **variables: Any) -> dict[str, Any]:
        """Run a named query or mutation; a transport or GraphQL error raises (and fails the test)."""
        op = OPERATIONS[operation]
        assert op.kind in ("query", "mutation"), f"{operation} is a {op.kind}"
        request = GraphQLRequest(op.document, variable_values=variables or None, operation_name=operation)
        return self.client(who).execute(request)

    def result(self, who: str, operation: str, /, **variables: Any) -> Any:
        data = self.run(who, operation, **variables)
        assert len(data) == 1, data
        return next(iter(data.values()))

    def ok(self, who: str, operation: str, typename: str, /, **variables: Any) -> dict[str, Any]:
        """The operation's result union answered with the success type."""
        value = self.result(who, operation, **variables)
        assert value["__typename"] == typename, f"{operation} as {who} with {variables}: {value}"
        return value

    def refused(self, who: str, operation: str, typename: str | None = None, /, **variables: Any) -> dict[str, Any]:
        """The operation answered with a typed Problem: a message and a code."""
        value = self.result(who, operation, **variables)
        assert value["__typename"] in PROBLEMS, f"{operation} as {who} with {variables} was not refused: {value}"
        assert value["message"] and value["code"], value
        if typename:
            assert value["__typename"] == typename, value
        return value

    def admin(self, query: str, **variables: Any) -> dict[str, Any]:
        """Set-up the pages do not do (registering a location or a facility dewar): a plain request."""
        return self.server.gql("admin", query, **variables)


@pytest.fixture(scope="module")
def api(server: Any) -> Iterator[Api]:
    yield Api(server)


# --- fresh things to act on, made through the named operations ----------------------------------

@dataclass
class Trip:
    shipment_id: str
    dewar: str
    containers: list[str] = field(default_factory=list)


def new_shipment(api: Api, who: str = "ada", proposal: str = ADA) -> dict[str, Any]:
    return api.ok(who, "CreateShipment", "Shipment", proposal=proposal, name=f"API client test {uid()}")


def packed(api: Api, who: str = "ada", proposal: str = ADA, containers: int = 1, beamline: str = "i03") -> Trip:
    shipment = new_shipment(api, who, proposal)
    dewar = api.ok(who, "AddMailInDewar", "Dewar", shipmentId=shipment["id"], visit=1, beamline=beamline)
    trip = Trip(shipment["id"], dewar["barcode"])
    for _ in range(containers):
        puck = api.ok(who, "AddContainer", "Container", barcode=f"T-{uid()}", type="unipuck", dewar=dewar["barcode"])
        trip.containers.append(puck["barcode"])
    return trip


def sent(api: Api, who: str = "ada", proposal: str = ADA, containers: int = 1) -> Trip:
    trip = packed(api, who, proposal, containers)
    api.ok(who, "MarkSent", "Shipment", shipmentId=trip.shipment_id)
    return trip


def arrived(api: Api, location: str = "loc-goods-in", who: str = "ada", proposal: str = ADA,
            containers: int = 1) -> Trip:
    trip = sent(api, who, proposal, containers)
    api.ok("stores-desk-1", "ScanDewar", "Scan", barcode=trip.dewar, location=location)
    return trip


def requested(api: Api) -> Trip:
    trip = arrived(api, containers=0)
    api.ok("ada", "RequestDispatch", "Dewar", barcode=trip.dewar)
    return trip


def booked(api: Api) -> Trip:
    trip = requested(api)
    api.ok("stores", "BookDispatch", "Dewar", barcode=trip.dewar, courier="dhl", trackingNumber="1234567891")
    return trip


def dispatched(api: Api) -> Trip:
    trip = booked(api)
    api.ok("stores-desk-1", "ScanOut", "Scan", barcode=trip.dewar)
    return trip


def fresh_location(api: Api) -> str:
    code = f"loc-api-test-{uid().lower()}"
    done = api.admin('mutation($code: String!) { registerLocation(code: $code, name: "API test shelf") '
                     '{ __typename ... on Problem { message } } }', code=code)
    assert done["registerLocation"]["__typename"] == "Done", done
    return code


def free_position(api: Api, instrument: str) -> str:
    changer = api.ok("beamline", "SampleChangerMap", "SampleChanger", instrument=instrument)
    return next(p["position"] for p in changer["positions"] if not p["occupied"])


def history(api: Api, barcode: str, who: str = "stores") -> list[dict[str, Any]]:
    return api.ok(who, "DewarHistory", "Dewar", barcode=barcode)["history"]


def my_shipments(api: Api, who: str = "ada", **filters: Any) -> list[dict[str, Any]]:
    nodes, after = [], None
    while True:
        page = api.run(who, "MyShipments", first=3, after=after, **filters)["shipments"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def demo_shipment(api: Api, name: str) -> dict[str, Any]:
    return next(s for s in my_shipments(api) if s["name"] == name)


# --- one case per operation -----------------------------------------------------------------------

CASES: dict[str, Callable[[Api], None]] = {}


def case(name: str) -> Callable[[Callable[[Api], None]], Callable[[Api], None]]:
    def register(fn: Callable[[Api], None]) -> Callable[[Api], None]:
        CASES[name] = fn
        return fn
    return register


# shipments.graphql: the user group

@case("MyShipments")
def _(api: Api) -> None:
    first = api.run("ada", "MyShipments", first=2)["shipments"]
    assert len(first["edges"]) == 2 and first["pageInfo"]["hasNextPage"] is True
    second = api.run("ada", "MyShipments", first=2, after=first["pageInfo"]["endCursor"])["shipments"]
    assert {e["node"]["id"] for e in first["edges"]}.isdisjoint(e["node"]["id"] for e in second["edges"])
    everything = my_shipments(api)
    assert len({s["id"] for s in everything}) == len(everything)
    assert {s["proposal"] for s in everything} == {ADA}
    assert {"Efflux pumps run 1", "Efflux pumps run 2", "Efflux pumps run 3 (draft)"} <= {s["name"] for s in everything}
    assert my_shipments(api, workflow="registered") and all(s["workflow"] == "registered"
                                                            for s in my_shipments(api, workflow="registered"))
    assert api.run("dorothy", "MyShipments", proposal=ADA)["shipments"]["edges"] == []


@case("Shipment")
def _(api: Api) -> None:
    run1 = demo_shipment(api, "Efflux pumps run 1")
    shipment = api.ok("ada", "Shipment", "Shipment", id=run1["id"])
    assert shipment["courier"] == "dhl" and shipment["trackingNumber"] == "1234567891"
    (dewar,) = shipment["dewars"]
    pucks = {c["barcode"]: c for c in dewar["containers"]}
    assert set(pucks) == {"CPS-1001", "CPS-1002"}
    assert len(pucks["CPS-1001"]["samples"]) == 16 and len(pucks["CPS-1002"]["samples"]) == 8
    assert pucks["CPS-1001"]["loaded"] == {"instrument": "i03", "position": "5"}
    assert pucks["CPS-1001"]["samples"][0]["name"] == "acrb_01"
    api.refused("dorothy", "Shipment", "NotFoundError", id=run1["id"])  # another proposal's: as if it did not exist


@case("CreateShipment")
def _(api: Api) -> None:
    name = f"Created by gql {uid()}"
    shipment = api.ok("ada", "CreateShipment", "Shipment", proposal=ADA, name=name, safetyLevel="green")
    assert (shipment["proposal"], shipment["name"], shipment["workflow"]) == (ADA, name, "registered")
    assert name in {s["name"] for s in my_shipments(api)}  # read-your-writes
    api.refused("jacques", "CreateShipment", proposal=ADA, name="not mine")


@case("AddMailInDewar")
def _(api: Api) -> None:
    shipment = new_shipment(api)
    dewar = api.ok("ada", "AddMailInDewar", "Dewar", shipmentId=shipment["id"], visit=1, beamline="i03")
    assert dewar["barcode"].lower().startswith(f"{ADA}-1-i03-")
    assert (dewar["proposal"], dewar["workflow"], dewar["where"]["kind"]) == (ADA, "registered", "offsite")
    api.refused("ada", "AddMailInDewar", "InvalidValueError", shipmentId=shipment["id"], visit=1, beamline="i99")


@case("AddFacilityDewar")
def _(api: Api) -> None:
    code = f"DLS-MX-{random.randint(1000, 9999)}"
    done = api.admin('mutation($code: String!) { registerFacilityDewar(facilityCode: $code) '
                     '{ __typename ... on Problem { message } } }', code=code)
    assert done["registerFacilityDewar"]["__typename"] == "Dewar", done
    shipment = new_shipment(api)
    dewar = api.ok("ada", "AddFacilityDewar", "Dewar", shipmentId=shipment["id"], facilityCode=code.lower())
    assert (dewar["facilityCode"], dewar["proposal"], dewar["workflow"]) == (code, ADA, "registered")
    # the same physical dewar cannot travel on two shipments at once
    api.refused("ada", "AddFacilityDewar", "NotPermittedError", shipmentId=new_shipment(api)["id"], facilityCode=code)


@case("AddContainer")
def _(api: Api) -> None:
    trip = packed(api, containers=0)
    barcode = f"T-{uid()}"
    puck = api.ok("ada", "AddContainer", "Container", barcode=barcode, type="unipuck", dewar=trip.dewar)
    assert (puck["barcode"], puck["type"], puck["proposal"]) == (barcode, "unipuck", ADA)
    assert puck["dewar"]["barcode"] == trip.dewar
    # the barcode is that unipuck's: it cannot be registered again as a cane
    api.refused("ada", "AddContainer", "InvalidValueError", barcode=barcode, type="cane", dewar=trip.dewar)


@case("AddSample")
def _(api: Api) -> None:
    trip = packed(api)
    name = f"xtal_{uid()}"
    sample = api.ok("ada", "AddSample", "Sample", container=trip.containers[0], position="1", kind="mx-crystal",
                    name=name, attributes={"protein_acronym": "lyso"})
    assert (sample["name"], sample["kind"], sample["position"], sample["proposal"]) == (name, "mx-crystal", "1", ADA)
    assert sample["attributes"]["protein_acronym"] == "lyso"
    assert sample["container"]["barcode"] == trip.containers[0]
    refused = api.refused("ada", "AddSample", "InvalidValueError", container=trip.containers[0], position="2",
                          kind="mx-crystal", name=f"xtal_{uid()}", attributes={})
    assert "protein_acronym" in refused["message"]  # the kind's JSON Schema's own message


@case("SetCourier")
def _(api: Api) -> None:
    shipment = new_shipment(api)
    done = api.ok("ada", "SetCourier", "Shipment", shipmentId=shipment["id"], courier="DHL", trackingNumber="1234567891")
    assert (done["courier"], done["trackingNumber"]) == ("dhl", "1234567891")
    api.refused("ada", "SetCourier", "InvalidValueError", shipmentId=shipment["id"], courier="dhl",
                trackingNumber="12345")


@case("MarkSent")
def _(api: Api) -> None:
    trip = packed(api)
    shipment = api.ok("ada", "MarkSent", "Shipment", shipmentId=trip.shipment_id)
    assert shipment["workflow"] == "sent"
    assert [(d["barcode"], d["workflow"], d["where"]["kind"]) for d in shipment["dewars"]] == \
        [(trip.dewar, "sent", "in-transit-to-facility")]
    api.refused("ada", "MarkSent", "NotPermittedError", shipmentId=new_shipment(api)["id"])  # no dewar yet


@case("RequestDispatch")
def _(api: Api) -> None:
    trip = arrived(api)
    dewar = api.ok("ada", "RequestDispatch", "Dewar", barcode=trip.dewar)
    assert dewar["workflow"] == "dispatch-requested"
    api.refused("ada", "RequestDispatch", "NotPermittedError", barcode=packed(api).dewar)  # never sent


@case("CancelShipment")
def _(api: Api) -> None:
    trip = packed(api)
    shipment = api.ok("ada", "CancelShipment", "Shipment", shipmentId=trip.shipment_id)
    assert shipment["workflow"] == "cancelled" and shipment["dewars"][0]["workflow"] == "cancelled"
    api.refused("ada", "CancelShipment", "NotPermittedError", shipmentId=sent(api).shipment_id)


# stores.graphql: the stores desk

@case("ScanDewar")
def _(api: Api) -> None:
    trip = sent(api)
    scan = api.ok("stores-desk-1", "ScanDewar", "Scan", barcode=trip.dewar, location="loc-goods-in")
    assert scan["changed"] is True
    assert (scan["dewar"]["workflow"], scan["dewar"]["where"]["code"]) == ("received", "loc-goods-in")
    again = api.ok("stores-desk-1", "ScanDewar", "Scan", barcode=f"  {trip.dewar.lower()}\n", location="LOC-GOODS-IN")
    assert again["changed"] is False  # the scanner fired twice: nothing recorded twice
    arrivals = [e for e in history(api, trip.dewar) if e["event"] == "Arrived"]
    assert len(arrivals) == 1 and arrivals[0]["station"] == "stores-desk-1"
    api.refused("ada", "ScanDewar", "AccessDeniedError", barcode=trip.dewar, location="loc-stores-a1")
    api.refused("stores-desk-1", "ScanDewar", "InvalidValueError", barcode=trip.dewar, location="loc-nowhere")


@case("MoveDewar")
def _(api: Api) -> None:
    trip = requested(api)
    scan = api.ok("stores", "MoveDewar", "Scan", barcode=trip.dewar, location="loc-stores-b2")
    assert scan["changed"] is True and scan["dewar"]["where"]["code"] == "loc-stores-b2"
    assert scan["dewar"]["workflow"] == "dispatch-requested"  # a move never erases a dispatch request
    api.refused("stores", "MoveDewar", "NotPermittedError", barcode=sent(api).dewar, location="loc-stores-b2")


@case("TopUp")
def _(api: Api) -> None:
    trip = arrived(api)
    api.ok("stores", "TopUp", "Dewar", barcode=trip.dewar, litres=12.5)
    assert history(api, trip.dewar)[-1]["event"] == "ToppedUp"
    assert history(api, trip.dewar)[-1]["data"]["litres"] == 12.5
    api.refused("stores", "TopUp", "NotPermittedError", barcode=sent(api).dewar, litres=5.0)  # not here yet


@case("CheckContents")
def _(api: Api) -> None:
    trip = arrived(api)
    api.ok("stores", "CheckContents", "Dewar", barcode=trip.dewar, ok=False, notes="one puck lid loose")
    last = history(api, trip.dewar)[-1]
    assert last["event"] == "ContentsChecked" and last["data"]["ok"] is False


@case("ReportDamage")
def _(api: Api) -> None:
    trip = arrived(api)
    api.ok("stores", "ReportDamage", "Dewar", barcode=trip.dewar, description="outer case dented")
    assert history(api, trip.dewar)[-1]["data"]["description"] == "outer case dented"
    api.refused("stores", "ReportDamage", "InvalidValueError", barcode=trip.dewar, description="   ")


@case("BookDispatch")
def _(api: Api) -> None:
    trip = requested(api)
    dewar = api.ok("stores", "BookDispatch", "Dewar", barcode=trip.dewar, courier="ups",
                   trackingNumber="1Z999AA10123456784")
    assert (dewar["workflow"], dewar["returnCourier"], dewar["returnTracking"]) == \
        ("dispatch-booked", "ups", "1Z999AA10123456784")
    api.refused("stores", "BookDispatch", "NotPermittedError", barcode=arrived(api).dewar, courier="dhl",
                trackingNumber="1234567891")  # the user has not asked for it back


@case("CancelDispatch")
def _(api: Api) -> None:
    trip = booked(api)
    dewar = api.ok("stores", "CancelDispatch", "Dewar", barcode=trip.dewar, reason="one more beamtime")
    assert (dewar["workflow"], dewar["returnCourier"], dewar["returnTracking"]) == ("received", None, None)
    assert history(api, trip.dewar)[-1]["data"]["reason"] == "one more beamtime"
    api.refused("stores", "CancelDispatch", "NotPermittedError", barcode=arrived(api).dewar, reason="oops")


@case("ScanOut")
def _(api: Api) -> None:
    trip = booked(api)
    scan = api.ok("stores-desk-1", "ScanOut", "Scan", barcode=trip.dewar)
    assert scan["changed"] is True
    assert (scan["dewar"]["workflow"], scan["dewar"]["where"]["kind"]) == ("dispatched", "in-transit-back")
    api.refused("stores-desk-1", "ScanOut", "NotPermittedError", barcode=requested(api).dewar)


@case("MarkReturned")
def _(api: Api) -> None:
    trip = dispatched(api)
    dewar = api.ok("stores", "MarkReturned", "Dewar", barcode=trip.dewar)
    assert (dewar["workflow"], dewar["where"]["kind"]) == ("returned", "offsite")


@case("CloseDewar")
def _(api: Api) -> None:
    trip = dispatched(api)
    api.ok("stores", "MarkReturned", "Dewar", barcode=trip.dewar)
    assert api.ok("stores", "CloseDewar", "Dewar", barcode=trip.dewar)["workflow"] == "closed"
    api.refused("stores", "CloseDewar", "NotPermittedError", barcode=arrived(api).dewar)


@case("RecordUnexpectedArrival")
def _(api: Api) -> None:
    barcode = f"UNI-{random.randint(10**7, 10**8 - 1)}"
    dewar = api.ok("stores", "RecordUnexpectedArrival", "Dewar", barcode=barcode, location="loc-quarantine",
                   note="no paperwork")
    assert (dewar["barcode"], dewar["unexpected"], dewar["proposal"]) == (barcode, True, None)
    assert dewar["where"]["code"] == "loc-quarantine"
    api.refused("stores", "RecordUnexpectedArrival", "AlreadyExistsError", barcode=barcode, location="loc-quarantine")


@case("DewarsAtLocation")
def _(api: Api) -> None:
    page = api.run("stores", "DewarsAtLocation", location="loc-stores-a2", first=1)["dewars"]
    assert len(page["edges"]) == 1
    nodes = [e["node"] for e in page["edges"]]
    if page["pageInfo"]["hasNextPage"]:
        nodes += [e["node"] for e in api.run("stores", "DewarsAtLocation", location="loc-stores-a2",
                                             after=page["pageInfo"]["endCursor"])["dewars"]["edges"]]
    assert {d["where"]["code"] for d in nodes} == {"loc-stores-a2"}
    assert any(d["shipment"]["name"] == "Efflux pumps run 2" for d in nodes)
    trip = arrived(api, location="loc-stores-a2")
    assert trip.dewar in {e["node"]["barcode"] for e in
                          api.run("stores", "DewarsAtLocation", location="loc-stores-a2", first=500)["dewars"]["edges"]}
    # a member sees only their proposal's dewars there
    assert {e["node"]["proposal"] for e in
            api.run("dorothy", "DewarsAtLocation", location="loc-stores-a2")["dewars"]["edges"]} <= {DOROTHY}


@case("DewarsAwaitingDispatch")
def _(api: Api) -> None:
    trip = requested(api)
    nodes = [e["node"] for e in api.run("stores", "DewarsAwaitingDispatch", first=500)["dewars"]["edges"]]
    assert {d["workflow"] for d in nodes} == {"dispatch-requested"}
    assert trip.dewar in {d["barcode"] for d in nodes}
    assert any(d["shipment"] and d["shipment"]["name"] == "Efflux pumps run 2" for d in nodes)


@case("UnexpectedArrivals")
def _(api: Api) -> None:
    nodes = [e["node"] for e in api.run("stores", "UnexpectedArrivals", first=500)["unexpectedArrivals"]["edges"]]
    assert "UNI-77812" in {d["barcode"] for d in nodes}
    assert all(d["unexpected"] for d in nodes)
    assert api.run("ada", "UnexpectedArrivals")["unexpectedArrivals"]["edges"] == []  # nobody's: staff only


@case("Locations")
def _(api: Api) -> None:
    locations = {loc["code"]: loc for loc in api.run("stores", "Locations")["locations"]}
    assert {"loc-goods-in", "loc-dispatch", "loc-quarantine", "loc-stores-a1"} <= set(locations)
    assert locations["loc-goods-in"]["kind"] == "storage"


# beamline.graphql: beamline and microscope staff

@case("SampleChangerMap")
def _(api: Api) -> None:
    changer = api.ok("beamline", "SampleChangerMap", "SampleChanger", instrument="i03")
    assert changer["instrument"] == "i03" and len(changer["positions"]) == 37
    five = next(p for p in changer["positions"] if p["position"] == "5")
    assert five["occupied"] and five["container"]["barcode"] == "CPS-1001" and five["accepts"] == ["unipuck"]
    assert five["visit"] == "mx23694-1" and five["samples"][0]["name"] == "acrb_01" and five["loadedAt"]
    assert five["loadedBy"] == "demo-beamline"
    theirs = next(p for p in api.ok("dorothy", "SampleChangerMap", "SampleChanger", instrument="i03")["positions"]
                  if p["position"] == "5")
    assert theirs == {**theirs, "occupied": True, "container": None, "samples": [], "visit": None, "loadedAt": None,
                      "loadedBy": None}  # not dorothy's to see
    api.refused("beamline", "SampleChangerMap", instrument="i99")


@case("TakeToInstrument")
def _(api: Api) -> None:
    trip = arrived(api)
    dewar = api.ok("beamline", "TakeToInstrument", "Dewar", barcode=trip.dewar, instrument="i04")
    assert (dewar["where"]["kind"], dewar["where"]["code"], dewar["workflow"]) == ("instrument", "i04", "in-use")
    puck = api.ok("beamline", "TakeToInstrument", "Container", barcode=arrived(api).containers[0], instrument="i04")
    assert puck["atInstrument"] == "i04" and puck["containerProposal"] == ADA
    api.refused("beamline", "TakeToInstrument", "NotPermittedError", barcode=sent(api).dewar, instrument="i04")
    api.refused("stores", "TakeToInstrument", "AccessDeniedError", barcode=trip.dewar, instrument="i04")


@case("LoadContainer")
def _(api: Api) -> None:
    trip = arrived(api)
    position = free_position(api, "i04-1")
    puck = api.ok("beamline", "LoadContainer", "Container", barcode=trip.containers[0], instrument="i04-1",
                  position=position)
    assert puck["loaded"] == {"instrument": "i04-1", "position": position}
    assert next(p for p in api.ok("beamline", "SampleChangerMap", "SampleChanger", instrument="i04-1")["positions"]
                if p["position"] == position)["container"]["barcode"] == trip.containers[0]
    api.refused("beamline", "LoadContainer", "NotPermittedError", barcode=arrived(api).containers[0],
                instrument="i04-1", position=position)  # taken
    api.refused("beamline", "LoadContainer", "NotPermittedError", barcode=sent(api).containers[0], instrument="i04-1",
                position=free_position(api, "i04-1"))  # its dewar is not here yet
    api.ok("beamline", "UnloadContainer", "Container", barcode=trip.containers[0])


@case("UnloadContainer")
def _(api: Api) -> None:
    trip = arrived(api)
    api.ok("beamline", "LoadContainer", "Container", barcode=trip.containers[0], instrument="i04-1",
           position=free_position(api, "i04-1"))
    puck = api.ok("beamline", "UnloadContainer", "Container", barcode=trip.containers[0])
    assert puck["loaded"] is None
    api.refused("beamline", "UnloadContainer", "NotPermittedError", barcode=trip.containers[0])


@case("HandBack")
def _(api: Api) -> None:
    trip = arrived(api)
    api.ok("beamline", "TakeToInstrument", "Dewar", barcode=trip.dewar, instrument="i04")
    dewar = api.ok("beamline", "HandBack", "Dewar", barcode=trip.dewar, location="loc-stores-b2")
    assert (dewar["where"]["kind"], dewar["where"]["code"]) == ("storage", "loc-stores-b2")
    other = arrived(api)
    api.ok("beamline", "TakeToInstrument", "Container", barcode=other.containers[0], instrument="i04")
    puck = api.ok("stores", "HandBack", "Container", barcode=other.containers[0], location="loc-stores-b2")
    assert puck["atInstrument"] is None
    api.refused("ada", "HandBack", "AccessDeniedError", barcode=trip.dewar, location="loc-stores-b2")


@case("DisposeContainer")
def _(api: Api) -> None:
    trip = arrived(api)
    puck = api.ok("beamline", "DisposeContainer", "Container", barcode=trip.containers[0], reason="cracked")
    assert puck["disposed"] is True
    api.refused("beamline", "LoadContainer", "NotPermittedError", barcode=trip.containers[0], instrument="i04-1",
                position=free_position(api, "i04-1"))


@case("Instruments")
def _(api: Api) -> None:
    instruments = {i["name"]: i for i in api.run("beamline", "Instruments")["instruments"]}
    assert instruments["i03"]["changerPositions"] == 37 and instruments["i03"]["changerModel"] == "BART"
    assert instruments["m02"]["technique"] == "cryo-em" and instruments["i19"]["changerModel"] is None


# entity.graphql: where is it now, what happened to it

@case("Lookup")
def _(api: Api) -> None:
    puck = api.ok("ada", "Lookup", "Container", barcode="  cps-1001\r\n")  # scanner noise
    assert (puck["barcode"], puck["containerProposal"], puck["loaded"]) == \
        ("CPS-1001", ADA, {"instrument": "i03", "position": "5"})
    assert len(puck["samples"]) == 16 and puck["dewar"]["proposal"] == ADA
    dewar = api.ok("ada", "Lookup", "Dewar", barcode=puck["dewar"]["barcode"])
    assert dewar["shipment"]["name"] == "Efflux pumps run 1"
    assert {c["barcode"] for c in dewar["containers"]} == {"CPS-1001", "CPS-1002"}
    api.refused("dorothy", "Lookup", "UnknownBarcodeError", barcode="CPS-1001")  # another proposal's
    api.refused("stores", "Lookup", "UnknownBarcodeError", barcode="NOBODY-HAS-THIS")


@case("DewarHistory")
def _(api: Api) -> None:
    trip = arrived(api)
    api.ok("stores", "TopUp", "Dewar", barcode=trip.dewar, litres=10.0)
    events = api.ok("ada", "DewarHistory", "Dewar", barcode=trip.dewar)["history"]
    names = [e["event"] for e in events]
    assert names[0] == "Registered" and names[-2:] == ["Arrived", "ToppedUp"] and "Sent" in names
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert all(e["actor"] and e["time"] for e in events)
    assert events[-2]["station"] == "stores-desk-1"
    assert events[-1]["actor"] != events[0]["actor"]  # stores did this, ada the first
    api.refused("dorothy", "DewarHistory", "UnknownBarcodeError", barcode=trip.dewar)


@case("ContainerHistory")
def _(api: Api) -> None:
    puck = api.ok("ada", "ContainerHistory", "Container", barcode="CPS-1001")
    names = [e["event"] for e in puck["history"]]
    assert names[0] == "Registered" and "Packed" in names and names[-1] == "Loaded"
    assert puck["history"][-1]["data"]["instrument"] == "i03"
    assert puck["history"][-1]["station"] == "beamline-station"


@case("ContainerGrid")
def _(api: Api) -> None:
    """What the puck grid page asks before it draws the grid: the puck's samples with their attributes."""
    trip = packed(api)
    puck = trip.containers[0]
    api.ok("ada", "AddSample", "Sample", container=puck, position="2", kind="mx-crystal", name="grid_xtal",
           attributes={"protein_acronym": "lyso", "space_group": "P212121"})
    grid = api.ok("ada", "ContainerGrid", "Container", barcode=puck)
    assert (grid["barcode"], grid["type"], grid["dewar"]["barcode"]) == (puck, "unipuck", trip.dewar)
    assert [(s["position"], s["name"], s["attributes"]["space_group"]) for s in grid["samples"]] \
        == [("2", "grid_xtal", "P212121")]
    api.refused("dorothy", "ContainerGrid", "UnknownBarcodeError", barcode=puck)


@case("ShipmentHistory")
def _(api: Api) -> None:
    trip = sent(api)
    shipment = api.ok("ada", "ShipmentHistory", "Shipment", id=trip.shipment_id)
    assert [e["event"] for e in shipment["history"]] == ["Registered", "DewarAdded", "Sent"]
    assert {e["station"] for e in shipment["history"]} == {"web"}
    api.refused("dorothy", "ShipmentHistory", "NotFoundError", id=trip.shipment_id)
    api.refused("ada", "ShipmentHistory", "NotFoundError", id="not-a-uuid")


@case("SampleHistory")
def _(api: Api) -> None:
    trip = packed(api)
    sample = api.ok("ada", "AddSample", "Sample", container=trip.containers[0], position="3", kind="mx-crystal",
                    name=f"xtal_{uid()}", attributes={"protein_acronym": "lyso"})
    got = api.ok("ada", "SampleHistory", "Sample", id=sample["id"])
    assert got["container"]["barcode"] == trip.containers[0]
    assert got["history"][0]["event"] == "Registered" and got["history"][0]["entity"] == "Sample"
    api.refused("jacques", "SampleHistory", "NotFoundError", id=sample["id"])


@case("DewarAsOf")
def _(api: Api) -> None:
    trip = packed(api)
    before = history(api, trip.dewar)[-1]["time"]
    api.ok("ada", "MarkSent", "Shipment", shipmentId=trip.shipment_id)
    then = api.ok("ada", "DewarAsOf", "Dewar", barcode=trip.dewar, asOf=before)
    assert (then["workflow"], then["where"]["kind"]) == ("registered", "offsite")
    now = api.ok("ada", "Lookup", "Dewar", barcode=trip.dewar)
    assert now["workflow"] == "sent"
    api.refused("ada", "DewarAsOf", "NotFoundError", barcode=trip.dewar, asOf="2001-01-01T00:00:00+00:00")


@case("ContainerAsOf")
def _(api: Api) -> None:
    trip = arrived(api)
    puck = trip.containers[0]
    before = api.ok("ada", "ContainerHistory", "Container", barcode=puck)["history"][-1]["time"]
    api.ok("beamline", "LoadContainer", "Container", barcode=puck, instrument="i04-1",
           position=free_position(api, "i04-1"))
    then = api.ok("ada", "ContainerAsOf", "Container", barcode=puck, asOf=before)
    assert then["loaded"] is None and then["barcode"] == puck
    assert api.ok("ada", "Lookup", "Container", barcode=puck)["loaded"]["instrument"] == "i04-1"
    api.ok("beamline", "UnloadContainer", "Container", barcode=puck)
    api.refused("dorothy", "ContainerAsOf", "UnknownBarcodeError", barcode=puck, asOf=before)


@case("Me")
def _(api: Api) -> None:
    assert api.run("ada", "Me")["me"] == {"name": "ada", "roles": ["member"], "proposals": [ADA], "station": "web"}
    desk = api.run("stores-desk-1", "Me")["me"]
    assert (desk["name"], desk["roles"], desk["station"]) == ("stores-desk-1", ["stores"], "stores-desk-1")


@case("Catalogue")
def _(api: Api) -> None:
    data = api.run("ada", "Catalogue")
    unipuck = next(t for t in data["containerTypes"] if t["code"] == "unipuck")
    assert unipuck["capacity"] == 16 and "sample-changer" in unipuck["goesInto"]
    crystal = next(k for k in data["sampleKinds"] if k["code"] == "mx-crystal")
    assert "protein_acronym" in crystal["schema"]["required"]
    assert list(crystal["schema"]["properties"])[:2] == ["name", "protein_acronym"]  # the schema's own order
    assert {i["name"] for i in data["instruments"]} >= {"i03", "i04", "m02", "b21"}
    assert "loc-goods-in" in {loc["code"] for loc in data["locations"]}


@case("LabContacts")
def _(api: Api) -> None:
    contacts = api.result("ada", "LabContacts", proposal=ADA)
    assert contacts and all(c["id"] and c["name"] for c in contacts)
    assert api.result("dorothy", "LabContacts", proposal=ADA) == []  # another proposal's: nothing


# --- subscriptions over a websocket --------------------------------------------------------------

def ws_url(server: Any) -> str:
    return server.url.replace("http://", "ws://", 1) + "/graphql"


class Feed:
    """What a subscription delivers, read with a deadline."""

    def __init__(self, queue: asyncio.Queue[Any]):
        self.queue = queue
        self.seen: list[dict[str, Any]] = []

    async def until(self, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                item = await asyncio.wait_for(self.queue.get(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                raise AssertionError(f"no such event within {timeout} s; got {[_brief(e) for e in self.seen]}") from None
            if isinstance(item, BaseException):
                raise item
            self.seen.append(item)
            if predicate(item):
                return item

    async def live(self, poke: Callable[[], Any], predicate: Callable[[dict[str, Any]], bool]) -> None:
        """Make a change this subscription will see until it arrives: from then on the subscription is
        certainly reading (a subscription starts at the head of the event log when the server gets it)."""
        for _ in range(30):
            await asyncio.to_thread(poke)
            with contextlib.suppress(AssertionError):
                await self.until(predicate, 0.5)
                return
        raise AssertionError("the subscription delivered nothing")


def _brief(e: dict[str, Any]) -> str:
    return f"{e['barcode']}:{e['event']['event']}@{e['location'] or e['instrument']}({e['proposal']})"


@contextlib.asynccontextmanager
async def subscribe(server: Any, who: str, name: str, /, **variables: Any) -> AsyncIterator[Feed]:
    op = OPERATIONS[name]
    assert op.kind == "subscription"
    transport = WebsocketsTransport(url=ws_url(server), headers={"Authorization": f"Bearer {server.tokens[who]}"},
                                    subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
    queue: asyncio.Queue[Any] = asyncio.Queue()
    async with Client(transport=transport, schema=SCHEMA) as session:
        async def pump() -> None:
            try:
                request = GraphQLRequest(op.document, variable_values=variables, operation_name=name)
                async for result in session.subscribe(request):
                    await queue.put(result["events"])
            except asyncio.CancelledError:
                raise
            except BaseException as e:  # a transport or GraphQL error: the reader raises it
                await queue.put(e)
        task = asyncio.create_task(pump())
        try:
            yield Feed(queue)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def is_event(barcode: str, event: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["barcode"] == barcode and e["event"]["event"] == event


def account_actor(server: Any, username: str) -> str:
    from logistics.adapters.accounts import Accounts
    from logistics.adapters.database import Database
    engine = Database.from_url(server.database_url).engine()
    try:
        return Accounts(engine).by_username(username).actor
    finally:
        engine.dispose()


@case("StoresFeed")
def _(api: Api) -> None:
    """The stores page's feed of a location shows, within seconds, a scan another client made there."""
    location = fresh_location(api)
    probe = arrived(api, location=location, containers=0)
    trip = sent(api, containers=0)

    async def watch() -> dict[str, Any]:
        async with subscribe(api.server, "stores", "StoresFeed", location=location) as feed:
            await feed.live(lambda: api.ok("stores", "TopUp", "Dewar", barcode=probe.dewar),
                            is_event(probe.dewar, "ToppedUp"))
            scan = await asyncio.to_thread(api.ok, "stores-desk-1", "ScanDewar", "Scan", barcode=trip.dewar,
                                           location=location)
            assert scan["changed"] is True
            return await feed.until(lambda e: e["barcode"] == trip.dewar, FEED_SECONDS)

    event = asyncio.run(watch())
    assert (event["entityType"], event["location"], event["proposal"]) == ("dewar", location, ADA)
    assert event["event"]["event"] == "Arrived" and event["event"]["entity"] == "Dewar"
    assert event["event"]["station"] == "stores-desk-1"
    assert event["event"]["actor"] == account_actor(api.server, "stores-desk-1")
    assert event["event"]["data"]["location"] == location


@case("BeamlineFeed")
def _(api: Api) -> None:
    """The beamline page's feed of an instrument shows a container loaded into its sample changer."""
    instrument = "i04-1"
    trip = arrived(api)
    api.ok("beamline", "TakeToInstrument", "Dewar", barcode=trip.dewar, instrument=instrument)
    position = free_position(api, instrument)

    async def watch() -> dict[str, Any]:
        async with subscribe(api.server, "beamline", "BeamlineFeed", instrument=instrument) as feed:
            await feed.live(lambda: api.ok("stores", "TopUp", "Dewar", barcode=trip.dewar),
                            is_event(trip.dewar, "ToppedUp"))
            await asyncio.to_thread(api.ok, "beamline", "LoadContainer", "Container", barcode=trip.containers[0],
                                    instrument=instrument, position=position)
            return await feed.until(is_event(trip.containers[0], "Loaded"), FEED_SECONDS)

    event = asyncio.run(watch())
    assert (event["entityType"], event["instrument"], event["proposal"]) == ("container", instrument, ADA)
    assert event["event"]["data"]["position"] == position
    assert event["event"]["actor"] == account_actor(api.server, "beamline")
    api.ok("beamline", "UnloadContainer", "Container", barcode=trip.containers[0])


# notifications.graphql: what each person is told, and the outbox for admins

@case("NotificationSettings")
def _(api: Api) -> None:
    settings = api.result("rosalind", "NotificationSettings")
    kinds = {(s["kind"], s["proposal"]) for s in settings}
    assert {("DEWAR_ARRIVED", None), ("DEWAR_ARRIVED", ADA), ("DISPATCHED", ADA)} <= kinds
    assert not any(s["proposal"] == DOROTHY for s in settings)
    assert api.result("stores-desk-1", "NotificationSettings") == []  # a station has no person to tell


@case("SetNotificationSetting")
def _(api: Api) -> None:
    chosen = api.ok("rosalind", "SetNotificationSetting", "NotificationSetting", kind="DEWAR_STALE",
                    delivery="DIGEST", proposal=ADA)
    assert (chosen["delivery"], chosen["isDefault"]) == ("DIGEST", False)
    api.refused("rosalind", "SetNotificationSetting", "NotFoundError", kind="DEWAR_STALE", delivery="OFF",
                proposal=DOROTHY)
    api.ok("rosalind", "SetNotificationSetting", "NotificationSetting", kind="DEWAR_STALE", delivery="IMMEDIATE",
           proposal=ADA)


@case("Outbox")
def _(api: Api) -> None:
    page = api.ok("admin", "Outbox", "OutboxPage", status="PENDING", first=5)
    assert all(m["status"] == "PENDING" for m in page["messages"])
    api.refused("ada", "Outbox", "AccessDeniedError")
    api.refused("stores", "Outbox", "AccessDeniedError")


# --- the tests --------------------------------------------------------------------------------------

def test_every_operation_in_the_contract_has_a_case() -> None:
    assert set(CASES) == set(OPERATIONS), (f"operations without a case: {sorted(set(OPERATIONS) - set(CASES))}; "
                                           f"cases without an operation: {sorted(set(CASES) - set(OPERATIONS))}")


@pytest.mark.parametrize("name", sorted(OPERATIONS), ids=lambda n: f"{OPERATIONS[n].file}:{n}")
def test_the_operation_runs_as_its_role(name: str, api: Api) -> None:
    CASES[name](api)


def test_a_members_feed_never_shows_another_proposals_dewars(api: Api) -> None:
    location = fresh_location(api)
    probe = arrived(api, location=location, containers=0)  # ada's
    theirs = sent(api, who="dorothy", proposal=DOROTHY, containers=0)
    mine = sent(api, containers=0)

    async def watch() -> list[dict[str, Any]]:
        async with subscribe(api.server, "ada", "StoresFeed", location=location) as feed:
            await feed.live(lambda: api.ok("stores", "TopUp", "Dewar", barcode=probe.dewar),
                            is_event(probe.dewar, "ToppedUp"))
            # dorothy's dewar arrives first, then ada's: the feed is in order, so had dorothy's been
            # delivered it would be seen before ada's
            await asyncio.to_thread(api.ok, "stores-desk-1", "ScanDewar", "Scan", barcode=theirs.dewar,
                                    location=location)
            await asyncio.to_thread(api.ok, "stores-desk-1", "ScanDewar", "Scan", barcode=mine.dewar,
                                    location=location)
            await feed.until(is_event(mine.dewar, "Arrived"), FEED_SECONDS)
            await asyncio.to_thread(api.ok, "stores", "TopUp", "Dewar", barcode=theirs.dewar)
            await asyncio.to_thread(api.ok, "stores", "ReportDamage", "Dewar", barcode=theirs.dewar,
                                    description="dented")
            await asyncio.to_thread(api.ok, "stores", "TopUp", "Dewar", barcode=mine.dewar)
            await feed.until(is_event(mine.dewar, "ToppedUp"), FEED_SECONDS)
            return feed.seen

    seen = asyncio.run(watch())
    assert {e["proposal"] for e in seen} == {ADA}, [_brief(e) for e in seen]
    assert theirs.dewar not in {e["barcode"] for e in seen}
    assert any(is_event(mine.dewar, "Arrived")(e) for e in seen)


def _refusal(error: BaseException) -> tuple[str, int | None]:
    """How the server refused a websocket: ('http', status) at the handshake or ('close', code) after it."""
    seen: set[int] = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, websockets.exceptions.InvalidStatus):
            return "http", e.response.status_code
        if isinstance(e, websockets.exceptions.ConnectionClosed):
            return "close", e.rcvd.code if e.rcvd else None
        e = e.__cause__ or e.__context__
    raise AssertionError(f"not a refusal: {error!r}")


async def _anonymous_subscription(server: Any, headers: dict[str, str]) -> tuple[str, int | None]:
    transport = WebsocketsTransport(url=ws_url(server), headers=headers,
                                    subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
    op = OPERATIONS["StoresFeed"]
    try:
        async with Client(transport=transport, schema=SCHEMA) as session:
            request = GraphQLRequest(op.document, variable_values={"location": "loc-goods-in"},
                                     operation_name="StoresFeed")
            async for result in session.subscribe(request):
                raise AssertionError(f"an anonymous websocket received {result}")
    except TransportError as error:
        return _refusal(error)
    raise AssertionError("an anonymous websocket was not refused")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer lgx_00000000_not-a-token"}],
                         ids=["no token", "unknown token"])
def test_a_websocket_without_a_valid_token_is_closed_with_4401(server: Any, headers: dict[str, str]) -> None:
    """Accepted, then closed with 4401 (graphql-transport-ws's Unauthorized) before any data: the client sees why."""
    assert asyncio.run(_anonymous_subscription(server, headers)) == ("close", 4401)
