"""Beamline staff at the sample-changer map: what is in each position (puck, proposal, visit, pins,
when and by whom it was loaded), loads from another station appearing live and highlighted, and an
unload that can be undone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from playwright.sync_api import Page, expect

from tests.e2e.support import free_position, load, pack_shipment, scan_in, take_to_instrument

LIVE_MS = 5_000  # "without reloading, within a few seconds"


def _puck_at_the_beamline(server, instrument: str = "i04"):
    shipment = pack_shipment(server, sent=True, beamline=instrument, samples=3)
    scan_in(server, shipment.dewar, "loc-goods-in")
    take_to_instrument(server, shipment.dewar, instrument)
    return shipment


def slot(page: Page, position: str):
    return page.locator(f"#map li.slot[data-position='{position}']")


def open_live_map(page: Page, instrument: str) -> None:
    page.goto(f"/beamline/{instrument}")
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
    page.wait_for_timeout(1_000)  # the server starts the subscription just after its acknowledgement
    page.evaluate("() => { window.notReloaded = true; }")


def test_beamline_staff_open_the_map_and_see_a_loaded_pucks_pins_proposal_visit_and_load_time(
        server, beamline: Page, at_both_widths):
    shipment = _puck_at_the_beamline(server)
    puck, position = shipment.containers[0], free_position(server, "i04")
    load(server, puck, "i04", position)

    beamline.goto("/beamline/i04")
    loaded = slot(beamline, position)
    expect(loaded.locator("a.code")).to_have_text(puck)
    expect(loaded.locator("a.code")).to_have_attribute("href", f"/containers/{puck}")
    expect(loaded.locator(".whose")).to_have_text("mx23694 · visit mx23694-1")
    pins = loaded.locator(".pins li")
    expect(pins).to_have_count(3)
    for n, (name, sample_id) in enumerate(zip(shipment.samples, shipment.sample_ids), start=1):
        expect(pins.nth(n - 1)).to_have_text(f"{n} {name}")
        expect(pins.nth(n - 1).locator("a")).to_have_attribute("href", f"/samples/{sample_id}")
    expect(loaded.locator(".loaded")).to_have_text(re.compile(r"^Loaded \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by beamline$"))
    shown = datetime.strptime(loaded.locator(".loaded time").inner_text(), "%Y-%m-%d %H:%M:%S UTC")
    assert abs(shown.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)) < timedelta(minutes=2)
    at_both_widths(beamline)


def test_a_puck_another_station_loads_appears_on_the_open_map_highlighted_without_reloading(
        server, beamline: Page, at_both_widths):
    shipment = _puck_at_the_beamline(server)
    puck, position = shipment.containers[0], free_position(server, "i04")
    open_live_map(beamline, "i04")
    expect(slot(beamline, position)).to_contain_text("empty")

    load(server, puck, "i04", position, who="beamline")  # another session, through GraphQL

    arrived = slot(beamline, position)
    expect(arrived.locator("a.code")).to_have_text(puck, timeout=LIVE_MS)
    expect(arrived).to_have_class(re.compile(r"\bchanged\b"))
    expect(arrived.locator(".pins li")).to_have_count(3)
    assert beamline.evaluate("() => window.notReloaded === true"), "the page reloaded"
    at_both_widths(beamline)
    expect(arrived).not_to_have_class(re.compile(r"\bchanged\b"), timeout=LIVE_MS)  # a brief highlight


def test_beamline_staff_unload_a_puck_and_undo_it_into_the_same_position(server, beamline: Page, at_both_widths):
    shipment = _puck_at_the_beamline(server)
    puck, position = shipment.containers[0], free_position(server, "i04")
    load(server, puck, "i04", position)
    open_live_map(beamline, "i04")

    slot(beamline, position).get_by_role("button", name=f"Unload {puck} from position {position}").click()
    expect(slot(beamline, position)).to_contain_text("empty")
    undo = beamline.locator("#undo")
    expect(undo).to_be_visible()
    expect(undo.locator(".text")).to_have_text(f"Unloaded {puck} from i04 position {position}.")
    expect(undo.locator(".left")).to_have_text(re.compile(r"^(30|29|28) s$"))
    at_both_widths(beamline)

    undo.get_by_role("button", name=f"Undo: load {puck} back into position {position}").click()
    expect(undo.locator(".text")).to_have_text(f"Loaded {puck} back into i04 position {position}.")
    expect(slot(beamline, position).locator("a.code")).to_have_text(puck)
    assert beamline.evaluate("() => window.notReloaded === true"), "the page reloaded"
    history = server.gql("beamline", """query($b: String!) { container(barcode: $b) { ... on Container {
        loaded { instrument position } history { event } } } }""", b=puck)["container"]
    assert history["loaded"] == {"instrument": "i04", "position": position}
    assert [e["event"] for e in history["history"]][-3:] == ["Loaded", "Unloaded", "Loaded"]  # the undo is a load


def test_an_unload_not_undone_within_30_seconds_stays_unloaded(server, beamline: Page):
    shipment = _puck_at_the_beamline(server)
    puck, position = shipment.containers[0], free_position(server, "i04")
    load(server, puck, "i04", position)
    beamline.clock.install()  # the page's own clock: 30 s pass at once
    beamline.goto("/beamline/i04")

    slot(beamline, position).get_by_role("button", name=f"Unload {puck} from position {position}").click()
    expect(beamline.locator("#undo")).to_be_visible()
    beamline.clock.run_for(31_000)

    expect(beamline.locator("#undo")).to_be_hidden()
    expect(slot(beamline, position)).to_contain_text("empty")
