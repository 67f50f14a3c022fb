"""Who may see and do what, through the served API.

The rule: a member sees and changes only their own proposals' things; another proposal's
things look exactly like things that do not exist, in lists, in answers and in errors.
Staff commands need a staff role; admins may do everything. Every request is authenticated.
"""

from __future__ import annotations

import inspect
import json
import random
import re
import time
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from logistics.domain.identifiers import MailInBarcode
from logistics.service_layer.access import rule_of
from logistics.service_layer.session import Session
from tests.api.conftest import cli
from tests.api.introspection import graphql_type

OWN, FOREIGN, STORES, BEAMLINE, ADMIN, STATION = "ada", "dorothy", "stores", "beamline", "admin", "stores-desk-1"
ROLES = [OWN, FOREIGN, STORES, BEAMLINE, ADMIN, STATION]
SEES = {OWN, STORES, BEAMLINE, ADMIN, STATION}  # who sees mx23694's things
PROPOSAL = "mx23694"
PROBLEMS = {"UnknownBarcodeError", "InvalidBarcodeError", "InvalidValueError", "NotPermittedError",
            "AccessDeniedError", "NotFoundError", "AlreadyExistsError"}
PROBLEM = "... on Problem { message code }"
HISTORY = "history { version event time actor station data }"

INTROSPECTION = """{ __schema { mutationType { fields { name
  args { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
  queryType { fields { name } } } }"""




