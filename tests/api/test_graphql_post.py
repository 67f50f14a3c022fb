"""A plain JSON POST to /graphql (what stations and scripts send) is answered without strawberry's
HTTP view (logistics/entrypoints/graphql_post.py). It must answer exactly as that view would:
same data, same errors, internal errors masked and logged, the limits applied; anything it does
not answer itself reaches strawberry's view with its body intact."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest

from logistics.api.schema import INTERNAL_ERROR
from logistics.bootstrap import SYSTEM, System, bootstrap, register_reference_data
from logistics.entrypoints.web import create_app

pytestmark = pytest.mark.anyio

QUERIES = [  # each a query: strawberry's view answers it over GET, the POST path over POST
    ("{ me { name roles station } }", None),
    ("query Where($b: String!) { lookup(barcode: $b) { __typename ... on Problem { message code } } }", {"b": "DLS-XX-1"}),
    ("query Where($b: String!) { lookup(barcode: $b) { __typename ... on Problem { message code } } }", {"b": " nope "}),
    ('{ dewars(after: "not-a-cursor") { edges { node { barcode } } } }', None),  # an error from a resolver
    ("query Big($n: Int!) { dewars(first: $n) { edges { node { barcode } } } }", {"n": 2 ** 40}),  # a variable refused
    ("{ locations { code name kind } }", None),
    # integers beyond 64 bits: read exactly (orjson alone would make them floats)
    ("query S($id: ID!) { sample(id: $id) { __typename ... on Problem { message } } }", {"id": 2 ** 70 + 1}),
    ("query Big($n: Int!) { dewars(first: $n) { edges { node { barcode } } } }", {"n": 2 ** 70 + 1}),
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def system(tmp_path: Path) -> System:
    s = bootstrap(f"sqlite:///{tmp_path / 'logistics.db'}")
    register_reference_data(s.app)
    s.accounts.add("keeper", ["stores"])
    yield s
    s.close()


@pytest.fixture
async def client(system: System) -> AsyncIterator[httpx.AsyncClient]:
    token = system.accounts.create_token("keeper", "tests")[1]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(system)), base_url="http://tracker",
                                 headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


async def by_post(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, "variables": variables})


async def by_strawberry(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None) -> httpx.Response:
    """The same query through strawberry's own view (GET is never answered by the POST path)."""
    params = {"query": query, **({"variables": json.dumps(variables)} if variables else {})}
    return await client.get("/graphql", params=params)


@pytest.mark.parametrize("query, variables", QUERIES)
async def test_a_post_is_answered_as_strawberrys_view_answers_it(client: httpx.AsyncClient, query: str,
                                                                 variables: dict[str, Any] | None) -> None:
    posted, got = await by_post(client, query, variables), await by_strawberry(client, query, variables)
    assert (posted.status_code, posted.headers["content-type"]) == (got.status_code, got.headers["content-type"])
    assert posted.json() == got.json()


async def test_a_scan_over_post_records_it_and_answers_the_dewar(client: httpx.AsyncClient, system: System) -> None:
    registered = (await by_post(client, 'mutation { registerFacilityDewar(facilityCode: "DLS-MX-0100") '
                                        '{ ... on Dewar { barcode } ... on Problem { message } } }', None)).json()
    assert registered == {"data": {"registerFacilityDewar": {  # stores may not register facility dewars
        "message": "register facility dewar needs the role admin; keeper has stores"}}}
    system.app.register_facility_dewar("DLS-MX-0100", SYSTEM)
    scan = ("mutation S($b: String!, $l: String!) { scanDewar(barcode: $b, location: $l) { __typename "
            "... on Scan { changed dewar { barcode where { code } } } ... on Problem { code } } }")
    reply = (await by_post(client, scan, {"b": " dls-mx-0100\n", "l": "loc-stores-a1"})).json()
    assert reply == {"data": {"scanDewar": {"__typename": "Scan", "changed": True,
                                            "dewar": {"barcode": "DLS-MX-0100", "where": {"code": "loc-stores-a1"}}}}}
    row = system.views.dewar("DLS-MX-0100")
    assert row is not None and row["where_code"] == "loc-stores-a1"



SCAN_OR_PROBLEM = ("mutation S($b: String!, $l: String!) { scanDewar(barcode: $b, location: $l) { __typename "
                   "... on Scan { changed dewar { barcode where { code } } } ... on Problem { message code } } }")


async def test_the_same_scan_document_answers_each_dewar_and_each_refusal_in_its_own_words(
        client: httpx.AsyncClient, system: System) -> None:
    """A station sends one document all day; the fields it selects are collected once (PlannedFields),
    and every reply must still be the one its own scan earned, whatever came before it."""
    for code in ("DLS-MX-0100", "DLS-MX-0101"):
        system.app.register_facility_dewar(code, SYSTEM)
    replies = [(await by_post(client, SCAN_OR_PROBLEM, {"b": barcode, "l": location})).json()["data"]["scanDewar"]
               for barcode, location in [("DLS-MX-0100", "loc-stores-a1"), ("DLS-MX-0101", "loc-stores-a2"),
                                         ("DLS-MX-0199", "loc-stores-a1"), ("DLS-MX-0100", "loc-stores-a1"),
                                         ("DLS-MX-0100", "loc-nowhere"), ("DLS-MX-0101", "loc-stores-b1")]]
    assert replies == [
        {"__typename": "Scan", "changed": True, "dewar": {"barcode": "DLS-MX-0100", "where": {"code": "loc-stores-a1"}}},
        {"__typename": "Scan", "changed": True, "dewar": {"barcode": "DLS-MX-0101", "where": {"code": "loc-stores-a2"}}},
        {"__typename": "UnknownBarcodeError", "code": "unknown_barcode",
         "message": "no dewar or container has the barcode 'DLS-MX-0199'"},
        {"__typename": "Scan", "changed": False, "dewar": {"barcode": "DLS-MX-0100", "where": {"code": "loc-stores-a1"}}},
        {"__typename": "InvalidValueError", "code": "invalid_value",
         "message": "location 'loc-nowhere' is not registered: scan a location barcode such as loc-goods-in"},
        {"__typename": "Scan", "changed": True, "dewar": {"barcode": "DLS-MX-0101", "where": {"code": "loc-stores-b1"}}},
    ]


