"""Manifests flow over A4 pages numbered "Page i of n"."""

from __future__ import annotations

import re

from tests.labels.support import container, page_texts

from labels import Manifest, ManifestLine, render_pdf

A4 = (595.27, 841.89)


def _manifest(count):
    dewars = ("mx23694-1-i03-0000001-k", "mx23694-1-i03-0000002-7")
    lines = tuple(
        ManifestLine(dewars[i // 150], f"DLS-UP-{i // 16:04d}", "unipuck", i % 16 + 1, f"xtal-{i:04d}", "MX crystal")
        for i in range(count)
    )
    return Manifest(shipment_name="Shipment 7", proposal="mx23694", dewar_barcodes=dewars, lines=lines,
                    printed_date="2024-05-01")


def test_300_lines_flow_over_numbered_pages(stocks):
    pdf = render_pdf([_manifest(300)], stocks["a4"])
    texts = page_texts(pdf)
    n = len(texts)
    assert n >= 3
    for i, text in enumerate(texts, start=1):
        assert f"Page {i} of {n}" in text
    # Every line printed exactly once, none lost at a page break.
    samples = re.findall(r"xtal-\d{4}", "\n".join(texts))
    assert samples == [f"xtal-{i:04d}" for i in range(300)]


def test_manifest_pages_are_a4_whatever_the_stock(stocks):
    import pypdfium2 as pdfium

    items = [container("DLS-UP-0001"), _manifest(40), container("DLS-UP-0002")]
    pdf = render_pdf(items, stocks["thermal-4x6"])
    doc = pdfium.PdfDocument(pdf)
    sizes = [tuple(round(v, 1) for v in doc[i].get_size()) for i in range(len(doc))]
    assert sizes == [(288.0, 432.0), (595.3, 841.9), (288.0, 432.0)]
    texts = page_texts(pdf)
    assert "Page 1 of 1" in texts[1]


def test_sheet_in_progress_is_ended_before_a_manifest(stocks):
    items = [container(f"DLS-UP-{i:04d}") for i in range(3)] + [_manifest(5)] + [container("DLS-UP-0099")]
    report = []
    pdf = render_pdf(items, stocks["a4-14"], layout_report=report)
    texts = page_texts(pdf)
    assert len(texts) == 3
    assert "DLS-UP-0099" in texts[2] and "DLS-UP-0099" not in texts[0]
    # The label after the manifest starts at the first position of a new sheet.
    [last] = [b for b in report if b.item == 4 and b.kind == "barcode"]
    first = [b for b in report if b.item == 0 and b.kind == "barcode"][0]
    assert last.label_rect == first.label_rect and last.page == 3


def test_empty_manifest_still_prints_a_page(stocks):
    texts = page_texts(render_pdf([_manifest(0)], stocks["a4"]))
    assert len(texts) == 1 and "Page 1 of 1" in texts[0]
