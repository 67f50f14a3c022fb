"""A user group prints its shipment's labels; every barcode on them scans back to its value."""

from __future__ import annotations

import re

import pytest

from logistics.adapters.label_printer import LabelPrinter
from logistics.domain.errors import InvalidValue, NotFound
from logistics.service_layer.access import Principal
from logistics.service_layer.labelling import print_labels
from logistics.service_layer.session import Session
from tests.helpers import STORES, USER, packed_dewar
from tests.labels.support import decode, pages


def _member(system, proposal: str) -> Session:
    return Session(system.app, system.views, Principal("acct-1", "ada", frozenset({"member"}), frozenset({proposal})))


def _decoded(pdf: bytes) -> set[str]:
    """Every barcode on every page, rasterised at a thermal printer's 203 dpi."""
    return {text for image in pages(pdf) for _symbology, text in decode(image)}


@pytest.fixture(scope="module")
def printer():
    return LabelPrinter()


def test_a_member_prints_labels_that_scan_back_and_the_printing_is_in_the_history(system, printer):
    shipment, barcode = packed_dewar(system)
    second = system.app.add_mail_in_dewar(shipment, 1, "i03", USER)
    session = _member(system, "mx23694")
    for stock in ("a4-14", "a4", "thermal-4x6"):
        pdf = print_labels(session, printer, "mx23694/Run 1", stock, "pdf")
        assert pdf.startswith(b"%PDF")
        assert {barcode, second} <= _decoded(pdf), stock
    zpl = print_labels(session, printer, str(shipment), "thermal-4x6", "zpl").decode()
    assert zpl.count("^XA") == zpl.count("^XZ") >= 2
    assert f"^FD{barcode}^FS" in zpl
    printed = [e for e in system.app.history(shipment) if e["event"] == "LabelsPrinted"]
    assert [(e["data"]["stock"], e["data"]["label_format"]) for e in printed] == [
        ("a4-14", "pdf"), ("a4", "pdf"), ("thermal-4x6", "pdf"), ("thermal-4x6", "zpl")]
    assert printed[0]["actor"] == "account:acct-1"


def test_the_return_label_carries_the_booked_tracking_number(system, printer):
    shipment, barcode = packed_dewar(system)
    system.app.mark_sent(shipment, USER)
    system.app.scan_dewar(barcode, "loc-goods-in", STORES)
    system.app.request_dispatch(barcode, USER)
    system.app.book_dispatch(barcode, "ups", "1Z999AA10123456784", STORES)
    pdf = print_labels(_member(system, "mx23694"), printer, "Run 1", "a4", "pdf")
    assert "1Z999AA10123456784" in _decoded(pdf)


def test_a_member_of_another_proposal_cannot_print_them_nor_learn_they_exist(system, printer):
    shipment, _ = packed_dewar(system)
    stranger = _member(system, "mx99999")
    with pytest.raises(NotFound) as by_id:
        print_labels(stranger, printer, str(shipment))
    with pytest.raises(NotFound) as by_name:
        print_labels(stranger, printer, "Run 1")
    assert "mx23694" not in by_id.value.message + by_name.value.message
    assert not [e for e in system.app.history(shipment) if e["event"] == "LabelsPrinted"]


def test_an_unknown_stock_or_format_is_refused_and_nothing_is_recorded(system, printer):
    shipment, _ = packed_dewar(system)
    with pytest.raises(InvalidValue, match="label stock 'a5' is not known: expected one of a4-14, a4, thermal-4x6"):
        print_labels(_member(system, "mx23694"), printer, "Run 1", "a5")
    with pytest.raises(InvalidValue, match="ZPL needs a roll stock"):
        print_labels(_member(system, "mx23694"), printer, "Run 1", "a4-14", "zpl")
    assert not [e for e in system.app.history(shipment) if e["event"] == "LabelsPrinted"]


def test_each_dewars_address_label_names_that_dewars_own_instrument(system, printer):
    shipment, first = packed_dewar(system)
    second = system.app.add_mail_in_dewar(shipment, 2, "i04", USER)
    session = _member(system, "mx23694")

    zpl = print_labels(session, printer, "mx23694/Run 1", "thermal-4x6", "zpl").decode()

    instruments = [label for label in zpl.split("^XZ") if "Instrument" in label]  # the two address labels
    assert len(instruments) == 2
    assert "Instrument i03" in instruments[0] and "Instrument i04" not in instruments[0]
    assert "Instrument i04" in instruments[1] and "Instrument i03" not in instruments[1]


