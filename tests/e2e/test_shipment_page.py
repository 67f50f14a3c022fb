"""A member registers, packs and sends a shipment on its page; imports spreadsheets; and does it
by keyboard alone."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook
from playwright.sync_api import Page, expect

from tests.e2e.support import focused, pack_shipment, tab_sequence, tab_to, unique

SPREADSHEET_COLUMNS = ["container_barcode", "container_type", "sample_position", "sample_name", "sample_kind",
                       "protein_acronym"]


def dewar_card(page: Page, barcode: str):
    return page.locator(f"article.dewar[data-barcode='{barcode}']")


def puck_item(page: Page, barcode: str):
    return page.locator("article.dewar li").filter(has=page.locator(f"a.code:text-is('{barcode}')"))


def wait_for_text(page: Page, selector: str, text: str) -> None:
    """Waits (checking every frame) until the element shows `text`: for a message the page shows
    for a moment before it reloads."""
    page.wait_for_function("([s, t]) => (document.querySelector(s)?.textContent || '').trim() === t",
                           arg=[selector, text], polling="raf")


def submit_and_wait_for_reload(page: Page, form: str) -> None:
    """Click the form's submit button; the page shows the result, then reloads."""
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")


def test_a_member_registers_packs_and_sends_a_shipment(ada: Page, screenshot):
    name = unique("Efflux pumps e2e ")
    puck = unique("CPS-")
    ada.goto("/shipments")
    ada.select_option("#new-shipment select[name=proposal]", "mx23694")
    ada.fill("#new-shipment input[name=name]", name)
    with ada.expect_navigation(url=re.compile(r"/shipments/[0-9a-f-]{36}$")):
        ada.click("#new-shipment button[type=submit]")
    expect(ada.locator("h1")).to_have_text(f"Shipment {name}")
    expect(ada.locator(".summary .tag.big")).to_have_text("registered")
    expect(ada.locator(".summary")).to_contain_text("mx23694")

    # A mail-in dewar for visit 1 on i03: a barcode is allocated.
    ada.fill("#add-dewar input[name=visit]", "1")
    ada.select_option("#add-dewar select[name=beamline]", "i03")
    submit_and_wait_for_reload(ada, "#add-dewar")
    dewars = ada.locator("article.dewar")
    expect(dewars).to_have_count(1)
    dewar = dewars.first.get_attribute("data-barcode")
    assert re.fullmatch(r"mx23694-1-i03-[0-9]{7}-[0-9a-z]", dewar), dewar

    # A unipuck with its barcode.
    ada.select_option("#add-container select[name=dewar]", dewar)
    ada.fill("#add-container input[name=barcode]", puck)
    ada.select_option("#add-container select[name=type]", "unipuck")
    submit_and_wait_for_reload(ada, "#add-container")
    expect(puck_item(ada, puck)).to_contain_text("unipuck")

    # Three MX crystals through the form generated from the kind's JSON Schema.
    samples = [unique(f"acrb_{n}_") for n in (1, 2, 3)]
    for position, sample in enumerate(samples, start=1):
        ada.select_option("#sample-container", puck)
        expect(ada.locator("#sample-kind")).to_have_value("mx-crystal")
        acronym = ada.locator("#sample-attributes input[name=protein_acronym]")
        expect(acronym).to_have_attribute("required", "")
        ada.fill("#add-sample input[name=position]", str(position))
        ada.fill("#add-sample input[name=name]", sample)
        acronym.fill("AcrB")
        with ada.expect_navigation():
            ada.click("#add-sample button[type=submit]")
            wait_for_text(ada, "#add-sample .result", f"Added {sample} at position {position}.")
    rows = puck_item(ada, puck).locator("table tbody tr")
    expect(rows).to_have_count(3)
    for position, sample in enumerate(samples, start=1):
        expect(rows.nth(position - 1).locator("td")).to_have_text([str(position), sample, "mx-crystal"])

    # DHL with a 10-digit air waybill, then sent.
    ada.select_option("#courier select[name=courier]", "dhl")
    ada.fill("#courier input[name=trackingNumber]", "1234567891")
    submit_and_wait_for_reload(ada, "#courier")
    expect(ada.locator(".summary")).to_contain_text("courier dhl 1234567891")
    submit_and_wait_for_reload(ada, "#mark-sent")
    expect(ada.locator(".summary .tag.big")).to_have_text("sent")
    expect(dewar_card(ada, dewar).locator("h3 .tag")).to_have_text("sent")
    expect(puck_item(ada, puck).locator("table tbody tr")).to_have_count(3)
    expect(ada.locator("#add-sample")).to_have_count(0)  # a sent shipment is no longer packed
    screenshot(ada)


