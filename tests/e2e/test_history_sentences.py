"""People read what happened to their things as sentences, with links to the things named."""

from __future__ import annotations

from typing import Callable

from playwright.sync_api import Page, expect

from tests.e2e.support import free_position, load, pack_shipment, scan_in, take_to_instrument


def test_a_member_reads_her_dewars_history_as_sentences_and_follows_a_link_to_the_puck(
        server, ada: Page, sign_in: Callable[..., Page], at_both_widths):
    shipment = pack_shipment(server, sent=True)
    puck = shipment.containers[0]
    scan_in(server, shipment.dewar)
    take_to_instrument(server, shipment.dewar, "i03")
    position = free_position(server, "i03")
    load(server, puck, "i03", position)

    ada.goto(f"/dewars/{shipment.dewar}")
    history = ada.locator("section.history")
    expect(history).to_contain_text(f"Received dewar {shipment.dewar} at Stores goods-in bay")
    loaded = history.locator("li", has_text=f"Loaded unipuck {puck} into i03 sample changer position {position}")
    expect(loaded).to_have_count(1)
    expect(loaded.locator(".by")).to_have_text("by beamline staff")
    expect(history).not_to_contain_text("ContainerLoaded")
    expect(history).not_to_contain_text("container_id")
    expect(history.locator("details.raw")).to_have_count(0)  # the raw data is for staff
    at_both_widths(ada)

    loaded.get_by_role("link", name=f"unipuck {puck}").click()
    expect(ada).to_have_url(f"{server.url}/containers/{puck}")
    expect(ada.locator("section.history")).to_contain_text(f"Loaded unipuck {puck} into i03 sample changer "
                                                            f"position {position}")


def test_stores_open_the_raw_data_behind_a_sentence(server, stores: Page, at_both_widths):
    shipment = pack_shipment(server, sent=True)
    scan_in(server, shipment.dewar)

    stores.goto(f"/dewars/{shipment.dewar}")
    received = stores.locator("section.history li", has_text=f"Received dewar {shipment.dewar}")
    expect(received.locator(".by")).to_have_text("by stores-desk-1")
    raw = received.locator("details.raw")
    expect(raw.locator("code")).to_be_hidden()
    raw.locator("summary").click()
    expect(raw.locator("code")).to_contain_text('"location":"loc-goods-in"')
    at_both_widths(stores)
