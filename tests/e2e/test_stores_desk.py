"""The stores desk with real scanners: keys typed the moment the page opens, a desk that keeps its
place and its feed across reloads, today's arrivals wherever they went, and a loud stop before an
in-use dewar goes to dispatch."""

from __future__ import annotations

import random
import re

from playwright.sync_api import Page, expect

from tests.e2e.support import free_position, load, pack_shipment, scan_in, take_to_instrument

SHELVES = ["loc-stores-a1", "loc-stores-a2", "loc-stores-b1", "loc-stores-b2"]


def where(server, barcode: str) -> dict:
    return server.gql("stores", "query($b: String!) { lookup(barcode: $b) { ... on Dewar { workflow where { kind code } } } }",
                      b=barcode)["lookup"]


def test_a_scanner_typing_the_moment_the_desk_opens_loses_no_character(server, stores: Page, at_both_widths):
    """From the page's first byte (its head's inline script) every key is kept. Every other round,
    the page's own script is held back until the keys are typed, as on a slow network or a busy
    server, so the keys certainly arrive before the page's script has taken over."""
    dewars = [pack_shipment(server, sent=True, samples=1).dewar for _ in range(6)]
    for barcode in dewars:
        scan_in(server, barcode)
    held: list = []
    stores.route("**/static/stores.js", lambda route: held.append(route))
    rng = random.Random(18)
    for round_, barcode in enumerate(dewars):
        shelf = SHELVES[round_ % len(SHELVES)]
        hold = round_ % 2 == 0
        stores.goto("/stores", wait_until="commit")
        stores.wait_for_function("() => 'earlyKeys' in window", polling=1)  # the first bytes are parsed
        if not hold:
            while held:
                held.pop().continue_()
        stores.keyboard.type(f"{shelf.upper()}\n", delay=rng.randint(0, 5))
        stores.keyboard.type(f"{barcode}\n", delay=rng.randint(0, 5))
        if hold:
            stores.wait_for_function("() => window.earlyKeys && window.earlyKeys.length > 0")
            assert stores.evaluate("() => window.earlyKeys.join('')") == f"{shelf.upper()}\n{barcode}\n".replace(
                "\n", "Enter")
        while held:
            held.pop().continue_()
        result = stores.locator("#scan-result")
        expect(result).to_have_class(re.compile(r"\bmoved\b"))
        expect(result).to_contain_text(f"MOVED {barcode}")
        assert where(server, barcode)["where"] == {"kind": "storage", "code": shelf}, (round_, shelf)
        expect(stores.locator("#location")).to_have_value(shelf)
        expect(stores.locator("#code")).to_have_value("")
        expect(stores.locator("#code")).to_be_focused()
    stores.unroute("**/static/stores.js")
    at_both_widths(stores)


def test_the_desk_keeps_its_location_and_its_live_feed_across_a_reload(server, stores: Page, at_both_widths):
    shipment = pack_shipment(server, sent=True, samples=1)
    stores.goto("/stores")
    stores.select_option("#location", "loc-stores-a2")
    stores.locator("#code").focus()
    stores.keyboard.type(f"{shipment.dewar}\n")
    expect(stores.locator("#scan-result")).to_contain_text(f"RECEIVED {shipment.dewar}")

    stores.reload()
    expect(stores.locator("#location")).to_have_value("loc-stores-a2")
    item = stores.locator("#feed li", has_text=f"Received dewar {shipment.dewar} at Stores rack A shelf 2")
    expect(item).to_have_count(1)
    expect(item.get_by_role("link", name=f"dewar {shipment.dewar}")).to_have_attribute(
        "href", f"/dewars/{shipment.dewar}")
    at_both_widths(stores)


def test_todays_arrivals_list_a_dewar_received_straight_onto_a_rack_and_one_moved_on(
        server, stores: Page, at_both_widths):
    on_rack, moved_on = pack_shipment(server, sent=True, samples=1), pack_shipment(server, sent=True, samples=1)
    scan_in(server, on_rack.dewar, "loc-stores-b1")
    scan_in(server, moved_on.dewar, "loc-goods-in")
    take_to_instrument(server, moved_on.dewar, "i03")

    stores.goto("/stores")
    arrivals = stores.locator("#arrivals")
    expect(arrivals.locator("tr", has_text=on_rack.dewar)).to_contain_text("in Stores rack B shelf 1")
    expect(arrivals.locator("tr", has_text=moved_on.dewar)).to_contain_text("at i03")
    at_both_widths(stores)


def test_scanning_an_in_use_dewar_to_dispatch_stops_loudly_until_scanned_again(server, stores: Page, at_both_widths):
    shipment = pack_shipment(server, sent=True, samples=1)
    puck = shipment.containers[0]
    scan_in(server, shipment.dewar)
    take_to_instrument(server, shipment.dewar, "i03")
    position = free_position(server, "i03")
    load(server, puck, "i03", position)

    stores.goto("/stores")
    stores.keyboard.type("loc-dispatch\n")
    expect(stores.locator("#location")).to_have_value("loc-dispatch")
    stores.keyboard.type(f"{shipment.dewar}\n")
    result = stores.locator("#scan-result")
    expect(result).to_have_class(re.compile(r"\bdanger\b"))
    expect(result).to_contain_text(f"STOP: {shipment.dewar} is IN USE")
    expect(result).to_contain_text(f"unipuck {puck} is still in the i03 sample changer position {position}")
    expect(result).to_contain_text("Scan it again")
    assert stores.evaluate("() => document.body.dataset.lastSound") == "danger"
    assert where(server, shipment.dewar)["where"] == {"kind": "instrument", "code": "i03"}
    at_both_widths(stores)

    stores.locator("#code").focus()
    stores.keyboard.type(f"{shipment.dewar}\n")
    expect(result).to_have_class(re.compile(r"\bmoved\b"))
    assert where(server, shipment.dewar)["where"] == {"kind": "storage", "code": "loc-dispatch"}
