"""No dead ends: the sample page shows what the sample is; the find box finds a shipment by name."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.support import pack_shipment


def test_a_member_reads_her_samples_attributes_on_its_page(server, ada: Page, at_both_widths):
    shipment = pack_shipment(server, samples=1)
    ada.goto(f"/samples/{shipment.sample_ids[0]}")
    attributes = ada.locator("section.attributes")
    expect(attributes.locator("dt", has_text="protein acronym")).to_have_count(1)
    expect(attributes.locator("dd")).to_contain_text("AcrB")
    at_both_widths(ada)


def test_a_member_finds_her_shipment_by_typing_its_name_in_the_find_box(server, ada: Page, at_both_widths):
    shipment = pack_shipment(server, samples=1)
    ada.goto("/shipments")
    ada.fill("#find", shipment.name.lower())
    with ada.expect_navigation():
        ada.press("#find", "Enter")
    expect(ada).to_have_url(f"{server.url}/shipments/{shipment.id}")
    expect(ada.locator("h1")).to_contain_text(shipment.name)

    ada.fill("#find", "no such shipment or barcode")
    with ada.expect_navigation():
        ada.press("#find", "Enter")
    expect(ada.locator(".problem")).to_contain_text("no shipment is named 'no such shipment or barcode'")
    at_both_widths(ada)
