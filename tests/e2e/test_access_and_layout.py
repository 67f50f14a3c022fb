"""Another proposal's things look like things that do not exist; every page fits a 1024-pixel
screen."""

from __future__ import annotations

import re
import uuid
from typing import Callable

import pytest
from playwright.sync_api import Page, expect

from logistics.domain.identifiers import MailInBarcode
from tests.e2e.support import Packed, free_position, load, pack_shipment, scan_in, take_to_instrument

NARROW = 1024


@pytest.fixture(scope="module")
def adas(server) -> Packed:
    return pack_shipment(server, "ada", "mx23694", containers=2, samples=3, prefix="Ada secret")


@pytest.fixture(scope="module")
def dorothys(server) -> Packed:
    return pack_shipment(server, "dorothy", "mx31020", containers=1, samples=2, prefix="Dorothy secret")


def foreign_data(packed: Packed) -> list[str]:
    return [packed.name, packed.id, packed.dewar, *packed.containers, *packed.samples, *packed.sample_ids]


def nowhere() -> str:
    return str(MailInBarcode.allocate("mx23694", 2, "i03", 9_000_000 + uuid.uuid4().int % 900_000))


# (what, the page of ada's thing, the same page for a thing that does not exist)
PAGES = {
    "shipment": (lambda a: (f"/shipments/{a.id}", a.id), lambda: (lambda i: (f"/shipments/{i}", i))(str(uuid.uuid4()))),
    "dewar": (lambda a: (f"/dewars/{a.dewar}", a.dewar), lambda: (lambda b: (f"/dewars/{b}", b))(nowhere())),
    "container": (lambda a: (f"/containers/{a.containers[0]}", a.containers[0]),
                  lambda: (lambda b: (f"/containers/{b}", b))("NOPE-" + uuid.uuid4().hex[:6].upper())),
    "sample": (lambda a: (f"/samples/{a.sample_ids[0]}", a.sample_ids[0]),
               lambda: (lambda i: (f"/samples/{i}", i))(str(uuid.uuid4()))),
    "find": (lambda a: (f"/find?barcode={a.containers[1]}", a.containers[1]),
             lambda: (lambda b: (f"/find?barcode={b}", b))("NOPE-" + uuid.uuid4().hex[:6].upper())),
}


@pytest.mark.parametrize("what", list(PAGES))
def test_a_member_of_another_proposal_cannot_open_adas_pages(adas: Packed, dorothy: Page, screenshot, what: str):
    theirs, missing = PAGES[what]
    path, asked = theirs(adas)
    response = dorothy.goto(path)
    assert response is not None and response.status == 404, (path, response and response.status)
    main = dorothy.locator("main")
    expect(main.locator(".problem")).to_contain_text(re.compile(r"not exist|no dewar or container|not found", re.I))
    screenshot(dorothy)
    html = dorothy.content()
    shown = html.replace(asked, "«asked»")  # the page may repeat what was asked for, nothing more
    leaked = [value for value in foreign_data(adas) if value in shown]
    assert not leaked, f"{path} shows {leaked}"
    assert "Ada secret" not in html and "AcrB" not in html
    looks = (dorothy.title(), main.inner_html().replace(asked, "«asked»"))

    # Exactly what a thing that does not exist looks like.
    other_path, other = missing()
    other_response = dorothy.goto(other_path)
    assert other_response is not None and other_response.status == 404
    assert (dorothy.title(), main.inner_html().replace(other, "«asked»")) == looks


def test_each_member_lists_only_their_own_proposals_shipments(adas: Packed, dorothys: Packed, ada: Page,
                                                              sign_in: Callable[..., Page], screenshot):
    ada.goto("/shipments")
    expect(ada.locator("main")).to_contain_text(adas.name)
    proposals = ada.locator("main table tbody tr td:nth-child(2)").all_inner_texts()
    assert proposals and set(proposals) == {"mx23694"}, proposals
    html = ada.content()
    leaked = [value for value in [*foreign_data(dorothys), "mx31020", "Protease fragments"] if value in html]
    assert not leaked, f"ada's shipments list shows {leaked}"
    expect(ada.locator("#new-shipment select[name=proposal] option")).to_have_text(["mx23694"])
    screenshot(ada)

    dorothy = sign_in("dorothy")
    dorothy.goto("/shipments")
    expect(dorothy.locator("main")).to_contain_text(dorothys.name)
    html = dorothy.content()
    assert not [value for value in [*foreign_data(adas), "mx23694"] if value in html]


@pytest.fixture(scope="module")
def scene(server, adas: Packed) -> dict[str, str]:
    """A registered shipment with contents (ada's), and another one's dewar in stores with a puck on i03."""
    arrived = pack_shipment(server, "ada", "mx23694", containers=1, samples=2, sent=True, prefix="Arrived")
    scan_in(server, arrived.dewar, "loc-goods-in")
    take_to_instrument(server, arrived.dewar, "i03")
    load(server, arrived.containers[0], "i03", free_position(server, "i03"))
    return {"shipments": "/shipments", "shipment": f"/shipments/{adas.id}", "stores": "/stores",
            "beamline": "/beamline/i03", "dewar": f"/dewars/{adas.dewar}", "arrived dewar": f"/dewars/{arrived.dewar}"}


@pytest.mark.parametrize("what, user", [("shipments", "ada"), ("shipment", "ada"), ("stores", "stores"),
                                        ("beamline", "beamline"), ("dewar", "ada"), ("arrived dewar", "stores")])
def test_no_page_scrolls_sideways_at_1024_pixels(scene: dict[str, str], sign_in: Callable[..., Page], screenshot,
                                                 what: str, user: str):
    page = sign_in(user, width=NARROW, height=768)
    response = page.goto(scene[what])
    assert response is not None and response.ok, (scene[what], response and response.status)
    page.wait_for_load_state("networkidle")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.body.scrollWidth]")
    screenshot(page)
    assert max(widths) <= NARROW, f"{scene[what]} is {widths} px wide at {NARROW} px"


def test_barcodes_on_the_stores_desk_stay_on_one_line_at_1024_pixels(scene: dict[str, str],
                                                                   sign_in: Callable[..., Page], screenshot):
    page = sign_in("stores", width=NARROW, height=768)
    page.goto("/stores")
    codes = page.locator("main table a.code")
    expect(codes.first).to_be_visible()
    lines = page.evaluate("""() => [...document.querySelectorAll("main table a.code")]
        .map((a) => [a.textContent, a.getClientRects().length])""")
    screenshot(page)
    broken = [code for code, count in lines if count > 1]
    assert not broken, f"barcodes broken over lines: {broken}"