@pytest.mark.parametrize("directive, shown", [("@include(if: $x)", True), ("@skip(if: $x)", False)])
async def test_fields_a_variable_includes_come_and_go_with_it_in_the_same_document(
        client: httpx.AsyncClient, system: System, directive: str, shown: bool) -> None:
    system.app.register_facility_dewar("DLS-MX-0100", SYSTEM)
    system.app.scan_dewar("DLS-MX-0100", "loc-stores-a1", SYSTEM)
    query = (f"query D($b: String!, $x: Boolean!) {{ lookup(barcode: $b) {{ "
             f"... on Dewar {{ barcode ...Where {directive} }} }} }} fragment Where on Dewar {{ where {{ code }} }}")
    asked = []
    for more in (True, False, True, False):
        variables = {"b": "DLS-MX-0100", "x": more if shown else not more}
        asked.append((await by_post(client, query, variables)).json())
        assert asked[-1] == (await by_strawberry(client, query, variables)).json()
    with_where = {"data": {"lookup": {"barcode": "DLS-MX-0100", "where": {"code": "loc-stores-a1"}}}}
    without = {"data": {"lookup": {"barcode": "DLS-MX-0100"}}}
    assert asked == [with_where, without, with_where, without]


async def test_what_goes_wrong_inside_is_masked_and_logged(client: httpx.AsyncClient, system: System,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> list[dict[str, Any]]:
        raise RuntimeError("disk I/O error at /var/lib/secret-path")

    monkeypatch.setattr(system.views, "locations", broken)
    with caplog.at_level(logging.ERROR):
        posted = await by_post(client, "{ me { name } locations { code } }", None)
    got = await by_strawberry(client, "{ me { name } locations { code } }", None)
    assert posted.status_code == 200
    body = posted.json()
    assert body["data"] is None or body["data"].get("me") == {"name": "keeper"}
    assert [e["message"] for e in body["errors"]] == [INTERNAL_ERROR]
    assert body["errors"][0]["path"] == ["locations"]
    assert "secret-path" not in posted.text
    assert "secret-path" in caplog.text  # the facility's IT finds the cause in the log
    assert body == got.json()


async def test_a_document_is_parsed_and_validated_once(client: httpx.AsyncClient, system: System,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import logistics.entrypoints.graphql_post as graphql_post

    parsed = []
    real_parse = graphql_post.parse
    monkeypatch.setattr(graphql_post, "parse", lambda *a, **k: parsed.append(1) or real_parse(*a, **k))
    for n in range(5):
        reply = (await by_post(client, "query Probe($b: String!) { lookup(barcode: $b) { __typename } }",
                               {"b": f"CPS-{1000 + n}"})).json()
        assert reply["data"]["lookup"]["__typename"] == "UnknownBarcodeError"
    assert len(parsed) == 1


async def test_what_the_post_path_does_not_answer_reaches_strawberry_intact(client: httpx.AsyncClient) -> None:
    # a document with errors: strawberry's own wording, the limits included
    deep = "barcode"
    for _ in range(10):
        deep = f"containers {{ dewar {{ {deep} }} }}"
    for query, words in (("{ me { name }", "syntax"), ("{ nosuchfield }", "nosuchfield"),
                         ('{ dewar(barcode: "x") { ... on Dewar { ' + deep + " } } }", "depth"),
                         ("{ " + " ".join(f'a{i}: lookup(barcode: "x") {{ __typename }}' for i in range(50)) + " }",
                          "alias"),
                         ("{ " + " ".join("me { name }" for _ in range(3000)) + " }", "token")):
        response = await by_post(client, query, None)
        assert response.status_code in (200, 400), response.text[:300]
        assert words in " ".join(e["message"] for e in response.json()["errors"]).lower(), response.text[:300]
    # a subscription is for the websocket: POSTed, it is refused with where to go, not run as a query
    response = await by_post(client, "subscription Live { events { position } }", None)
    assert response.status_code == 400, response.text[:300]
    assert "websocket" in response.json()["errors"][0]["message"]
    # not a request at all
    for content in (b"not json", b"[]", b"{}", b'{"query": 5}', b'{"query": "{ me { name } }", "variables": [1]}'):
        response = await client.post("/graphql", content=content, headers={"content-type": "application/json"})
        assert response.status_code in (200, 400), (content, response.status_code, response.text[:300])
        assert response.status_code == 400 or "errors" in response.json()
    # a proxy's Basic header before the client's token: refused as the token alone would be read, not a crash
    response = await client.post("/graphql", json={"query": "{ me { name } }"},
                                 headers=[("authorization", "Basic YWRhOmRlbW8tYWRh"),
                                          ("authorization", client.headers["authorization"])])
    assert response.status_code == 401, response.text[:300]
    # and an operation named among several is the one run
    document = "query A { me { name } } query B { me { roles } }"
    reply = (await client.post("/graphql", json={"query": document, "operationName": "B"})).json()
    assert reply == {"data": {"me": {"roles": ["stores"]}}}