def csv_file(name: str, rows: list[list[str]]) -> dict:
    text = "\n".join(",".join(row) for row in [SPREADSHEET_COLUMNS, *rows]) + "\n"
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}


def xlsx_file(name: str, rows: list[list[object]]) -> dict:
    book = Workbook()
    sheet = book.active
    sheet.append(SPREADSHEET_COLUMNS)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return {"name": name, "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "buffer": out.getvalue()}


def puck_rows(puck: str, names: list[str], bad_row: int | None = None, as_numbers: bool = False) -> list[list]:
    """One row per sample; `bad_row` (the spreadsheet's row number, the header being row 1) has an
    invalid protein acronym."""
    rows = []
    for index, name in enumerate(names):
        acronym = "Acr B!" if bad_row == index + 2 else "AcrB"
        position = index + 1 if as_numbers else str(index + 1)
        rows.append([puck, "unipuck", position, name, "mx-crystal", acronym])
    return rows


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_import_with_a_bad_cell_names_it_and_saves_nothing_then_a_good_file_imports(
        server, ada: Page, screenshot, kind: str):
    shipment = pack_shipment(server, containers=0)
    puck = unique("IMP-")
    names = [unique(f"imp_{n}_") for n in (1, 2, 3)]
    make = csv_file if kind == "csv" else xlsx_file
    ada.goto(f"/shipments/{shipment.id}")
    upload = ada.locator("#import input[type=file]")

    upload.set_input_files(make(f"bad.{kind}", puck_rows(puck, names, bad_row=3, as_numbers=kind == "xlsx")))
    with ada.expect_navigation():
        ada.click("#import button[type=submit]")
    expect(ada.locator("h1")).to_have_text("Nothing was imported")
    expect(ada.locator(".problem")).to_have_text(f"bad.{kind}: 1 problem in 1 row. Nothing was imported: correct "
                                                 "these cells in your file and import it again.")
    cells = ada.locator("#import-errors tbody tr").first.locator("td")
    expect(cells).to_have_text(["3", "protein_acronym", "Acr B!", re.compile(r"letters, digits")])
    error_text = ada.locator("#import-errors").inner_text()
    screenshot(ada)

    with ada.expect_navigation():
        ada.click("text=Back to the shipment")
    card = dewar_card(ada, shipment.dewar)
    expect(card).to_contain_text("No containers yet.")
    html = ada.content()
    assert puck not in html and not any(n in html for n in names), "a refused import saved something"

    ada.locator("#import input[type=file]").set_input_files(
        make(f"good.{kind}", puck_rows(puck, names, as_numbers=kind == "xlsx")))
    with ada.expect_navigation():
        ada.click("#import button[type=submit]")
    expect(ada.locator("#import .result")).to_have_text("Imported 3 samples.")
    rows = puck_item(ada, puck).locator("table tbody tr")
    expect(rows).to_have_count(3)
    for position, name in enumerate(names, start=1):
        expect(rows.nth(position - 1).locator("td")).to_have_text([str(position), name, "mx-crystal"])
    assert "protein_acronym" in error_text


def test_the_shipment_page_works_by_keyboard_alone(server, ada: Page, screenshot):
    shipment = pack_shipment(server, containers=0)
    ada.goto(f"/shipments/{shipment.id}")
    order = [(f["form"], f["name"] or f["type"]) for f in tab_sequence(ada) if f["form"]]
    expected = {
        "courier": [("courier", "courier"), ("courier", "trackingNumber"), ("courier", "submit")],
        "add-dewar": [("add-dewar", "visit"), ("add-dewar", "beamline"), ("add-dewar", "kind"), ("add-dewar", "submit")],
        "add-container": [("add-container", "dewar"), ("add-container", "barcode"), ("add-container", "type"),
                          ("add-container", "parent"), ("add-container", "position"), ("add-container", "submit")],
        "import": [("import", "dewar"), ("import", "file"), ("import", "submit")],
    }
    for form, fields in expected.items():
        reached = [step for step in order if step[0] == form]
        assert reached[:len(fields)] == fields, f"Tab order in #{form}: {reached}"
    forms_in_order = list(dict.fromkeys(f for f, _ in order))
    assert [f for f in forms_in_order if f in expected] == list(expected), forms_in_order
    expect(ada.locator("#no-container")).to_contain_text("Add a container first")  # no sample form without one

    # Enter submits: a container, a sample and the courier, typed without the mouse.
    puck = unique("KBD-")
    ada.goto(f"/shipments/{shipment.id}")
    tab_to(ada, "#add-container input[name=barcode]")
    ada.keyboard.type(puck)
    with ada.expect_navigation():
        ada.keyboard.press("Enter")
    expect(puck_item(ada, puck)).to_contain_text("unipuck")
    order = [(f["form"], f["name"] or f["type"]) for f in tab_sequence(ada) if f["form"] == "add-sample"]
    assert order[:4] == [("add-sample", "container"), ("add-sample", "position"), ("add-sample", "kind"),
                         ("add-sample", "name")], order
    assert ("add-sample", "protein_acronym") in order and order[-1] == ("add-sample", "submit"), order

    sample = unique("kbd_")
    tab_to(ada, "#add-sample input[name=position]")
    ada.keyboard.type("1")
    tab_to(ada, "#add-sample input[name=name]")
    ada.keyboard.type(sample)
    tab_to(ada, "#sample-attributes input[name=protein_acronym]")
    ada.keyboard.type("AcrB")
    with ada.expect_navigation():
        ada.keyboard.press("Enter")
    expect(puck_item(ada, puck).locator("table tbody tr")).to_have_count(1)
    expect(puck_item(ada, puck)).to_contain_text(sample)

    tab_to(ada, "#courier input[name=trackingNumber]")
    ada.keyboard.type("JJD000390007795000000")
    with ada.expect_navigation():
        ada.keyboard.press("Enter")
    expect(ada.locator(".summary")).to_contain_text("courier dhl JJD000390007795000000")

    # A focused control is visibly marked.
    tab_to(ada, "#mark-sent button[type=submit]")
    outline = ada.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline
    assert focused(ada)["form"] == "mark-sent"
    screenshot(ada)


def test_a_bad_tracking_number_says_which_value_is_wrong_and_what_is_accepted(server, ada: Page, screenshot):
    shipment = pack_shipment(server, containers=0)
    ada.goto(f"/shipments/{shipment.id}")
    ada.select_option("#courier select[name=courier]", "dhl")
    ada.fill("#courier input[name=trackingNumber]", "12345")
    ada.press("#courier input[name=trackingNumber]", "Enter")
    result = ada.locator("#courier .result")
    expect(result).to_have_class(re.compile(r"\bbad\b"))
    expect(result).to_contain_text("'12345'")
    expect(result).to_contain_text("10-digit")
    expect(result).to_have_attribute("role", "status")
    screenshot(ada)
    ada.reload()
    expect(ada.locator(".summary")).not_to_contain_text("12345")


def test_the_sample_form_follows_the_order_of_the_kinds_schema(server, ada: Page, screenshot):
    shipment = pack_shipment(server, samples=0)
    ada.goto(f"/shipments/{shipment.id}")
    ada.select_option("#sample-kind", "mx-crystal")
    fields = ada.locator("#sample-attributes").locator("input, select")
    expect(fields.first).to_be_visible()
    names = [fields.nth(i).get_attribute("name") for i in range(fields.count())]
    screenshot(ada)
    assert names == ["protein_acronym", "protein_name", "space_group", "unit_cell.a", "unit_cell.b", "unit_cell.c",
                     "unit_cell.alpha", "unit_cell.beta", "unit_cell.gamma", "pin_barcode", "loop_type", "comments"]


def test_a_bad_protein_acronym_is_explained_in_words(server, ada: Page, screenshot):
    shipment = pack_shipment(server, containers=0)
    ada.goto(f"/shipments/{shipment.id}")
    ada.locator("#import input[type=file]").set_input_files(
        csv_file("bad.csv", puck_rows(unique("WRD-"), [unique("w_")], bad_row=2)))
    with ada.expect_navigation():
        ada.click("#import button[type=submit]")
    result = ada.locator("#import-errors tbody tr").first
    expect(result.locator("td").nth(1)).to_have_text("protein_acronym")
    screenshot(ada)
    text = result.inner_text()
    assert "letters, digits" in text and "^[" not in text, text


def test_adding_a_sample_before_any_container_says_to_add_a_container_first(server, ada: Page, screenshot):
    shipment = pack_shipment(server, containers=0)
    ada.goto(f"/shipments/{shipment.id}")
    form = ada.locator("#add-sample")
    if form.count():
        ada.fill("#add-sample input[name=position]", "1")
        ada.fill("#add-sample input[name=name]", unique("lonely_"))
        ada.fill("#sample-attributes input[name=protein_acronym]", "AcrB")
        ada.press("#sample-attributes input[name=protein_acronym]", "Enter")
        expect(ada.locator("#add-sample .result")).not_to_be_empty()
    screenshot(ada)
    text = ada.locator("main").inner_text()
    assert "Variable '$container'" not in text and "connection" not in text, text
    assert re.search(r"add a container|container first|no container", text, re.I), text