# --- what stores read and scan on each label (issue 17) ------------------------------------------

def _two_dewars_for_two_instruments(system):
    """mx23694/Run 1: dewar 1 for i03 (visit 1) with a puck and a cane holding a puck; dewar 2 for i04
    (visit 2) with a cryo-EM puck holding a grid box. The sender entered the DHL air waybill."""
    app = system.app
    shipment, first = packed_dewar(system)  # holds CPS-0001
    app.add_container("CANE-0007", "cane", first, USER)
    app.add_container("CPS-0002", "unipuck", first, USER, parent="CANE-0007", position="1")
    second = app.add_mail_in_dewar(shipment, 2, "i04", USER)
    app.add_container("EMP-0001", "cryo-em-puck", second, USER)
    app.add_container("GB-0001", "grid-box", second, USER, parent="EMP-0001", position="1")
    app.set_courier(shipment, "dhl", "1234567891", USER)
    dewars = {first: ("i03", "mx23694-1"), second: ("i04", "mx23694-2")}
    containers = {"CPS-0001": "Unipuck", "CANE-0007": "Cane", "CPS-0002": "Unipuck",
                  "EMP-0001": "Cryo-EM puck", "GB-0001": "Grid box"}
    return shipment, dewars, containers


def _labels_on_the_sheets(pdf: bytes, stock, sheets: list[int] | None = None) -> list[tuple[str, list[str]]]:
    """(the words, the Code 128 values decoded) of every label position holding something, sheet by
    sheet and position by position as the stock lays them out (the manifest's pages are left out).
    Each position is rasterised at a thermal printer's 203 dpi and decoded on its own. The label sheets'
    page numbers are appended to ``sheets``."""
    import pypdfium2 as pdfium

    from tests.labels.support import RASTER_DPI, crop

    doc = pdfium.PdfDocument(pdf)
    images = pages(pdf)
    found = []
    try:
        for index in range(len(doc)):
            page = doc[index]
            if tuple(round(v) for v in page.get_size()) != tuple(round(v) for v in stock.page_size):
                continue  # a manifest page (A4 on a thermal stock)
            if "Page 1 of" in page.get_textpage().get_text_range():
                continue  # the manifest on an A4 sheet stock
            if sheets is not None:
                sheets.append(index + 1)
            width, height = stock.label_size
            for slot in range(stock.per_page):
                x, y = stock.label_origin(slot)
                words = page.get_textpage().get_text_bounded(x, y, x + width, y + height)
                codes = [text for fmt, text in decode(crop(images[index], (x, y, x + width, y + height),
                                                           stock.page_size[1], RASTER_DPI)) if fmt == "Code128"]
                if words.strip() or codes:
                    found.append((" ".join(words.split()), sorted(codes)))
    finally:
        doc.close()
    return found


@pytest.mark.parametrize("stock_code", ["a4-14", "a4", "thermal-4x6"])
def test_stores_read_each_dewars_instrument_visit_barcode_and_tracking_and_scan_every_puck_cane_and_grid_box(
        system, printer, stock_code):
    shipment, dewars, containers = _two_dewars_for_two_instruments(system)
    stock = printer.stock(stock_code)
    pdf = print_labels(_member(system, "mx23694"), printer, "mx23694/Run 1", stock_code, "pdf")
    sheets: list[int] = []
    labels_found = _labels_on_the_sheets(pdf, stock, sheets)

    # Two dewar labels, two address labels, five container labels: nine labels, several to a sheet.
    assert len(labels_found) == 9
    assert len(sheets) == {"a4-14": 1, "a4": 2, "thermal-4x6": 9}[stock_code]

    address_labels = [(words, codes) for words, codes in labels_found if "Cryogenic dry shipper" in words]
    assert len(address_labels) == 2
    for barcode, (instrument, visit) in dewars.items():
        [(words, codes)] = [(w, c) for w, c in address_labels if c == [barcode]]  # it scans as its own dewar
        assert f"Instrument {instrument}" in words and f"Visit {visit}" in words
        assert barcode in words and "Tracking DHL 1234567891" in words
        other = next(i for b, (i, _) in dewars.items() if b != barcode)
        assert f"Instrument {other}" not in words

    for barcode, name in containers.items():
        [(words, codes)] = [(w, c) for w, c in labels_found if c == [barcode]]
        assert barcode in words and name in words and "mx23694" in words

    # Every barcode printed is a dewar's or a container's of this shipment, each decoded where it is printed.
    assert sorted(code for _, codes in labels_found for code in codes) == sorted(
        [*dewars, *dewars, *containers])  # a dewar's barcode is on its dewar label and its address label


