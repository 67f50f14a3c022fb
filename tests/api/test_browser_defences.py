"""What a careless client or another site's page meets at the edge (logistics/entrypoints/guard.py):
bodies over the limit refused before they are read, malformed input answered 400 with what was
wrong, state changes only from the tracker's own pages and only by POST, and the headers that
keep a browser from running or framing what the tracker did not send."""

from __future__ import annotations

import asyncio
import re

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from logistics.bootstrap import System
from logistics.entrypoints.guard import MIB, Settings
from logistics.entrypoints.web import create_app
from tests.helpers import packed_dewar

PASSWORD = "correct horse battery staple"
ME = "{ me { name } }"


def browser(system: System, settings: Settings | None = None) -> TestClient:
    """A browser signed in as a stores person, at the tracker's own origin."""
    system.accounts.add("sam", ["stores"], password=PASSWORD)
    client = TestClient(create_app(system, settings or Settings()), base_url="http://tracker")
    signed_in = client.post("/login", data={"username": "sam", "password": PASSWORD, "next": "/stores"},
                            headers={"origin": "http://tracker"}, follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text
    return client


def script(system: System, settings: Settings | None = None) -> TestClient:
    system.accounts.add("desk", ["stores"], kind="station")
    token = system.accounts.create_token("desk")[1]
    return TestClient(create_app(system, settings or Settings()), base_url="http://tracker",
                      headers={"authorization": f"Bearer {token}"})


def test_a_body_over_the_limit_is_refused_with_413_before_a_byte_of_it_is_read(system: System) -> None:
    app = create_app(system, Settings(max_body=64 * 1024))
    sent: list[dict] = []

    async def receive() -> dict:
        raise AssertionError("the body was read")

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
             "headers": [(b"host", b"tracker"), (b"content-type", b"application/json"),
                         (b"content-length", str(300 * MIB).encode())], "scheme": "http", "http_version": "1.1",
             "server": ("tracker", 80), "client": ("127.0.0.1", 1), "root_path": ""}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert b"larger than 64 KiB, the most this server accepts" in sent[1]["body"]
    assert b"LOGISTICS_MAX_BODY" in sent[1]["body"]


