"""Every barcode and QR code printed decodes to exactly its value, on every stock."""

from __future__ import annotations

from collections import defaultdict

import pytest
from tests.labels.support import address, container, crop, decode, dewar, pages, return_label

from labels import render_pdf

MAIL_IN = ["mx23694-1-i03-0000001-k", "cm26459-12-m02-0003870-x", "mx23694-1-i04-1234567-7"]
FACILITY = ["DLS-MX-0007", "DLS-EM-0123", "DLS-BI-9999"]
TRACKING = [
    "1234567891",  # DHL Express air waybill
    "JJD014600003799213427",  # DHL piece number
    "1Z999AA10123456784",  # UPS
    "9622001900000000000000776632145678",  # FedEx: 34 digits
]


def _items():
    items = []
    for i, code in enumerate(MAIL_IN):
        items.append(dewar(code, containers=8, qr_url=f"https://ispyb.example.org/dewars/{code}" if i == 0 else None))
    for code in FACILITY:
        items.append(dewar(code, containers=3, facility_code=code))
    for n in TRACKING:
        items.append(return_label(n))
    items.append(address())
    items.append(address(dewar_barcode=MAIL_IN[2], visit="mx23694-1", courier="DHL", tracking_number="1234567891"))
    for i in range(6):
        items.append(container(f"DLS-UP-{i + 100:04d}"))
    return items  # 18 labels: two a4-14 sheets, three a4 sheets


@pytest.mark.parametrize("stock_code", ["a4-14", "a4", "thermal-4x6"])
def test_every_barcode_decodes_to_its_value(stocks, stock_code):
    stock = stocks[stock_code]
    items = _items()
    report = []
    pdf = render_pdf(items, stock, layout_report=report)
    images = pages(pdf)
    assert len(images) == -(-len(items) // stock.per_page)  # full sheets, then the part-used one

    expected = defaultdict(list)  # (page, label rect) -> [(format, value)]
    for box in report:
        if box.kind in ("barcode", "qr"):
            expected[(box.page, box.label_rect)].append(("Code128" if box.kind == "barcode" else "QRCode", box.content))
    printed = sorted(v for values in expected.values() for _, v in values)
    wanted = sorted(MAIL_IN + [MAIL_IN[2]] + FACILITY + TRACKING + [f"DLS-UP-{i + 100:04d}" for i in range(6)]
                    + [f"https://ispyb.example.org/dewars/{MAIL_IN[0]}"])
    assert printed == wanted

    page_h = stock.page_size[1]
    for (page, label_rect), values in expected.items():
        found = decode(crop(images[page - 1], label_rect, page_h))
        assert found == sorted(values), f"page {page}, label at {label_rect}"


def test_whole_sheet_decodes_without_cropping(stocks):
    # A scanner sees the whole sheet: 14 labels, every symbol found, nothing misread.
    items = [container(f"DLS-UP-{i:04d}") for i in range(10)] + [dewar(code) for code in MAIL_IN[:2] + FACILITY[:2]]
    pdf = render_pdf(items, stocks["a4-14"])
    [image] = pages(pdf)
    found = [text for fmt, text in decode(image) if fmt == "Code128"]
    assert sorted(found) == sorted(i.barcode for i in items)