def test_a_zebra_printer_gets_each_dewars_address_label_and_a_label_for_every_container(system, printer):
    from labels.zpl import unescape_field

    shipment, dewars, containers = _two_dewars_for_two_instruments(system)
    zpl = print_labels(_member(system, "mx23694"), printer, str(shipment), "thermal-4x6", "zpl").decode()
    formats = [f for f in zpl.split("^XZ") if "^XA" in f]

    def bars(fmt: str) -> list[str]:
        return [unescape_field(v) for v in re.findall(r"\^BC[^\^]*\^FH_\^FD([^\^]*)\^FS", fmt)]

    def words(fmt: str) -> list[str]:
        return [unescape_field(v) for v in re.findall(r"\^A0N[^\^]*\^FB[^\^]*\^FH_\^FD([^\^]*)\^FS", fmt)]

    assert len(formats) == 9
    address_labels = [f for f in formats if any("Cryogenic dry shipper" in w for w in words(f))]
    for barcode, (instrument, visit) in dewars.items():
        [label] = [f for f in address_labels if bars(f) == [barcode]]
        assert any(f"Instrument {instrument}" in w and f"Visit {visit}" in w for w in words(label))
        assert barcode in words(label) and "Tracking DHL 1234567891" in words(label)
    for barcode, name in containers.items():
        [label] = [f for f in formats if bars(f) == [barcode]]
        assert {barcode, name, "mx23694"} <= set(words(label))


def test_the_return_label_names_its_dewar_and_the_return_booking_while_the_address_label_keeps_the_outbound(
        system, printer):
    shipment, barcode = packed_dewar(system)
    system.app.set_courier(shipment, "dhl", "1234567891", USER)
    system.app.mark_sent(shipment, USER)
    system.app.scan_dewar(barcode, "loc-goods-in", STORES)
    system.app.request_dispatch(barcode, USER)
    system.app.book_dispatch(barcode, "ups", "1Z999AA10123456784", STORES)
    pdf = print_labels(_member(system, "mx23694"), printer, "Run 1", "a4", "pdf")
    labels_found = _labels_on_the_sheets(pdf, printer.stock("a4"))
    [(return_words, return_codes)] = [(w, c) for w, c in labels_found if "RETURN TO" in w]
    assert return_codes == ["1Z999AA10123456784"]
    assert f"Dewar {barcode}" in return_words and "Courier: UPS" in return_words
    [(address_words, address_codes)] = [(w, c) for w, c in labels_found if "Cryogenic dry shipper" in w]
    assert address_codes == [barcode] and "Tracking DHL 1234567891" in address_words


def test_the_shipment_pages_label_buttons_print_every_container_label_and_a_download_records_nothing(system):
    from starlette.testclient import TestClient

    from logistics.entrypoints.web import create_app

    shipment, dewars, containers = _two_dewars_for_two_instruments(system)
    system.accounts.add("sam", ["stores"], password="correct horse battery staple")
    client = TestClient(create_app(system), base_url="http://tracker")
    assert client.post("/login", data={"username": "sam", "password": "correct horse battery staple", "next": "/"},
                       headers={"origin": "http://tracker"}, follow_redirects=False).status_code == 303
    page = client.get(f"/shipments/{shipment}").text
    buttons = re.findall(r'name="stock" value="([^"]+)"><input type="hidden" name="format" value="([^"]+)">'
                         r'\s*<button type="submit">([^<]+)</button>', page)
    assert ("a4", "pdf", "A4 sheet of 8 (PDF)") in buttons and ("thermal-4x6", "zpl", "4×6 Zebra (ZPL)") in buttons

    downloaded = client.get(f"/shipments/{shipment}/labels", params={"stock": "a4"})
    assert downloaded.status_code == 200
    assert set(containers) | set(dewars) <= _decoded(downloaded.content)
    assert system.app.shipment(shipment).labels_printed == 0  # looking at them is not printing them

    printed = client.post(f"/shipments/{shipment}/labels", data={"stock": "thermal-4x6", "format": "zpl"},
                          headers={"origin": "http://tracker"})
    assert printed.status_code == 200
    assert all(f"^FD{barcode}^FS" in printed.text for barcode in [*containers, *dewars])
    assert system.app.shipment(shipment).labels_printed == 1