def test_a_chunked_body_is_cut_off_at_the_limit_and_answered_413(system: System) -> None:
    client = script(system, Settings(max_body=64 * 1024))
    chunks = (b'{"query": "' + b" " * 16 * 1024 for _ in range(8))  # no Content-Length: sent chunked
    response = client.post("/graphql", content=chunks, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "larger than 64 KiB" in response.json()["error"]
    assert client.post("/graphql", json={"query": ME}).json() == {"data": {"me": {"name": "desk"}}}


def test_a_spreadsheet_upload_has_its_own_larger_limit(system: System) -> None:
    client = browser(system, Settings(max_body=64 * 1024, max_upload=256 * 1024))
    headers = {"origin": "http://tracker"}
    fits = client.post("/import", data={"dewar": "nope"}, files={"file": ("c.csv", b"a\n" * 50_000)}, headers=headers)
    assert fits.status_code != 413, fits.text  # 100 KiB: over the body limit, under the upload's
    too_big = client.post("/import", data={"dewar": "nope"}, files={"file": ("c.csv", b"a\n" * 200_000)},
                          headers=headers)
    assert too_big.status_code == 413
    assert too_big.json()["error"] == ("the request body is larger than 256 KiB, the most this server accepts for a "
                                       "spreadsheet upload: send less, or ask the operator to raise LOGISTICS_MAX_UPLOAD")


def test_the_limits_and_the_cookie_flag_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_environment() == Settings(max_body=4 * MIB, max_upload=16 * MIB, cookie_secure=False)
    monkeypatch.setenv("LOGISTICS_MAX_BODY", "512KiB")
    monkeypatch.setenv("LOGISTICS_MAX_UPLOAD", "32MiB")
    monkeypatch.setenv("LOGISTICS_COOKIE_SECURE", "1")
    assert Settings.from_environment() == Settings(max_body=512 * 1024, max_upload=32 * MIB, cookie_secure=True)
    monkeypatch.setenv("LOGISTICS_MAX_BODY", "lots")
    with pytest.raises(ValueError, match="LOGISTICS_MAX_BODY='lots' is not a size: give bytes, or e.g. 4MiB"):
        Settings.from_environment()


@pytest.mark.parametrize("body, message", [
    (b'{"query": "{ me { name } }", "operationName": "\xff"}',
     "the request body is not UTF-8 text (a byte that cannot be UTF-8 at offset 47): send JSON in UTF-8"),
    (b'{"query": "{ me { name } }", "variables": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
     "the request body is JSON nested more than 1024 levels deep, more than this API reads: send flatter values"),
    (b'{"query": "query($a: JSON) { me { name } }", "variables": {"a": ' + b"[" * 450 + b"]" * 450 + b"}}",
     "the variables are nested more than 32 levels deep, more than this API accepts: send flatter values"),
])
def test_a_malformed_graphql_request_is_answered_400_with_what_was_wrong(system: System, body: bytes,
                                                                         message: str) -> None:
    response = script(system).post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == message


def test_a_template_of_an_unknown_kind_or_a_malformed_sign_in_is_a_400_not_a_500(system: System) -> None:
    client = TestClient(create_app(system, Settings()), base_url="http://tracker", raise_server_exceptions=False)
    template = client.get("/import-template.csv?kind=nope")  # a person who followed a link: a page
    assert template.status_code == 400 and template.headers["content-type"].startswith("text/html")
    assert "sample kind &#39;nope&#39; is not in the catalogue: expected one of " in template.text
    template = client.get("/import-template.csv?kind=nope", headers={"accept": "application/json"})
    assert template.status_code == 400
    assert template.json()["error"].startswith("sample kind 'nope' is not in the catalogue: expected one of ")
    deep = client.post("/login", content=b"[" * 5000 + b"]" * 5000, headers={"content-type": "application/json"})
    assert deep.status_code == 400
    assert deep.json()["error"] == 'send {"username": ..., "password": ...} as JSON, or a form'


def test_pages_forbid_inline_script_framing_and_sniffing_but_let_their_own_nonced_script_run(system: System) -> None:
    client = browser(system)
    stores = client.get("/stores")
    assert stores.status_code == 200
    policy = stores.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", policy).group(1)
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", stores.text)
    assert inline and all(f'nonce="{nonce}"' in attributes for attributes in inline)
    assert (stores.headers["x-content-type-options"], stores.headers["x-frame-options"],
            stores.headers["referrer-policy"]) == ("nosniff", "DENY", "same-origin")
    assert client.get("/stores").headers["content-security-policy"] != policy  # a nonce per response
    assert "frame-ancestors 'none'" in client.get("/login").headers["content-security-policy"]


def test_the_session_cookie_is_secure_only_when_configured(system: System) -> None:
    system.accounts.add("sam", ["stores"], password=PASSWORD)
    for secure in (False, True):
        client = TestClient(create_app(system, Settings(cookie_secure=secure)), base_url="https://tracker")
        signed_in = client.post("/login", json={"username": "sam", "password": PASSWORD})
        cookie = signed_in.headers["set-cookie"].lower()
        assert ("; secure" in cookie) is secure and "httponly" in cookie and "samesite=lax" in cookie


@pytest.mark.parametrize("origin", ["http://evil.example", "http://tracker:8001", "http://labs.tracker", "null"])
def test_a_state_change_from_another_sites_page_is_refused_and_changes_nothing(system: System, origin: str) -> None:
    client = browser(system)
    logout = client.post("/logout", headers={"origin": origin}, follow_redirects=False)
    assert logout.status_code == 403
    assert logout.json()["error"] == (f"this request came from another site's page (Origin {origin}): changes are "
                                      "accepted only from the tracker's own pages; scripts send an API token instead")
    upload = client.post("/import", data={"dewar": "x"}, files={"file": ("c.csv", b"a\n")}, headers={"origin": origin})
    assert upload.status_code == 403
    scan = client.post("/graphql", json={"query": 'mutation { scanDewar(barcode: "x", location: "loc-goods-in") '
                                                  "{ __typename } }"}, headers={"origin": origin})
    assert scan.status_code == 403
    assert client.post("/logout", headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert client.get("/stores", follow_redirects=False).status_code == 200  # still signed in
    with pytest.raises(WebSocketDisconnect) as closed:
        with client.websocket_connect("/graphql", headers={"origin": origin}, subprotocols=["graphql-transport-ws"]):
            pass
    assert closed.value.code == 4403
    assert client.post("/logout", headers={"origin": "http://tracker"}, follow_redirects=False).status_code == 303
    assert client.get("/stores", follow_redirects=False).status_code == 303  # to /login: signed out


def test_a_script_with_a_token_is_not_a_browser_page_and_may_post_from_anywhere(system: System) -> None:
    answer = script(system).post("/graphql", json={"query": ME}, headers={"origin": "http://elsewhere.example"})
    assert answer.json() == {"data": {"me": {"name": "desk"}}}


def test_following_a_labels_link_downloads_them_and_only_printing_by_post_is_recorded(system: System) -> None:
    shipment, _ = packed_dewar(system)
    client = script(system)
    downloaded = client.get(f"/shipments/{shipment}/labels", params={"stock": "a4"})
    assert downloaded.status_code == 200 and downloaded.headers["content-type"] == "application/pdf"
    assert system.app.shipment(shipment).labels_printed == 0
    printed = client.post(f"/shipments/{shipment}/labels", data={"stock": "thermal-4x6", "format": "zpl"})
    assert printed.status_code == 200 and printed.text.startswith("^XA")
    assert system.app.shipment(shipment).labels_printed == 1
    history = [e for e in system.app.history(shipment) if e["event"] == "LabelsPrinted"]
    assert [(e["data"]["stock"], e["data"]["label_format"], e["station"]) for e in history] == [
        ("thermal-4x6", "zpl", "desk")]
