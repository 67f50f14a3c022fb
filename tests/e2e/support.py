"""Setting the scene through the GraphQL API (with the demo accounts' API tokens), and small
keyboard helpers for the browser tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Page

from tests.api.conftest import Server

PROBLEM = "... on Problem { __typename message code }"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6].upper()}"


def mutate(server: Server, who: str, query: str, **variables: Any) -> dict[str, Any]:
    """The mutation's one result; fails the test on a Problem."""
    data = server.gql(who, query, **variables)
    result = next(iter(data.values()))
    assert "message" not in result or "code" not in result, result
    return result


@dataclass
class Packed:
    id: str
    name: str
    proposal: str
    dewar: str = ""
    containers: list[str] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    sample_ids: list[str] = field(default_factory=list)


def pack_shipment(server: Server, who: str = "ada", proposal: str = "mx23694", *, containers: int = 1,
                  samples: int = 3, beamline: str = "i03", sent: bool = False, prefix: str = "E2E") -> Packed:
    """A shipment with one mail-in dewar, `containers` unipucks and `samples` MX crystals in each."""
    name = unique(f"{prefix} shipment ")
    shipment = mutate(server, who, f"""mutation($p: String!, $n: String!) {{
        createShipment(proposal: $p, name: $n) {{ ... on Shipment {{ id name }} {PROBLEM} }} }}""", p=proposal, n=name)
    packed = Packed(id=shipment["id"], name=name, proposal=proposal)
    dewar = mutate(server, who, f"""mutation($s: ID!, $b: String!) {{
        addMailInDewar(shipmentId: $s, visit: 1, beamline: $b) {{ ... on Dewar {{ barcode }} {PROBLEM} }} }}""",
                   s=packed.id, b=beamline)
    packed.dewar = dewar["barcode"]
    for _ in range(containers):
        barcode = unique("PUCK-")
        mutate(server, who, f"""mutation($c: String!, $d: String!) {{
            addContainer(barcode: $c, type: "unipuck", dewar: $d) {{ ... on Container {{ barcode }} {PROBLEM} }} }}""",
               c=barcode, d=packed.dewar)
        packed.containers.append(barcode)
        for position in range(1, samples + 1):
            sample = unique(f"xtal_{position}_")
            added = mutate(server, who, f"""mutation($c: String!, $p: String!, $n: String!, $a: JSON!) {{
                addSample(container: $c, position: $p, kind: "mx-crystal", name: $n, attributes: $a) {{
                    ... on Sample {{ id }} {PROBLEM} }} }}""",
                   c=barcode, p=str(position), n=sample, a={"protein_acronym": "AcrB"})
            packed.samples.append(sample)
            packed.sample_ids.append(added["id"])
    if sent:
        mutate(server, who, f"""mutation($s: ID!) {{ markSent(shipmentId: $s) {{ __typename {PROBLEM} }} }}""",
               s=packed.id)
    return packed


def scan_in(server: Server, barcode: str, location: str = "loc-goods-in", who: str = "stores-desk-1") -> dict[str, Any]:
    return mutate(server, who, f"""mutation($b: String!, $l: String!) {{
        scanDewar(barcode: $b, location: $l) {{ ... on Scan {{ changed event }} {PROBLEM} }} }}""", b=barcode, l=location)


def take_to_instrument(server: Server, barcode: str, instrument: str, who: str = "beamline") -> dict[str, Any]:
    return mutate(server, who, f"""mutation($b: String!, $i: String!) {{
        takeToInstrument(barcode: $b, instrument: $i) {{ __typename {PROBLEM} }} }}""", b=barcode, i=instrument)


def load(server: Server, container: str, instrument: str, position: str, who: str = "beamline") -> dict[str, Any]:
    return mutate(server, who, f"""mutation($c: String!, $i: String!, $p: String!) {{
        loadContainer(barcode: $c, instrument: $i, position: $p) {{ __typename {PROBLEM} }} }}""",
                  c=container, i=instrument, p=position)


def free_position(server: Server, instrument: str) -> str:
    changer = server.gql("beamline", """query($i: String!) { sampleChanger(instrument: $i) {
        ... on SampleChanger { positions { position occupied } } } }""", i=instrument)["sampleChanger"]
    return next(p["position"] for p in changer["positions"] if not p["occupied"])


FOCUSED = """() => { const e = document.activeElement;
    return { tag: e.tagName.toLowerCase(), id: e.id || "", name: e.getAttribute("name") || "", type: e.type || "",
             form: (e.form || e.closest("form") || {}).id || "", text: (e.textContent || "").trim().slice(0, 40) }; }"""


def focused(page: Page) -> dict[str, str]:
    return page.evaluate(FOCUSED)


def tab_to(page: Page, selector: str, limit: int = 120) -> None:
    """Press Tab (only) until the element matching `selector` has the focus."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}; stopped at {focused(page)}")


def tab_sequence(page: Page, limit: int = 150) -> list[dict[str, str]]:
    """What Tab focuses, from the top of a freshly loaded page until it leaves the page (or `limit`)."""
    seen: list[dict[str, str]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if now["tag"] == "body":
            break
        seen.append(now)
    return seen
