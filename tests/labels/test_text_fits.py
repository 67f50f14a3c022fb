"""No text runs outside its label, however long the values are."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest
from tests.labels.support import LONG_NAME, address, container, dewar, return_label

from labels import render_pdf

LONG_LINE = "Department of Structural and Molecular Biology, Faculty of Life Sciences, Building 42, Room 1.23"


def _long_items():
    return [
        dewar(shipment_name=LONG_NAME, facility_code="DLS-MX-0007", safety_level="Yellow: toxic, see SDS",
              proposal="mx23694-very-long-proposal-reference", qr_url="https://ispyb.example.org/dewars/x"),
        dewar(containers=0, shipment_name="W" * 200),
        address(facility_address=(LONG_LINE,) * 3 + ("Didcot", "OX11 0DE"), sender_name="Prof. " + "Wolfeschlegel" * 6,
                sender_lines=(LONG_LINE,) * 12, instrument="i03 " * 30, experiment_date="2024-05-10 to 2024-05-14",
                dewar_barcode="cm26459-12-m02-0003870-x", visit="cm26459-12", courier="FEDEX",
                tracking_number="9622001900000000000000776632145678"),
        address(sender_name="Dr Łukasz Żółć", facility_address=("Ελληνικό Ινστιτούτο", "東京都港区", "Japan")),
        return_label(return_address=(LONG_LINE,) * 20, courier="DHL Express Worldwide " * 5,
                     courier_account="9" * 80, dewar_barcode="cm26459-12-m02-0003870-x"),
        return_label(tracking=None),
        container(container_type="crystallisation plate (96 well) with a very long name indeed",
                  proposal="cm26459-" + "x" * 60),
    ]


def _label_rects(report):
    return {(b.page, b.label_rect) for b in report}


@pytest.mark.parametrize("stock_code", ["a4-14", "a4", "thermal-4x6"])
def test_reported_boxes_lie_inside_their_label(stocks, stock_code):
    report = []
    render_pdf(_long_items(), stocks[stock_code], layout_report=report)
    texts = [b for b in report if b.kind == "text"]
    assert len(texts) > 40
    outside = [b for b in report if not b.inside_label()]
    assert outside == []
    # Long values were shortened visibly, not dropped.
    shipment = [b.content for b in texts if b.content.startswith("Shipment: ")]
    assert shipment and all(s.endswith("\u2026") for s in shipment)


@pytest.mark.parametrize("stock_code", ["a4-14", "a4", "thermal-4x6"])
def test_every_glyph_in_the_pdf_lies_inside_a_label(stocks, stock_code):
    # Checks the PDF itself, not only the renderer's own account of it.
    stock = stocks[stock_code]
    report = []
    pdf = render_pdf(_long_items(), stock, layout_report=report)
    rects = _label_rects(report)
    doc = pdfium.PdfDocument(pdf)
    checked = 0
    for index in range(len(doc)):
        page_rects = [r for p, r in rects if p == index + 1]
        textpage = doc[index].get_textpage()
        for i in range(textpage.count_chars()):
            left, bottom, right, top = textpage.get_charbox(i)
            if right - left <= 0:  # spaces and line breaks have no ink
                continue
            checked += 1
            assert any(x0 - 0.5 <= left and right <= x1 + 0.5 and y0 - 0.5 <= bottom and top <= y1 + 0.5
                       for x0, y0, x1, y1 in page_rects), (index, textpage.get_text_range(i, 1))
    assert checked > 500


def test_text_outside_cp1252_is_printed_not_replaced(stocks):
    pdf = render_pdf([address(sender_name="Dr Łukasz Żółć")], stocks["thermal-4x6"])
    doc = pdfium.PdfDocument(pdf)
    text = doc[0].get_textpage().get_text_range()
    if "\u25a0" in text or "?ukasz" in text:
        pytest.fail("non-Latin-1 name printed as replacement characters")
    assert "Łukasz Żółć" in text


def test_address_label_carries_parcel_number_and_declaration(stocks):
    pdf = render_pdf([address(parcel_index=2, parcel_count=3)], stocks["a4-14"])
    text = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()
    assert "2 of 3" in text
    assert "Cryogenic dry shipper. Not restricted, ADR A346, IATA A152" in text
    assert "Instrument i03" in text and "Experiment 2024-05-10" in text
