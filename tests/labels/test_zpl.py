"""ZPL output: one well-formed format per label, barcode field data equal to the value."""

from __future__ import annotations

import re

import pytest
from tests.labels.support import address, container, dewar, return_label

from labels import Manifest, render_pdf, render_zpl
from labels.zpl import unescape_field

FIELD = re.compile(r"\^FO\d+,\d+(\^[A-Z][^\^]*)*?\^FH_\^FD(?P<data>[^\^~]*)\^FS")


def _formats(zpl: bytes):
    text = zpl.decode("ascii")  # escaped: nothing outside ASCII
    formats = re.findall(r"\^XA.*?\^XZ", text, flags=re.S)
    # Nothing outside the formats but line breaks.
    assert re.sub(r"\^XA.*?\^XZ", "", text, flags=re.S).strip() == ""
    return formats


def _barcode_fields(fmt: str):
    """[(module dots, field data)] of every ^BC field."""
    return [(int(m.group(1)), m.group(2)) for m in re.finditer(r"\^BY(\d+),[\d.]+,\d+\^BC[^\^]*\^FH_\^FD([^\^~]*)\^FS", fmt)]


def test_one_format_per_label_with_barcodes_as_field_data(stocks):
    items = [dewar("mx23694-1-i03-0000001-k", qr_url="https://ispyb.example.org/d/1"), dewar("DLS-MX-0007"),
             address(), return_label("JJD014600003799213427"), return_label(None),
             address(dewar_barcode="mx23694-1-i04-1234567-7"), container("DLS-CANE-0042", container_type="cane")]
    formats = _formats(render_zpl(items, stocks["thermal-4x6"]))
    assert len(formats) == len(items)
    for fmt in formats:
        assert fmt.startswith("^XA") and fmt.endswith("^XZ")
        assert fmt.count("^XA") == 1 and fmt.count("^XZ") == 1
        assert "^PW812" in fmt and "^LL1218" in fmt  # 4 x 6 in at 203 dpi
    assert [[unescape_field(d) for _, d in _barcode_fields(f)] for f in formats] == [
        ["mx23694-1-i03-0000001-k"], ["DLS-MX-0007"], [], ["JJD014600003799213427"], [],
        ["mx23694-1-i04-1234567-7"], ["DLS-CANE-0042"]]
    # Plain values are sent as they are.
    assert "^FDmx23694-1-i03-0000001-k^FS" in formats[0]
    assert "^BQN,2," in formats[0] and "^FDMA,https://ispyb.example.org/d/1^FS" in formats[0]
    assert "Cryogenic dry shipper. Not restricted, ADR A346, IATA A152" in formats[2]


def test_carets_and_tildes_are_escaped(stocks):
    value = "AB^C~D_1"
    zpl = render_zpl([dewar(value, shipment_name="caret ^ tilde ~ and Zoë")], stocks["thermal-4x6"])
    [fmt] = _formats(zpl)
    [(dots, data)] = _barcode_fields(fmt)
    assert "^" not in data and "~" not in data
    assert data == "AB_5EC_7ED_5F1"
    assert unescape_field(data) == value
    # A command prefix inside a text field would end the field early on the printer.
    fields = re.findall(r"\^FD(.*?)\^FS", fmt)
    assert all("^" not in f and "~" not in f for f in fields)
    assert "caret _5E tilde _7E and Zo_C3_AB" in fmt


def test_module_width_is_whole_dots_and_matches_the_pdf(stocks):
    stock = stocks["thermal-4x6"]
    items = [dewar("mx23694-1-i03-0000001-k"), dewar("DLS-MX-0007")]
    formats = _formats(render_zpl(items, stock))
    report = []
    render_pdf(items, stock, layout_report=report)
    pdf_modules = [b.module_dots for b in report if b.kind == "barcode"]
    zpl_modules = [dots for fmt in formats for dots, _ in _barcode_fields(fmt)]
    assert zpl_modules == pdf_modules
    assert all(d >= 2 for d in zpl_modules)
    assert zpl_modules[1] > zpl_modules[0]  # the short code gets wider bars


def test_a_manifest_is_refused_for_zpl(stocks):
    with pytest.raises(ValueError, match="Manifest"):
        render_zpl([dewar(), Manifest("s", "mx1")], stocks["thermal-4x6"])


def test_sheet_stock_is_refused_for_zpl(stocks):
    with pytest.raises(ValueError, match="a4-14"):
        render_zpl([dewar()], stocks["a4-14"])