class Api:
    def __init__(self, server: Any):
        self.server = server
        schema = server.gql("admin", INTROSPECTION)["__schema"]
        self.args = {f["name"]: {a["name"]: graphql_type(a["type"]) for a in f["args"]} for f in schema["mutationType"]["fields"]}
        self.queries = {f["name"] for f in schema["queryType"]["fields"]}

    def post(self, who: str, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        with self.server.client(who) as c:
            response = c.post("/graphql", json={"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text[:2000]
        assert "errors" not in response.json(), response.json()["errors"]
        return response

    def data(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        return self.post(who, query, variables).json()["data"]

    def mutation(self, name: str, keys: list[str]) -> str:
        declared = ", ".join(f"${k}: {self.args[name][k]}" for k in keys)
        used = ", ".join(f"{k}: ${k}" for k in keys)
        return f"mutation({declared}) {{ r: {name}({used}) {{ __typename {PROBLEM} }} }}"


@pytest.fixture(scope="module")
def api(server: Any) -> Api:
    return Api(server)


@pytest.fixture(scope="module")
def world(api: Api) -> dict[str, Any]:
    """mx23694's things (found by an admin's queries), things that do not exist, and every string
    of mx23694's that must never reach a member of another proposal."""
    shipments = api.data(ADMIN, """query($p: String) { shipments(proposal: $p, first: 200) { edges { node { id name
        dewars { id barcode containers { id barcode samples { id name } children { id barcode } } } } } } }""",
                         p=PROPOSAL)["shipments"]["edges"]
    by_name = {e["node"]["name"]: e["node"] for e in shipments}
    run1, run2, draft = by_name["Efflux pumps run 1"], by_name["Efflux pumps run 2"], by_name["Efflux pumps run 3 (draft)"]
    markers = {PROPOSAL, "Ada Lovelace", "Rosalind Franklin", "ada.lovelace@example.ac.uk", "r.franklin@example.ac.uk",
               "Structural biology of bacterial efflux pumps"}
    for s in (e["node"] for e in shipments):
        markers |= {s["id"], s["name"]}
        for d in s["dewars"]:
            markers |= {d["id"], d["barcode"]}
            for c in d["containers"]:
                markers |= {c["id"], c["barcode"], *(x["id"] for x in c["samples"]), *(x["name"] for x in c["samples"]),
                            *(x["barcode"] for x in c["children"])}
    containers = api.data(ADMIN, "query($p: String) { containers(proposal: $p, first: 500) { edges { node { id barcode } } } }",
                          p=PROPOSAL)["containers"]["edges"]
    markers |= {e["node"]["barcode"] for e in containers} | {e["node"]["id"] for e in containers}
    puck = run1["dewars"][0]["containers"][0]
    return {
        "dewar": run1["dewars"][0]["barcode"], "container": puck["barcode"], "shipment": run1["id"],
        "sample": puck["samples"][0]["id"],
        "draft_shipment": draft["id"], "draft_dewar": draft["dewars"][0]["barcode"],
        "requested_puck": run2["dewars"][0]["containers"][0]["barcode"],
        "requested_sample": run2["dewars"][0]["containers"][0]["samples"][0]["id"],
        "missing_dewar": str(MailInBarcode.allocate(PROPOSAL, 9, "i03", random.randint(9_000_000, 9_999_000))),
        "missing_container": f"CPS-{random.randint(100000, 999999)}",
        "missing_id": str(uuid.uuid4()),
        "markers": markers,
    }


def assert_no_foreign(text: str, world: dict[str, Any]) -> None:
    found = sorted(m for m in world["markers"] if m and m.lower() in text.lower())
    assert not found, f"another proposal's data in the answer: {found}: {text[:1500]}"


def same_as_missing(api: Api, who: str, query: str, variables: dict[str, Any], key: str, real: str,
                    missing: str, world: dict[str, Any]) -> dict[str, Any]:
    """The answer about a foreign thing is the answer about a thing that does not exist, word for word."""
    foreign = api.post(who, query, {**variables, key: real}).text
    absent = api.post(who, query, {**variables, key: missing}).text
    real, missing = real.strip(), missing.strip()  # as echoed inside the JSON (noise around it is escaped)
    assert foreign.replace(real, "<code>") == absent.replace(missing, "<code>"), (foreign, absent)
    assert_no_foreign(foreign.replace(real, "<code>"), world)
    return json.loads(foreign)["data"]


# --- every query field, for every role ----------------------------------------------------------

ME = {
    OWN: {"name": "ada", "roles": ["member"], "proposals": ["mx23694"], "station": "web"},
    FOREIGN: {"name": "dorothy", "roles": ["member"], "proposals": ["mx31020"], "station": "web"},
    STORES: {"name": "stores", "roles": ["stores"], "proposals": [], "station": "web"},
    BEAMLINE: {"name": "beamline", "roles": ["beamline"], "proposals": [], "station": "web"},
    ADMIN: {"name": "admin", "roles": ["admin"], "proposals": [], "station": "web"},
    STATION: {"name": "stores-desk-1", "roles": ["stores"], "proposals": [], "station": "stores-desk-1"},
}


@pytest.mark.parametrize("who", ROLES)
def test_me(api: Api, who: str) -> None:
    assert api.data(who, "{ me { name roles proposals station } }")["me"] == ME[who]


def test_a_station_cannot_claim_another_station_but_a_person_at_a_shared_desk_may_name_it(api: Api) -> None:
    with api.server.client(STATION) as c:
        body = c.post("/graphql", json={"query": "{ me { station } }"}, headers={"X-Logistics-Station": "spoof"}).json()
    assert body["data"]["me"]["station"] == "stores-desk-1"
    with api.server.client(STORES) as c:
        body = c.post("/graphql", json={"query": "{ me { station } }"}, headers={"X-Logistics-Station": "goods-in-2"}).json()
    assert body["data"]["me"]["station"] == "goods-in-2"


ENTITY_QUERIES = {
    # field: (query, variable, world key of the real thing, world key of a missing one, success type)
    "lookup": ("query($b: String!) { r: lookup(barcode: $b) { __typename ... on Dewar { barcode proposal " + HISTORY + " } "
               "... on Container { barcode " + HISTORY + " } " + PROBLEM + " } }", "b", "dewar", "missing_dewar", "Dewar"),
    "lookup-container": ("query($b: String!) { r: lookup(barcode: $b) { __typename ... on Container { barcode "
                         + HISTORY + " } " + PROBLEM + " } }", "b", "container", "missing_container", "Container"),
    "dewar": ("query($b: String!) { r: dewar(barcode: $b) { __typename ... on Dewar { barcode proposal "
              "shipment { id name } containers { barcode } " + HISTORY + " } " + PROBLEM + " } }",
              "b", "dewar", "missing_dewar", "Dewar"),
    "dewar-asOf": ("query($b: String!) { r: dewar(barcode: $b, asOf: \"2999-01-01T00:00:00Z\") { __typename "
                   "... on Dewar { barcode proposal " + HISTORY + " } " + PROBLEM + " } }",
                   "b", "dewar", "missing_dewar", "Dewar"),
    "container": ("query($b: String!) { r: container(barcode: $b) { __typename ... on Container { barcode proposal "
                  "dewar { barcode } samples { name } " + HISTORY + " } " + PROBLEM + " } }",
                  "b", "container", "missing_container", "Container"),
    "container-asOf": ("query($b: String!) { r: container(barcode: $b, asOf: \"2999-01-01T00:00:00Z\") { __typename "
                       "... on Container { barcode " + HISTORY + " } " + PROBLEM + " } }",
                       "b", "container", "missing_container", "Container"),
    "shipment": ("query($i: ID!) { r: shipment(id: $i) { __typename ... on Shipment { id name proposal "
                 "dewars { barcode } " + HISTORY + " } " + PROBLEM + " } }", "i", "shipment", "missing_id", "Shipment"),
    "shipment-asOf": ("query($i: ID!) { r: shipment(id: $i, asOf: \"2999-01-01T00:00:00Z\") { __typename "
                      "... on Shipment { id " + HISTORY + " } " + PROBLEM + " } }", "i", "shipment", "missing_id", "Shipment"),
    "sample": ("query($i: ID!) { r: sample(id: $i) { __typename ... on Sample { id name proposal attributes "
               "container { barcode } " + HISTORY + " } " + PROBLEM + " } }", "i", "sample", "missing_id", "Sample"),
    "sample-asOf": ("query($i: ID!) { r: sample(id: $i, asOf: \"2999-01-01T00:00:00Z\") { __typename "
                    "... on Sample { id " + HISTORY + " } " + PROBLEM + " } }", "i", "sample", "missing_id", "Sample"),
}


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("field", list(ENTITY_QUERIES))
def test_one_thing_and_its_history(api: Api, world: dict[str, Any], field: str, who: str) -> None:
    query, variable, real, missing, typename = ENTITY_QUERIES[field]
    if who in SEES:
        result = api.data(who, query, **{variable: world[real]})["r"]
        assert result["__typename"] == typename, result
        assert result["history"] and result["history"][0]["event"] == "Registered"
        assert [e["version"] for e in result["history"]] == list(range(1, len(result["history"]) + 1))
        missing_result = api.data(who, query, **{variable: world[missing]})["r"]
        assert missing_result["__typename"] in ("UnknownBarcodeError", "NotFoundError"), missing_result
        return
    result = same_as_missing(api, who, query, {}, variable, world[real], world[missing], world)["r"]
    assert result["__typename"] in ("UnknownBarcodeError", "NotFoundError"), result


@pytest.mark.parametrize("who", [FOREIGN, "jacques"])
def test_a_foreign_member_gets_the_missing_answer_for_every_kind_of_thing(api: Api, world: dict[str, Any], who: str) -> None:
    for field, (query, variable, real, missing, _) in ENTITY_QUERIES.items():
        result = same_as_missing(api, who, query, {}, variable, world[real], world[missing], world)["r"]
        assert result["__typename"] in ("UnknownBarcodeError", "NotFoundError"), (field, result)
    # a foreign container asked for as a dewar (and the other way round) is still just unknown
    dewar_q, container_q = ENTITY_QUERIES["dewar"][0], ENTITY_QUERIES["container"][0]
    same_as_missing(api, who, dewar_q, {}, "b", world["container"], world["missing_container"], world)
    same_as_missing(api, who, container_q, {}, "b", world["dewar"], world["missing_dewar"], world)
    # and typed differently, as a scanner would
    same_as_missing(api, who, dewar_q, {}, "b", f"  {world['dewar'].upper()}\r\n", f"  {world['missing_dewar'].upper()}\r\n", world)


CHANGER = ("{ sampleChanger(instrument: \"i03\") { __typename ... on SampleChanger { instrument "
           "positions { position occupied container { barcode proposal } } } } }")


@pytest.mark.parametrize("who", ROLES)
def test_sample_changer(api: Api, world: dict[str, Any], who: str) -> None:
    response = api.post(who, CHANGER)
    positions = {p["position"]: p for p in response.json()["data"]["sampleChanger"]["positions"]}
    assert len(positions) == 37
    for position, barcode in (("5", "CPS-1001"), ("6", "CPS-1002")):
        assert positions[position]["occupied"] is True
        if who in SEES:
            assert positions[position]["container"] == {"barcode": barcode, "proposal": PROPOSAL}
        else:
            assert positions[position]["container"] is None
    if who not in SEES:
        assert_no_foreign(response.text, world)


LISTS = {
    "shipments": "query($p: String) { r: shipments(proposal: $p, first: 500) { edges { node { id name proposal "
                 "dewars { barcode } } } pageInfo { hasNextPage endCursor } } }",
    "dewars": "query($p: String) { r: dewars(proposal: $p, first: 500) { edges { node { barcode proposal "
              "shipment { name } containers { barcode } } } pageInfo { hasNextPage } } }",
    "containers": "query($p: String) { r: containers(proposal: $p, first: 500) { edges { node { barcode proposal "
                  "samples { name } dewar { barcode } } } pageInfo { hasNextPage } } }",
}


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("field", list(LISTS))
def test_lists(api: Api, world: dict[str, Any], field: str, who: str) -> None:
    mine = api.post(who, LISTS[field], {"p": PROPOSAL})
    everything = api.post(who, LISTS[field], {"p": None})
    nodes = [e["node"] for e in mine.json()["data"]["r"]["edges"]]
    every = [e["node"] for e in everything.json()["data"]["r"]["edges"]]
    if who in SEES:
        assert nodes and {n["proposal"] for n in nodes} == {PROPOSAL}
        proposals = {n["proposal"] for n in every}
        assert PROPOSAL in proposals
        assert (proposals == {PROPOSAL}) == (who == OWN), proposals
    else:
        assert nodes == []
        assert every and PROPOSAL not in {n["proposal"] for n in every}
        assert {n["proposal"] for n in every} == {"mx31020"}
        assert_no_foreign(mine.text + everything.text, world)


@pytest.mark.parametrize("who", ROLES)
def test_lists_by_place_and_instrument(api: Api, world: dict[str, Any], who: str) -> None:
    response = api.post(who, """{ at: dewars(location: "loc-stores-a2") { edges { node { barcode } } }
        inUse: dewars(workflow: "in-use") { edges { node { barcode } } }
        loaded: containers(loadedInstrument: "i03") { edges { node { barcode } } }
        pucks: containers(type: "unipuck", first: 500) { edges { node { barcode } } } }""")
    data = response.json()["data"]
    barcodes = {k: {e["node"]["barcode"] for e in v["edges"]} for k, v in data.items()}
    if who in SEES:
        assert world["dewar"] in barcodes["inUse"]
        assert {"CPS-1001", "CPS-1002"} <= barcodes["loaded"]
        assert {"CPS-1001", "CPS-1003"} <= barcodes["pucks"]
        assert barcodes["at"]
    else:
        assert barcodes["loaded"] == set() and barcodes["at"] == set()
        assert_no_foreign(response.text, world)


@pytest.mark.parametrize("who", ROLES)
def test_unexpected_arrivals_are_for_staff(api: Api, world: dict[str, Any], who: str) -> None:
    response = api.post(who, "{ unexpectedArrivals(first: 500) { edges { node { barcode unexpected proposal } } } }")
    nodes = [e["node"] for e in response.json()["data"]["unexpectedArrivals"]["edges"]]
    if who in (OWN, FOREIGN):
        assert nodes == []
    else:
        assert {"barcode": "UNI-77812", "unexpected": True, "proposal": None} in nodes


@pytest.mark.parametrize("who", ROLES)
def test_reference_lists_are_for_everyone(api: Api, who: str) -> None:
    query = "{ locations { code name kind } instruments { name title technique changerModel changerPositions } " \
            "containerTypes { code name capacity holdsSamples holdsContainers goesInto } " \
            "sampleKinds { code name technique goesInto schema } }"
    assert api.data(who, query) == api.data(ADMIN, query)
    data = api.data(who, query)
    assert "loc-goods-in" in {l["code"] for l in data["locations"]}
    i03 = next(i for i in data["instruments"] if i["name"] == "i03")
    assert (i03["changerModel"], i03["changerPositions"]) == ("BART", 37)
    assert {"unipuck", "cane"} <= {t["code"] for t in data["containerTypes"]}
    assert "mx-crystal" in {k["code"] for k in data["sampleKinds"]}


@pytest.mark.parametrize("who", ROLES)
def test_lab_contacts(api: Api, world: dict[str, Any], who: str) -> None:
    query = "query($p: String!) { labContacts(proposal: $p) { id label name } }"
    if who in (STORES, BEAMLINE, STATION):  # staff and stations: addresses only on the labels they print
        assert api.data(who, query, p=PROPOSAL)["labContacts"] == []
        return
    if who in SEES:
        contacts = api.data(who, query, p=PROPOSAL)["labContacts"]
        assert {"label": "Oxford lab", "name": "Ada Lovelace"} in [{k: c[k] for k in ("label", "name")} for c in contacts]
        return
    foreign = api.post(who, query, {"p": PROPOSAL})
    assert foreign.json()["data"]["labContacts"] == []
    assert foreign.text == api.post(who, query, {"p": "zz99999"}).text
    assert_no_foreign(foreign.text, world)
    own = api.data(who, query, p="mx31020")["labContacts"]
    assert [c["name"] for c in own] == ["Dorothy Hodgkin"]


@pytest.mark.parametrize("who", ROLES)
def test_notification_settings_and_the_outbox(api: Api, world: dict[str, Any], who: str) -> None:
    response = api.post(who, "{ notificationSettings { kind proposal delivery isDefault } "
                             "outbox(first: 5) { __typename ... on OutboxPage { messages { id kind proposal } } "
                             + PROBLEM + " } }")
    data = response.json()["data"]
    proposals = {s["proposal"] for s in data["notificationSettings"]}
    if who in (OWN, FOREIGN):
        assert data["notificationSettings"] and None in proposals
        assert proposals - {None} == set(ME[who]["proposals"])
    else:
        assert data["notificationSettings"] == []  # staff accounts here are not linked to a person
    if who == ADMIN:
        assert data["outbox"]["__typename"] == "OutboxPage"
    else:
        assert data["outbox"]["__typename"] == "AccessDeniedError", data["outbox"]
    if who == FOREIGN:
        assert_no_foreign(response.text, world)


def test_every_query_field_is_in_the_matrix(api: Api) -> None:
    covered = {"me", "sampleChanger", "unexpectedArrivals", "locations", "instruments", "dewars", "containers", "shipments",
               "containerTypes", "sampleKinds", "labContacts", "notificationSettings", "outbox"} \
        | {f.split("-")[0] for f in ENTITY_QUERIES}
    assert api.queries == covered


# --- every mutation, for every role --------------------------------------------------------------

# Member commands, aimed at mx23694's things with input that the domain refuses once access is
# granted (so nothing changes): (arguments, the argument naming the thing, a missing stand-in,
# what an allowed caller gets).
MEMBER_PROBES: dict[str, tuple[dict[str, Any], str, str, str]] = {
    "createShipment": ({"proposal": PROPOSAL, "name": ""}, "proposal", "zz99999", "InvalidValueError"),
    "addMailInDewar": ({"shipmentId": "{draft_shipment}", "visit": 1, "beamline": "nope"}, "shipmentId", "{missing_id}",
                       "InvalidValueError"),
    "addFacilityDewar": ({"shipmentId": "{draft_shipment}", "facilityCode": "bad"}, "shipmentId", "{missing_id}",
                         "InvalidBarcodeError"),
    "addContainer": ({"barcode": "!", "type": "unipuck", "dewar": "{draft_dewar}"}, "dewar", "{missing_dewar}",
                     "InvalidBarcodeError"),
    "removeContainer": ({"barcode": "{requested_puck}"}, "barcode", "{missing_container}", "NotPermittedError"),
    "moveContainer": ({"barcode": "{requested_puck}", "dewar": "{draft_dewar}"}, "barcode", "{missing_container}",
                      "NotPermittedError"),
    "addSample": ({"container": "{requested_puck}", "position": "1", "kind": "nope", "name": "x", "attributes": {}},
                  "container", "{missing_container}", "InvalidValueError"),
    "removeSample": ({"id": "{requested_sample}"}, "id", "{missing_id}", "NotPermittedError"),
    "moveSample": ({"id": "{requested_sample}", "container": "{requested_puck}", "position": "1"}, "id", "{missing_id}",
                   "NotPermittedError"),
    "setCourier": ({"shipmentId": "{shipment}", "courier": "pigeon"}, "shipmentId", "{missing_id}", "InvalidValueError"),
    "markSent": ({"shipmentId": "{shipment}"}, "shipmentId", "{missing_id}", "NotPermittedError"),
    "cancelShipment": ({"shipmentId": "{shipment}"}, "shipmentId", "{missing_id}", "NotPermittedError"),
    "requestDispatch": ({"barcode": "{draft_dewar}"}, "barcode", "{missing_dewar}", "NotPermittedError"),
}
NOPE = "ZZ-NOPE-404"
# Staff commands: which roles run them, and a probe on a thing that does not exist.
STAFF_PROBES: dict[str, tuple[set[str], dict[str, Any], str]] = {
    "scanDewar": ({"stores"}, {"barcode": NOPE, "location": "loc-goods-in"}, "UnknownBarcodeError"),
    "moveDewar": ({"stores"}, {"barcode": NOPE, "location": "loc-goods-in"}, "UnknownBarcodeError"),
    "topUp": ({"stores"}, {"barcode": NOPE, "litres": 5.0}, "UnknownBarcodeError"),
    "checkContents": ({"stores"}, {"barcode": NOPE, "ok": True}, "UnknownBarcodeError"),
    "reportDamage": ({"stores"}, {"barcode": NOPE, "description": "dent"}, "UnknownBarcodeError"),
    "bookDispatch": ({"stores"}, {"barcode": NOPE, "courier": "dhl", "trackingNumber": "1234567891"}, "UnknownBarcodeError"),
    "cancelDispatch": ({"stores"}, {"barcode": NOPE, "reason": "user still measuring"}, "UnknownBarcodeError"),
    "scanOut": ({"stores"}, {"barcode": NOPE}, "UnknownBarcodeError"),
    "markReturned": ({"stores"}, {"barcode": NOPE}, "UnknownBarcodeError"),
    "closeDewar": ({"stores"}, {"barcode": NOPE}, "UnknownBarcodeError"),
    "recordUnexpectedArrival": ({"stores"}, {"barcode": "UNI-77812", "location": "loc-goods-in"}, "AlreadyExistsError"),
    "takeToInstrument": ({"beamline"}, {"barcode": NOPE, "instrument": "i03"}, "UnknownBarcodeError"),
    "loadContainer": ({"beamline"}, {"barcode": NOPE, "instrument": "i03", "position": "1"}, "UnknownBarcodeError"),
    "unloadContainer": ({"beamline"}, {"barcode": NOPE}, "UnknownBarcodeError"),
    "disposeContainer": ({"beamline"}, {"barcode": NOPE, "reason": "cracked"}, "UnknownBarcodeError"),
    "handBack": ({"beamline", "stores"}, {"barcode": NOPE, "location": "loc-goods-in"}, "UnknownBarcodeError"),
    "registerLocation": (set(), {"code": "not a location", "name": "x"}, "InvalidValueError"),
    "registerFacilityDewar": (set(), {"facilityCode": "not a code"}, "InvalidBarcodeError"),
    "registerProposal": (set(), {"code": PROPOSAL, "title": "again"}, "AlreadyExistsError"),
    "registerPerson": (set(), {"name": "x", "email": "no address"}, "InvalidValueError"),
    "addMember": (set(), {"proposal": "zz99999", "personId": "00000000-0000-0000-0000-000000000000", "role": "member"},
                  "NotFoundError"),
    "addLabContact": (set(), {"proposal": "not a proposal", "personId": "00000000-0000-0000-0000-000000000000",
                              "addressLines": ["x"], "country": "UK"}, "InvalidValueError"),
    "erasePerson": (set(), {"personId": "00000000-0000-0000-0000-000000000000"}, "NotFoundError"),
}
ACCOUNT_ROLES = {OWN: {"member"}, FOREIGN: {"member"}, STORES: {"stores"}, BEAMLINE: {"beamline"}, ADMIN: {"admin"},
                 STATION: {"stores"}}


def _fill(value: Any, world: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in world:
        return world[value[1:-1]]
    return value


def test_every_mutation_is_in_the_matrix(api: Api) -> None:
    assert set(api.args) == set(MEMBER_PROBES) | set(STAFF_PROBES) | {"setNotificationSetting"}
    assert not set(MEMBER_PROBES) & set(STAFF_PROBES)


def _method(mutation: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", mutation).lower()


def test_every_session_method_says_who_may_call_it() -> None:
    """The Session is the one door, and who may use each of its methods is declared next to it: a
    public method without a rule (or one that forgets that admins may do everything) fails here."""
    methods = {name: m for name, m in inspect.getmembers(Session, inspect.isfunction) if not name.startswith("_")}
    assert len(methods) > 40, sorted(methods)
    without = sorted(name for name, m in methods.items() if rule_of(m) is None)
    assert not without, f"Session methods that do not say who may call them (add @allowed(...)): {without}"
    no_admin = sorted(name for name, m in methods.items()
                      if not ({"admin", "everyone"} & rule_of(m).roles))  # type: ignore[union-attr]
    assert not no_admin, f"admins may do everything, but these methods leave them out: {no_admin}"


def test_the_matrix_and_the_session_declare_the_same_roles() -> None:
    """Each mutation's expected roles here are what its Session method declares."""
    for mutation, (roles, _, _) in STAFF_PROBES.items():
        rule = rule_of(getattr(Session, _method(mutation)))
        assert rule is not None and rule.staff_roles == roles | {"admin"} and not rule.for_members, (mutation, rule)
    for mutation in MEMBER_PROBES:
        rule = rule_of(getattr(Session, _method(mutation)))
        stores = {"stores"} if mutation == "requestDispatch" else set()
        assert rule is not None and rule.for_members and rule.staff_roles == stores | {"admin"}, (mutation, rule)


@pytest.mark.parametrize("who", ROLES)
def test_set_notification_setting(api: Api, world: dict[str, Any], who: str) -> None:
    query = api.mutation("setNotificationSetting", ["kind", "delivery", "proposal"])
    variables = {"kind": "DEWAR_STALE", "delivery": "IMMEDIATE"}
    if who == FOREIGN:
        result = same_as_missing(api, who, query, variables, "proposal", PROPOSAL, "zz99999", world)["r"]
        assert result["__typename"] == "NotFoundError"
        return
    result = api.data(who, query, **variables, proposal=PROPOSAL)["r"]
    if who == OWN:
        assert result["__typename"] == "NotificationSetting", result
    else:  # the staff accounts here are not people: they receive no e-mail
        assert result["__typename"] == "NotPermittedError", result


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("mutation", list(MEMBER_PROBES))
def test_member_commands(api: Api, world: dict[str, Any], mutation: str, who: str) -> None:
    arguments, key, missing, allowed = MEMBER_PROBES[mutation]
    arguments = {k: _fill(v, world) for k, v in arguments.items()}
    query = api.mutation(mutation, list(arguments))
    if who == FOREIGN:  # not AccessDenied: the same answer as for a thing that does not exist
        result = same_as_missing(api, who, query, arguments, key, arguments[key], _fill(missing, world), world)["r"]
        assert result["__typename"] in ("UnknownBarcodeError", "NotFoundError"), result
        return
    result = api.data(who, query, **arguments)["r"]
    may = who in (OWN, ADMIN) or (mutation == "requestDispatch" and "stores" in ACCOUNT_ROLES[who])
    if may:
        assert result["__typename"] == allowed, result
    else:
        assert result["__typename"] == "AccessDeniedError", result
        assert result["code"] == "access_denied"


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("mutation", list(STAFF_PROBES))
def test_staff_commands(api: Api, world: dict[str, Any], mutation: str, who: str) -> None:
    roles, arguments, allowed = STAFF_PROBES[mutation]
    query = api.mutation(mutation, list(arguments))
    result = api.data(who, query, **arguments)["r"]
    if who == ADMIN or roles & ACCOUNT_ROLES[who]:
        assert result["__typename"] == allowed, result
        return
    assert result["__typename"] == "AccessDeniedError", result
    assert result["code"] == "access_denied"
    assert all(role in result["message"] for role in (roles | {"admin"})), result["message"]
    if "barcode" in arguments and who in (OWN, FOREIGN):
        # aimed at mx23694's real dewar, a member is refused in the same words, and learns nothing
        response = api.post(who, query, {**arguments, "barcode": world["dewar"]})
        assert response.json()["data"]["r"] == result
        if who == FOREIGN:
            assert_no_foreign(response.text, world)


def test_a_members_staff_commands_on_their_own_things_change_nothing(api: Api, world: dict[str, Any]) -> None:
    before = api.data(OWN, "query($b: String!) { dewar(barcode: $b) { ... on Dewar { workflow where { code } "
                           "history { version } } } }", b=world["dewar"])
    for mutation, (_, arguments, _) in STAFF_PROBES.items():
        if "barcode" in arguments:
            real = {**arguments, "barcode": world["dewar"]}
            result = api.data(OWN, api.mutation(mutation, list(real)), **real)["r"]
            assert result["__typename"] == "AccessDeniedError", (mutation, result)
    after = api.data(OWN, "query($b: String!) { dewar(barcode: $b) { ... on Dewar { workflow where { code } "
                          "history { version } } } }", b=world["dewar"])
    assert after == before


def test_the_foreign_member_commands_named_in_the_rule(api: Api, world: dict[str, Any]) -> None:
    """createShipment for a foreign proposal, addContainer into a foreign dewar, markSent of a foreign shipment."""
    create = api.mutation("createShipment", ["proposal", "name"])
    result = same_as_missing(api, FOREIGN, create, {"name": "Mine now"}, "proposal", PROPOSAL, "zz99999", world)["r"]
    assert result["__typename"] == "NotFoundError"
    add = api.mutation("addContainer", ["barcode", "type", "dewar"])
    result = same_as_missing(api, FOREIGN, add, {"barcode": f"DH-{uuid.uuid4().hex[:8]}", "type": "unipuck"},
                             "dewar", world["draft_dewar"], world["missing_dewar"], world)["r"]
    assert result["__typename"] == "UnknownBarcodeError"
    sent = api.mutation("markSent", ["shipmentId"])
    result = same_as_missing(api, FOREIGN, sent, {}, "shipmentId", world["draft_shipment"], world["missing_id"], world)["r"]
    assert result["__typename"] == "NotFoundError"
    # a foreign member's own dewar cannot take a foreign puck or sample either
    _, mine = _shipment_with_dewar(api, FOREIGN, "mx31020")
    move = api.mutation("moveContainer", ["barcode", "dewar"])
    same_as_missing(api, FOREIGN, move, {"dewar": mine}, "barcode", world["requested_puck"], world["missing_container"], world)
    nothing_changed = api.data(OWN, "query($s: ID!) { shipment(id: $s) { ... on Shipment { workflow } } }",
                               s=world["draft_shipment"])
    assert nothing_changed == {"shipment": {"workflow": "registered"}}


def test_an_admin_may_do_everything(api: Api) -> None:
    u = uuid.uuid4().hex[:8].upper()
    shipment = _call(api, ADMIN, "createShipment", "... on Shipment { id }", proposal=PROPOSAL, name=f"Admin {u}")
    dewar = _call(api, ADMIN, "addMailInDewar", "... on Dewar { barcode }", shipmentId=shipment["id"], visit=4,
                  beamline="i03")["barcode"]
    steps = [
        ("addContainer", {"barcode": f"ADM-{u}", "type": "unipuck", "dewar": dewar}, "Container"),
        ("markSent", {"shipmentId": shipment["id"]}, "Shipment"),
        ("scanDewar", {"barcode": dewar, "location": "loc-goods-in"}, "Scan"),
        ("takeToInstrument", {"barcode": dewar, "instrument": "i04-1"}, "Dewar"),
        ("requestDispatch", {"barcode": dewar}, "Dewar"),
        ("handBack", {"barcode": dewar, "location": "loc-dispatch"}, "Dewar"),
        ("bookDispatch", {"barcode": dewar, "courier": "dhl", "trackingNumber": "1234567891"}, "Dewar"),
        ("scanOut", {"barcode": dewar}, "Scan"),
        ("registerLocation", {"code": f"loc-admin-{u}", "name": "Admin shelf"}, "Done"),
    ]
    for mutation, arguments, typename in steps:
        result = _call(api, ADMIN, mutation, **arguments)
        assert result["__typename"] == typename, (mutation, result)


# --- the labels of a shipment (GET /shipments/{shipment}/labels) ---------------------------------

def _labels(api: Api, who: str | None, shipment: str) -> httpx.Response:
    path = f"/shipments/{quote(shipment)}/labels"
    if who is None:
        return httpx.get(api.server.url + path, timeout=60)
    with api.server.client(who) as c:
        return c.get(path, timeout=60)


@pytest.mark.parametrize("who", ROLES)
def test_shipment_labels(api: Api, world: dict[str, Any], who: str) -> None:
    by_name = "Efflux pumps run 3 (draft)"
    for shipment, missing in ((world["draft_shipment"], world["missing_id"]), (by_name, "No such shipment here")):
        response = _labels(api, who, shipment)
        if who in SEES:
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/pdf" and response.content.startswith(b"%PDF")
            continue
        absent = _labels(api, who, missing)
        assert response.status_code == absent.status_code == 404
        assert response.text.replace(shipment, "<s>") == absent.text.replace(missing, "<s>"), (response.text, absent.text)
        assert_no_foreign(response.text.replace(shipment, "<s>"), world)
    assert _labels(api, None, world["draft_shipment"]).status_code == 401


def test_labels_by_proposal_and_name_of_a_foreign_shipment_look_missing(api: Api, world: dict[str, Any]) -> None:
    real, missing = f"{PROPOSAL}/Efflux pumps run 3 (draft)", f"{PROPOSAL}/No such shipment here"
    response, absent = _labels(api, FOREIGN, real), _labels(api, FOREIGN, missing)
    assert response.status_code == absent.status_code == 404
    assert response.text.replace("Efflux pumps run 3 (draft)", "<s>") \
        == absent.text.replace("No such shipment here", "<s>"), (response.text, absent.text)
    assert world["draft_shipment"] not in response.text


# --- the web pages show a foreign member nothing more ------------------------------------------

PAGES = {  # page: (path of mx23694's thing, path of a missing one)
    "dewar": ("/dewars/{dewar}", "/dewars/{missing_dewar}"),
    "container": ("/containers/{container}", "/containers/{missing_container}"),
    "shipment": ("/shipments/{shipment}", "/shipments/{missing_id}"),
    "sample": ("/samples/{sample}", "/samples/{missing_id}"),
    "find": ("/find?barcode={container}", "/find?barcode={missing_container}"),
}


@pytest.mark.parametrize("who", [OWN, FOREIGN, STORES])
@pytest.mark.parametrize("page", list(PAGES))
def test_pages(api: Api, world: dict[str, Any], page: str, who: str) -> None:
    key = PAGES[page][0].rsplit("{", 1)[1].rstrip("}")
    missing_key = PAGES[page][1].rsplit("{", 1)[1].rstrip("}")
    real, missing = world[key], world[missing_key]
    with api.server.client(who) as c:
        response = c.get(PAGES[page][0].format(**world))
        if who in SEES:
            assert response.status_code in (200, 303), response.text[:500]
            return
        absent = c.get(PAGES[page][1].format(**world))
    assert response.status_code == absent.status_code == 404
    assert response.text.replace(real, "<x>") == absent.text.replace(missing, "<x>")
    assert_no_foreign(response.text.replace(real, "<x>"), world)


def test_the_sample_changer_page_is_for_staff_and_shows_a_member_nothing_of_others(api: Api, world: dict[str, Any]) -> None:
    with api.server.client(FOREIGN) as c:
        response = c.get("/beamline/i03")
    assert response.status_code == 403
    assert "This page is for" in response.text
    assert_no_foreign(response.text, world)


# --- authentication ------------------------------------------------------------------------------

def test_anonymous_requests_are_refused(api: Api) -> None:
    url = api.server.graphql
    for response in (httpx.post(url, json={"query": "{ me { name } }"}),
                     httpx.post(url, json={"query": "mutation { scanDewar(barcode: \"x\", location: \"y\") { __typename } }"}),
                     httpx.get(url, params={"query": "{ me { name } }"}),
                     httpx.post(url, json={"query": "{ me { name } }"}, headers={"Authorization": "Bearer"}),
                     httpx.post(url, json={"query": "{ me { name } }"}, headers={"Authorization": "Bearer lgx_00000000_forged"}),
                     httpx.post(url, json={"query": "{ me { name } }"}, headers={"Authorization": "Basic YWRhOmRlbW8tYWRh"}),
                     httpx.post(url, json={"query": "{ me { name } }"}, cookies={"logistics": "forged.cookie.value"})):
        assert response.status_code == 401, response.text
        assert "sign in" in response.json()["errors"][0]["message"]
        assert "data" not in response.json()


def test_a_revoked_token_is_refused(api: Api, tmp_path: Any) -> None:
    created = json.loads(cli(api.server.database_url, "token", "create", "--user", "rosalind", "--label", "matrix",
                             "--json", cwd=tmp_path))
    headers = {"Authorization": f"Bearer {created['token']}"}
    response = httpx.post(api.server.graphql, json={"query": "{ me { name proposals } }"}, headers=headers)
    assert response.status_code == 200
    assert response.json()["data"]["me"] == {"name": "rosalind", "proposals": ["mx23694"]}
    cli(api.server.database_url, "token", "revoke", created["id"], cwd=tmp_path)
    # the server looks a token up at most every 10 s, so a revocation by another process takes that long
    deadline = time.monotonic() + 15
    while True:
        response = httpx.post(api.server.graphql, json={"query": "{ me { name } }"}, headers=headers)
        if response.status_code != 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 401
    # a token revoked before it was ever used is refused at once
    unused = json.loads(cli(api.server.database_url, "token", "create", "--user", "rosalind", "--json", cwd=tmp_path))
    cli(api.server.database_url, "token", "revoke", unused["token"], cwd=tmp_path)
    response = httpx.post(api.server.graphql, json={"query": "{ me { name } }"},
                          headers={"Authorization": f"Bearer {unused['token']}"})
    assert response.status_code == 401
    assert "data" not in response.json()
    # the other tokens of the same account are untouched by it
    assert api.data(OWN, "{ me { name } }") == {"me": {"name": "ada"}}


def test_a_member_added_to_a_proposal_sees_it_on_the_very_next_request_with_the_same_token(api: Api, tmp_path: Any) -> None:
    """Tokens are remembered for a while (a scanner station's requests skip the accounts table),
    but a member's proposals are read afresh on every request: joining or leaving takes effect at once."""
    username, code = f"newbie{uuid.uuid4().hex[:6]}", f"mx{random.randint(90000, 99999)}"
    cli(api.server.database_url, "user", "add", username, "--role", "member", "--name", "New Bie",
        "--email", f"{username}@example.org", "--proposal", "mx23694", "--password-stdin", cwd=tmp_path,
        stdin="a long and unusual passphrase\n")
    token = json.loads(cli(api.server.database_url, "token", "create", "--user", username, "--json", cwd=tmp_path))["token"]
    headers = {"Authorization": f"Bearer {token}"}

    def proposals() -> list[str]:
        response = httpx.post(api.server.graphql, json={"query": "{ me { proposals } }"}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["data"]["me"]["proposals"]

    assert proposals() == ["mx23694"]
    assert api.data(ADMIN, "mutation($c: String!) { registerProposal(code: $c, title: \"Joined later\") { __typename } }",
                    c=code)["registerProposal"]["__typename"] == "Done"
    from logistics.adapters.accounts import Accounts
    from logistics.adapters.database import Database
    engine = Database.from_url(api.server.database_url).engine()
    try:
        person_id = Accounts(engine).by_username(username).person_id
    finally:
        engine.dispose()
    added = api.data(ADMIN, "mutation($c: String!, $p: ID!) { addMember(proposal: $c, personId: $p, role: \"member\") "
                            "{ __typename } }", c=code, p=person_id)
    assert added["addMember"]["__typename"] == "Done"
    assert proposals() == sorted(["mx23694", code])


def test_signing_in_with_a_password_gives_a_session_until_signing_out(api: Api) -> None:
    with httpx.Client(base_url=api.server.url, timeout=30) as c:
        for username, password in (("ada", "wrong-password"), ("ada", ""), ("nobody", "nobody-at-the-facility"), ("ADA", "ADA-AT-THE-FACILITY")):
            response = c.post("/login", json={"username": username, "password": password})
            assert response.status_code == 401, (username, response.text)
            assert response.json()["ok"] is False
            assert "wrong username or password" in response.json()["error"].lower()
            assert "logistics" not in c.cookies
        assert c.post("/graphql", json={"query": "{ me { name } }"}).status_code == 401
        response = c.post("/login", json={"username": "ada", "password": "ada-at-the-facility"})
        assert response.status_code == 200
        assert response.json() == {"ok": True, "name": "ada", "roles": ["member"]}
        response = c.post("/graphql", json={"query": "{ me { name proposals station } shipments { edges { node { proposal } } } }"})
        assert response.status_code == 200
        data = response.json()["data"]
        assert data["me"] == {"name": "ada", "proposals": ["mx23694"], "station": "web"}
        assert {e["node"]["proposal"] for e in data["shipments"]["edges"]} == {PROPOSAL}
        response = c.post("/logout", headers={"Accept": "application/json"})
        assert response.status_code == 200 and response.json() == {"ok": True}
        response = c.post("/graphql", json={"query": "{ me { name } }"})
        assert response.status_code == 401
    # a form sign-in (the login page) works the same way
    with httpx.Client(base_url=api.server.url, timeout=30) as c:
        assert c.post("/login", data={"username": "dorothy", "password": "wrong"}).status_code == 401
        response = c.post("/login", data={"username": "dorothy", "password": "dorothy-at-the-facility"})
        assert response.status_code == 303
        assert c.post("/graphql", json={"query": "{ me { name } }"}).json()["data"]["me"] == {"name": "dorothy"}
        assert c.post("/logout").status_code in (200, 303)
        assert c.post("/graphql", json={"query": "{ me { name } }"}).status_code == 401


def test_a_signed_in_member_is_still_bound_by_the_rule(api: Api, world: dict[str, Any]) -> None:
    with httpx.Client(base_url=api.server.url, timeout=30) as c:
        assert c.post("/login", json={"username": "dorothy", "password": "dorothy-at-the-facility"}).status_code == 200
        query = ENTITY_QUERIES["dewar"][0]
        foreign = c.post("/graphql", json={"query": query, "variables": {"b": world["dewar"]}}).text
        absent = c.post("/graphql", json={"query": query, "variables": {"b": world["missing_dewar"]}}).text
        assert foreign.replace(world["dewar"], "<code>") == absent.replace(world["missing_dewar"], "<code>")
        scan = c.post("/graphql", json={"query": api.mutation("scanDewar", ["barcode", "location"]),
                                        "variables": {"barcode": world["dewar"], "location": "loc-goods-in"}})
        assert scan.json()["data"]["r"]["__typename"] == "AccessDeniedError"


# --- bugs found: each documents the expected behaviour -------------------------------------------

def _call(api: Api, who: str, mutation: str, selection: str = "", /, **kwargs: Any) -> dict[str, Any]:
    query = api.mutation(mutation, list(kwargs)).replace("{ __typename", "{ __typename " + selection, 1)
    return api.data(who, query, **kwargs)["r"]


def _shipment_with_dewar(api: Api, who: str, proposal: str) -> tuple[str, str]:
    sid = _call(api, who, "createShipment", "... on Shipment { id }", proposal=proposal,
                name=f"Matrix {uuid.uuid4().hex[:8]}")["id"]
    barcode = _call(api, who, "addMailInDewar", "... on Dewar { barcode }", shipmentId=sid, visit=7, beamline="i03")["barcode"]
    return sid, barcode


def _new_facility_dewar(api: Api) -> str:
    for _ in range(20):
        code = f"DLS-{random.choice(['MX', 'IN', 'CY', 'BI', 'EM'])}-{random.randint(1000, 8999)}"
        if _call(api, ADMIN, "registerFacilityDewar", facilityCode=code)["__typename"] == "Dewar":
            return code
    raise AssertionError("no free facility code found")


def test_a_member_cannot_take_another_proposals_container(api: Api) -> None:
    sid, theirs = _shipment_with_dewar(api, FOREIGN, "mx31020")
    puck = f"TK-{uuid.uuid4().hex[:8].upper()}"
    assert _call(api, FOREIGN, "addContainer", barcode=puck, type="unipuck", dewar=theirs)["__typename"] == "Container"
    assert _call(api, FOREIGN, "cancelShipment", shipmentId=sid)["__typename"] == "Shipment"
    _, mine = _shipment_with_dewar(api, OWN, PROPOSAL)
    taken = _call(api, OWN, "addContainer", "... on Container { proposal history { data } }", barcode=puck,
                  type="unipuck", dewar=mine)
    still_theirs = api.data(FOREIGN, "query($b: String!) { container(barcode: $b) { __typename ... on Container { proposal } } }",
                            b=puck)["container"]
    assert still_theirs == {"__typename": "Container", "proposal": "mx31020"}
    assert taken["__typename"] != "Container", taken
    assert "mx31020" not in json.dumps(taken)


def test_add_container_with_a_foreign_containers_barcode_says_nothing_about_it(api: Api) -> None:
    _, theirs = _shipment_with_dewar(api, FOREIGN, "mx31020")
    puck = f"TY-{uuid.uuid4().hex[:8].upper()}"
    assert _call(api, FOREIGN, "addContainer", barcode=puck, type="unipuck", dewar=theirs)["__typename"] == "Container"
    _, mine = _shipment_with_dewar(api, OWN, PROPOSAL)
    query = api.mutation("addContainer", ["barcode", "type", "dewar"])
    as_puck = api.post(OWN, query, {"barcode": puck, "type": "unipuck", "dewar": mine}).json()["data"]["r"]
    as_cane = api.post(OWN, query, {"barcode": puck, "type": "cane", "dewar": mine}).json()["data"]["r"]
    assert as_puck["__typename"] in PROBLEMS and as_puck == as_cane, (as_puck, as_cane)
    assert "unipuck" not in as_cane["message"] and "packed" not in as_puck["message"]


def test_a_reused_facility_dewar_shows_a_member_only_their_own_trips(api: Api) -> None:
    code = _new_facility_dewar(api)
    first = _call(api, OWN, "createShipment", "... on Shipment { id }", proposal=PROPOSAL,
                  name=f"Facility trip {uuid.uuid4().hex[:8]}")["id"]
    assert _call(api, OWN, "addFacilityDewar", shipmentId=first, facilityCode=code)["__typename"] == "Dewar"
    assert _call(api, OWN, "addContainer", barcode=f"FT-{uuid.uuid4().hex[:8]}", type="unipuck",
                 dewar=code)["__typename"] == "Container"
    assert _call(api, OWN, "cancelShipment", shipmentId=first)["__typename"] == "Shipment"
    assigned_at = next(e["time"] for e in api.data(ADMIN, "query($b: String!) { dewar(barcode: $b) { ... on Dewar { "
                                                          "history { event time } } } }", b=code)["dewar"]["history"]
                       if e["event"] == "AssignedToShipment")
    second = _call(api, FOREIGN, "createShipment", "... on Shipment { id }", proposal="mx31020",
                   name=f"Facility trip {uuid.uuid4().hex[:8]}")["id"]
    assert _call(api, FOREIGN, "addFacilityDewar", shipmentId=second, facilityCode=code)["__typename"] == "Dewar"
    response = api.post(FOREIGN, "query($b: String!, $t: DateTime) { now: dewar(barcode: $b) { ... on Dewar { proposal "
                                 "history { event data } } } then: dewar(barcode: $b, asOf: $t) { __typename ... on Dewar "
                                 "{ proposal workflow } ... on Problem { message } } }", {"b": code, "t": assigned_at})
    assert response.json()["data"]["now"]["proposal"] == "mx31020"
    assert PROPOSAL not in response.text and first not in response.text, response.text[:3000]


def test_a_facility_dewar_on_another_proposals_trip_is_unavailable_and_nothing_more_is_said(api: Api) -> None:
    code = _new_facility_dewar(api)
    theirs = _call(api, FOREIGN, "createShipment", "... on Shipment { id }", proposal="mx31020",
                   name=f"Busy facility dewar {uuid.uuid4().hex[:8]}")["id"]
    assert _call(api, FOREIGN, "addFacilityDewar", shipmentId=theirs, facilityCode=code)["__typename"] == "Dewar"
    mine = _call(api, OWN, "createShipment", "... on Shipment { id }", proposal=PROPOSAL,
                 name=f"Wants a facility dewar {uuid.uuid4().hex[:8]}")["id"]
    unregistered = "DLS-MX-9997"
    query = api.mutation("addFacilityDewar", ["shipmentId", "facilityCode"])
    busy = api.post(OWN, query, {"shipmentId": mine, "facilityCode": code}).json()["data"]["r"]
    assert busy["__typename"] == "NotPermittedError"
    assert busy["message"] == f"dewar {code} cannot be added to a shipment: it is on another trip; " \
                              "ask stores for another facility dewar"
    assert api.post(OWN, query, {"shipmentId": mine, "facilityCode": unregistered}).json()["data"][
        "r"]["__typename"] == "UnknownBarcodeError"


def test_a_session_cookie_is_dead_after_signing_out(api: Api) -> None:
    with httpx.Client(base_url=api.server.url, timeout=30) as c:
        assert c.post("/login", json={"username": "ada", "password": "ada-at-the-facility"}).status_code == 200
        copied = c.cookies["logistics"]
        assert c.post("/logout", headers={"Accept": "application/json"}).status_code == 200
    response = httpx.post(api.server.graphql, json={"query": "{ me { name } }"}, cookies={"logistics": copied})
    assert response.status_code == 401, response.text


def test_a_malformed_sign_in_is_refused_not_a_crash(api: Api) -> None:
    for body in (b"not json", b"", b"[]", b'"ada"'):
        response = httpx.post(api.server.url + "/login", content=body, headers={"content-type": "application/json"})
        assert response.status_code in (400, 401, 422), (body, response.status_code)
