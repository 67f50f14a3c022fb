"""A member fills a puck's sixteen positions as one grid (typing, Tab, Enter, pasting a block from a
spreadsheet), sees a bad cell marked where it is, and saves; an import with mistakes is a page that
lists every bad cell with the allowed values a link away; an error is a page in the site's layout."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import Page, expect

from tests.e2e.support import pack_shipment, unique

PASTE = """(el, text) => {
  const data = new DataTransfer();
  data.setData("text/plain", text);
  el.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
}"""


def cell(page: Page, position: str, column: str):
    return page.locator(f"#grid input[data-pos='{position}'][data-col='{column}']")


def focused_cell(page: Page) -> tuple[str, str]:
    return tuple(page.evaluate("() => [document.activeElement.dataset.pos, document.activeElement.dataset.col]"))


def test_a_member_fills_a_puck_in_one_grid_by_typing_tab_enter_and_pasting_a_block(server, ada: Page, at_both_widths):
    pack_shipment(server, samples=1)  # the proposal has used the acronym AcrB before
    puck = pack_shipment(server, samples=0).containers[0]
    ada.goto(f"/containers/{puck}")
    expect(ada.locator("#grid tbody tr")).to_have_count(16)
    expect(ada.locator("#acronyms option[value='AcrB']")).to_have_count(1)
    headers = ada.locator("#grid thead th").all_inner_texts()
    assert headers[:5] == ["Pos.", "Sample name *", "Protein acronym *", "Protein name", "Space group"], headers
    assert [h for h in headers if h.startswith("Unit cell")] == [
        "Unit cell a (Å)", "Unit cell b (Å)", "Unit cell c (Å)", "Unit cell alpha (°)", "Unit cell beta (°)",
        "Unit cell gamma (°)"]

    # Type position 1: Tab moves right, Enter moves down.
    cell(ada, "1", "sample_name").click()
    ada.keyboard.type("grid_1")
    ada.keyboard.press("Tab")
    assert focused_cell(ada) == ("1", "protein_acronym")
    ada.keyboard.type("AcrB")
    ada.keyboard.press("Enter")
    assert focused_cell(ada) == ("2", "protein_acronym")

    # Paste three rows copied from a spreadsheet into position 2's name cell.
    block = ("grid_2\tAcrB\tAcrB efflux pump\tP212121\t79.1\t79.1\t37.9\t90\t90\t90\n"
             "grid_3\tAcrB\t\tP 43 21 2\n"
             "grid_4\tAcrB\n")
    cell(ada, "2", "sample_name").evaluate(PASTE, block)
    expect(cell(ada, "2", "unit_cell_gamma")).to_have_value("90")
    expect(cell(ada, "3", "space_group")).to_have_value("P 43 21 2")
    expect(cell(ada, "4", "sample_name")).to_have_value("grid_4")
    expect(cell(ada, "5", "sample_name")).to_have_value("")

    # Save: the one bad cell is marked where it is, with its message; nothing is saved.
    ada.click("#grid-save")
    bad = ada.locator("#grid td.bad")
    expect(bad).to_have_count(1)
    expect(bad).to_have_attribute("data-col", "space_group")
    expect(bad.locator(".cell-error")).to_have_text(
        '"P 43 21 2" is not a space group we know: expected a space group such as P212121 (67 allowed; see the list)')
    expect(bad.locator(".cell-error a")).to_have_attribute("href", "/sample-kinds/mx-crystal#space_group")
    expect(ada.locator("#grid-result")).to_have_text(
        "1 cell is wrong (position 3, Space group); nothing was saved. The marked cells say what each needs.")
    at_both_widths(ada)
    ada.reload()
    expect(ada.locator("main section").nth(1)).to_contain_text("Empty.")

    # Put it right and save: every position at once.
    cell(ada, "1", "sample_name").fill("grid_1")
    cell(ada, "1", "protein_acronym").fill("AcrB")
    cell(ada, "2", "sample_name").evaluate(PASTE, block.replace("P 43 21 2", "P43212"))
    with ada.expect_navigation():
        ada.click("#grid-save")
    rows = ada.locator("main table.compact tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(2).locator("td")).to_have_text(["3", "grid_3", "mx-crystal"])
    expect(cell(ada, "2", "unit_cell_c")).to_have_value("37.9")


def test_a_member_reads_every_mistake_of_an_import_on_a_page_and_follows_the_link_to_the_allowed_values(
        server, ada: Page, at_both_widths):
    shipment = pack_shipment(server, containers=0)
    puck = unique("ERR-")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["container_barcode", "container_type", "sample_position", "sample_name", "sample_kind",
                     "protein_acronym", "space_group", "unit_cell_a"])
    writer.writerow([puck, "unipuck", "1", "e_1", "mx-crystal", "", "P 43 21 2", "wide"])
    writer.writerow([puck, "unipuck", "17", "e_2", "mx-crystal", "AcrB", "P43212", ""])
    ada.goto(f"/shipments/{shipment.id}")
    ada.locator("#import input[type=file]").set_input_files(
        {"name": "mistakes.csv", "mimeType": "text/csv", "buffer": out.getvalue().encode()})
    with ada.expect_navigation():
        ada.click("#import button[type=submit]")
    expect(ada.locator("h1")).to_have_text("Nothing was imported")
    expect(ada.locator(".problem")).to_have_text("mistakes.csv: 4 problems in 2 rows. Nothing was imported: correct "
                                                 "these cells in your file and import it again.")
    rows = ada.locator("#import-errors tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0).locator("td")).to_have_text(["2", "protein_acronym", "", "Protein acronym is required"])
    expect(rows.nth(1).locator("td")).to_have_text([
        "2", "space_group", "P 43 21 2",
        '"P 43 21 2" is not a space group we know: expected a space group such as P212121 (67 allowed; see the list)'])
    expect(rows.nth(2).locator("td")).to_have_text([
        "2", "unit_cell_a", "wide", '"wide" is not a number: expected digits with a decimal point, such as 79.1'])
    expect(rows.nth(3).locator("td")).to_have_text([
        "3", "sample_position", "17", "position '17' does not exist in a Unipuck: expected 1 to 16"])
    at_both_widths(ada)

    with ada.expect_navigation():
        rows.nth(1).locator("a", has_text="see the list").click()
    expect(ada).to_have_url(re.compile(r"/sample-kinds/mx-crystal#space_group$"))
    group = ada.locator("tr#space_group")
    expect(group).to_contain_text("67 allowed:")
    expect(group.locator("li", has_text=re.compile(r"^P212121$"))).to_have_count(1)


def test_a_member_printing_labels_of_an_empty_shipment_gets_a_page_saying_why(server, ada: Page, at_both_widths,
                                                                              screenshot):
    empty = server.gql("ada", 'mutation($n: String!) { createShipment(proposal: "mx23694", name: $n) '
                              '{ ... on Shipment { id } } }', n=unique("Empty "))["createShipment"]["id"]
    ada.goto(f"/shipments/{empty}")
    with ada.expect_navigation():
        ada.click("form[action$='/labels'] button:has-text('A4 sheet of 14 (PDF)')")
    expect(ada.locator("h1")).to_have_text("No labels printed")
    expect(ada.locator(".problem")).to_contain_text("has no dewar yet: add one before printing labels")
    expect(ada.locator("main")).to_contain_text("Nothing was printed or recorded.")
    expect(ada.locator("header.top nav")).to_contain_text("My shipments")  # the site's own layout, not JSON
    at_both_widths(ada)
    with ada.expect_navigation():
        ada.click("text=Back to the shipment")
    expect(ada).to_have_url(f"{server.url}/shipments/{empty}")

    missing = ada.goto("/shipmnets")
    assert missing is not None and missing.status == 404
    expect(ada.locator(".problem")).to_have_text("There is no page at /shipmnets.")
    screenshot(ada, "404")


def test_a_member_copies_an_earlier_shipments_layout_into_a_new_shipment(server, ada: Page, at_both_widths):
    earlier = pack_shipment(server, samples=2)
    ada.goto(f"/shipments/{earlier.id}")
    name = unique("Copied ")
    ada.fill("#copy-layout input[name=name]", name)
    with ada.expect_navigation(url=re.compile(r"/shipments/[0-9a-f-]{36}\?copied=1$")):
        ada.click("#copy-layout button[type=submit]")
    expect(ada.locator("h1")).to_have_text(f"Shipment {name}")
    puck = earlier.containers[0]
    expect(ada.locator("#copied")).to_contain_text(
        f"container {puck} is still packed for another trip: its copy is {puck}-2")
    rows = ada.locator("article.dewar table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1).locator("td")).to_have_text(["2", earlier.samples[1], "mx-crystal"])
    assert earlier.dewar not in ada.locator("article.dewar h3").inner_text()
    at_both_widths(ada)
