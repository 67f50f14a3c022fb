"""Stores scan dewars in with a keyboard-wedge scanner, watch the live feed; beamline staff load
and unload a sample changer."""

from __future__ import annotations

import random
import re
from typing import Callable

from playwright.sync_api import Page, expect

from logistics.domain.identifiers import MailInBarcode
from tests.e2e.support import pack_shipment, scan_in, take_to_instrument

FEED_SECONDS = 5_000  # ms: "within a few seconds"


def scan(page: Page, text: str) -> None:
    """What a keyboard-wedge scanner does: the characters, then Enter, into the focused field."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def expect_result(page: Page, kind: str, *texts: str) -> None:
    result = page.locator("#scan-result")
    expect(result).to_have_class(re.compile(rf"\b{kind}\b"))
    for text in texts:
        expect(result).to_contain_text(text)
    expect(page.locator("#code")).to_be_focused()
    expect(page.locator("#code")).to_have_value("")


def mistyped(barcode: str) -> str:
    """The barcode with another check character (any single change is caught by MOD 37-2)."""
    return barcode[:-1] + ("7" if barcode[-1] != "7" else "8")


def never_registered() -> str:
    return str(MailInBarcode.allocate("mx23694", 1, "i03", random.randint(5_000_000, 9_000_000)))


def test_stores_scan_dewars_in_with_a_keyboard_wedge_scanner(server, stores: Page, screenshot):
    shipment = pack_shipment(server, sent=True)
    stores.goto("/stores")
    expect(stores.locator("#code")).to_be_focused()
    expect(stores.locator("#location")).to_have_value("loc-goods-in")

    # Upper case, with the spaces a scanner or a person may add around it.
    scan(stores, f"  {shipment.dewar.upper()}  ")
    expect_result(stores, "received", "RECEIVED", shipment.dewar, "mx23694", "loc-goods-in")
    screenshot(stores)

    scan(stores, shipment.dewar)
    expect_result(stores, "unchanged", "ALREADY HERE", shipment.dewar)

    unknown = never_registered()
    scan(stores, unknown)
    expect_result(stores, "unknown", "UNKNOWN", unknown)
    expect(stores.locator("#unknown-actions")).to_be_visible()
    expect(stores.locator("#unexpected input[name=barcode]")).to_have_value(unknown)
    expect(stores.locator("#unexpected button[type=submit]")).to_be_visible()

    wrong = mistyped(shipment.dewar)
    scan(stores, wrong)
    expect_result(stores, "invalid", "INVALID", "check character")
    expect(stores.locator("#unknown-actions")).to_be_hidden()

    # A location barcode switches the location; the next scan moves the dewar there.
    scan(stores, "LOC-STORES-A1 ")
    expect_result(stores, "moved", "loc-stores-a1")
    expect(stores.locator("#location")).to_have_value("loc-stores-a1")
    scan(stores, shipment.dewar)
    expect_result(stores, "moved", "MOVED", shipment.dewar, "loc-stores-a1")

    where = server.gql("stores", "query($b: String!) { lookup(barcode: $b) { ... on Dewar { workflow where { code } } } }",
                       b=shipment.dewar)["lookup"]
    assert where == {"workflow": "received", "where": {"code": "loc-stores-a1"}}


def test_stores_record_an_unexpected_arrival_from_an_unknown_scan(server, stores: Page, screenshot):
    stores.goto("/stores")
    unknown = never_registered()
    scan(stores, unknown)
    expect_result(stores, "unknown", "UNKNOWN")
    stores.fill("#unexpected input[name=note]", "label says mx23694, no paperwork")
    stores.click("#unexpected button[type=submit]")
    expect_result(stores, "received", "RECORDED", unknown)
    expect(stores.locator("#unknown-actions")).to_be_hidden()
    screenshot(stores)
    stores.reload()
    expect(stores.locator("section").filter(has_text="Unexpected arrivals")
           .locator(f"tr[data-barcode='{unknown}']")).to_have_count(1)


def open_live_feed(page: Page) -> None:
    page.goto("/stores")
    expect(page.locator("#feed")).to_have_attribute("data-state", "live")
    page.wait_for_timeout(1_000)  # the server starts the subscription just after its acknowledgement


def test_the_feed_shows_a_scan_made_through_the_api_without_reloading(server, stores: Page, screenshot):
    shipment = pack_shipment(server, sent=True)
    open_live_feed(stores)
    stores.evaluate("() => { window.notReloaded = true; }")
    scan_in(server, shipment.dewar, "loc-goods-in", who="stores-desk-1")
    item = stores.locator("#feed li").filter(has_text=f"Received dewar {shipment.dewar} at Stores goods-in bay")
    expect(item).to_have_count(1, timeout=FEED_SECONDS)
    expect(item).to_contain_text("stores-desk-1")
    assert stores.evaluate("() => window.notReloaded === true"), "the page reloaded"
    screenshot(stores)


def test_the_feed_shows_a_scan_made_in_another_browser(server, sign_in: Callable[..., Page], screenshot):
    shipment = pack_shipment(server, sent=True)
    watcher, scanner = sign_in("stores"), sign_in("stores")
    open_live_feed(watcher)
    watcher.evaluate("() => { window.notReloaded = true; }")
    scanner.goto("/stores")
    scan(scanner, shipment.dewar)
    expect_result(scanner, "received", shipment.dewar)
    item = watcher.locator("#feed li").filter(has_text=f"Received dewar {shipment.dewar} at Stores goods-in bay")
    expect(item).to_have_count(1, timeout=FEED_SECONDS)
    expect(item).to_contain_text("by stores")
    assert watcher.evaluate("() => window.notReloaded === true"), "the page reloaded"
    screenshot(watcher)


def slot(page: Page, position: str):
    return page.locator(f"#map li.slot[data-position='{position}']")


def test_beamline_staff_load_and_unload_a_puck_by_scanning(server, beamline: Page, screenshot):
    shipment = pack_shipment(server, sent=True, beamline="i04")
    puck = shipment.containers[0]
    scan_in(server, shipment.dewar, "loc-goods-in")
    take_to_instrument(server, shipment.dewar, "i04")
    beamline.goto("/beamline/i04")
    empty = beamline.locator("#map li.slot:not(.full)")
    position = empty.first.get_attribute("data-position")
    expect(beamline.locator("#load-barcode")).to_be_focused()

    beamline.keyboard.type(puck.lower())
    beamline.keyboard.press("Enter")
    expect(beamline.locator("#load-position")).to_be_focused()
    beamline.keyboard.type(position)
    beamline.evaluate("() => { window.notReloaded = true; }")
    beamline.keyboard.press("Enter")
    expect(beamline.locator("#load .result")).to_have_text(f"LOADED {puck} into i04 position {position}")
    expect(beamline.locator("#load-barcode")).to_be_focused()  # ready for the next puck
    expect(beamline.locator("#load-barcode")).to_have_value("")
    loaded = slot(beamline, position)
    expect(loaded).to_have_class(re.compile(r"\bfull\b"))
    expect(loaded.locator("a.code")).to_have_text(puck)
    expect(loaded.locator(".owner")).to_have_text("mx23694")
    expect(beamline.locator("#map a.code").filter(has_text=puck)).to_have_count(1)
    screenshot(beamline)

    loaded.get_by_role("button", name=f"Unload {puck} from position {position}").click()
    expect(slot(beamline, position)).not_to_have_class(re.compile(r"\bfull\b"))
    expect(slot(beamline, position)).to_contain_text("empty")
    expect(beamline.locator("#map")).not_to_contain_text(puck)
    assert beamline.evaluate("() => window.notReloaded === true"), "the page reloaded"
    state = server.gql("beamline", "query($b: String!) { container(barcode: $b) { ... on Container { loaded { position } } } }",
                       b=puck)["container"]
    assert state == {"loaded": None}
