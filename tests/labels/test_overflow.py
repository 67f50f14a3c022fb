"""A dewar with more containers than fit prints as many as fit, then "+N more"."""

from __future__ import annotations

import re

import pypdfium2 as pdfium
import pytest
from tests.labels.support import dewar

from labels import render_pdf


@pytest.mark.parametrize("stock_code", ["a4-14", "a4", "thermal-4x6"])
def test_forty_containers_show_plus_n_more(stocks, stock_code):
    codes = tuple(f"CPS-{i:05d}" for i in range(40))
    label = dewar(container_barcodes=codes)
    report = []
    pdf = render_pdf([label], stocks[stock_code], layout_report=report)
    shown = [b.content for b in report if b.role == "container"]
    overflow = [b.content for b in report if b.role == "overflow"]
    text = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()
    printed = re.findall(r"CPS-\d{5}", text)
    assert printed == shown  # what the report says is what the page says
    assert shown == list(codes[: len(shown)])  # the first ones, in order
    if len(shown) < 40:
        assert overflow == [f"+{40 - len(shown)} more"]
        assert f"+{40 - len(shown)} more" in text
    else:
        assert overflow == [] and "more" not in text


def test_small_label_overflows_and_counts_correctly(stocks):
    codes = tuple(f"DLS-UP-{i:04d}" for i in range(40))
    report = []
    render_pdf([dewar(container_barcodes=codes)], stocks["a4-14"], layout_report=report)
    shown = [b for b in report if b.role == "container"]
    [more] = [b for b in report if b.role == "overflow"]
    assert 0 < len(shown) < 40
    assert more.content == f"+{40 - len(shown)} more"
    assert more.inside_label()


def test_all_containers_listed_when_they_fit(stocks):
    codes = tuple(f"DLS-UP-{i:04d}" for i in range(6))
    report = []
    render_pdf([dewar(container_barcodes=codes)], stocks["thermal-4x6"], layout_report=report)
    assert [b.content for b in report if b.role == "container"] == list(codes)
    assert not [b for b in report if b.role == "overflow"]
