"""Bars are whole printer dots wide, as wide as the label allows."""

from __future__ import annotations

import pytest
from tests.labels.support import crop, dewar, return_label

from labels import Stock, render_pdf
from labels.symbols import code128


@pytest.mark.parametrize("stock_code", ["a4-14", "a4", "thermal-4x6"])
def test_module_is_a_whole_number_of_dots(stocks, stock_code):
    stock = stocks[stock_code]
    report = []
    render_pdf([dewar("mx23694-1-i03-0000001-k"), dewar("DLS-MX-0007"), return_label("1Z999AA10123456784")],
               stock, layout_report=report)
    bars = [b for b in report if b.kind == "barcode"]
    assert len(bars) == 3
    for b in bars:
        assert isinstance(b.module_dots, int) and b.module_dots >= stock.min_module_dots >= 2
        assert b.dpi == stock.dpi
        # The drawn symbol is exactly modules x dots wide, and starts on a dot.
        width_dots = (b.rect[2] - b.rect[0]) * stock.dpi / 72
        assert width_dots == pytest.approx(code128(b.content).modules * b.module_dots, abs=1e-3)
        left_dots = b.rect[0] * stock.dpi / 72
        assert left_dots == pytest.approx(round(left_dots), abs=1e-3)


def test_thermal_bars_land_on_the_printer_dots(stocks):
    # Rasterised at the printer's own 203 dpi, every bar edge falls on a pixel edge:
    # no grey pixels, and every bar and space is a whole number of modules.
    stock = stocks["thermal-4x6"]
    report = []
    pdf = render_pdf([dewar("mx23694-1-i03-0000001-k")], stock, layout_report=report)
    # Anti-aliased on purpose: a bar edge between two dots would show as grey.
    import pypdfium2 as pdfium

    image = pdfium.PdfDocument(pdf)[0].render(scale=203 / 72, grayscale=True).to_pil()
    [bars] = [b for b in report if b.kind == "barcode"]
    strip = crop(image, bars.rect, stock.page_size[1]).convert("L")
    row = [strip.getpixel((x, strip.height // 2)) for x in range(strip.width)]
    assert set(row) <= {0, 255}
    runs, last, count = [], row[0], 0
    for p in row:
        if p == last:
            count += 1
        else:
            runs.append(count)
            last, count = p, 1
    runs.append(count)
    runs = [r for r in runs if r]
    if row[-1] == 255:  # trailing white from rounding the crop
        runs = runs[:-1]
    assert all(r % bars.module_dots == 0 for r in runs)
    assert sum(runs) == code128(bars.content).modules * bars.module_dots


def test_largest_module_that_fits_is_chosen(stocks):
    stock = stocks["thermal-4x6"]
    report = []
    render_pdf([dewar("mx23694-1-i03-0000001-k"), dewar("DLS-MX-0007")], stock, layout_report=report)
    long_bc, short_bc = [b for b in report if b.kind == "barcode"]
    label_w = stock.label_size[0]
    dot = 72 / stock.dpi
    for b in (long_bc, short_bc):
        modules = code128(b.content).modules
        # with one more dot per module the symbol and its quiet zones would not fit,
        # unless the stock's widest module was reached
        wider = (modules + 20) * (b.module_dots + 1) * dot
        _, largest = stock.module_range_dots
        assert wider > label_w or b.module_dots == largest
    assert long_bc.module_dots == 2 and short_bc.module_dots > 2


def test_value_too_long_for_the_stock_names_value_and_stock(stocks):
    value = "mx23694-1-i03-" + "ABCDEFGHIJ" * 5
    with pytest.raises(ValueError) as err:
        render_pdf([dewar(value)], stocks["thermal-4x6"])
    assert value in str(err.value) and "thermal-4x6" in str(err.value)


def test_minimum_module_follows_the_dot_grid():
    base = dict(code="x", name="x", page_width_mm=100, page_height_mm=50, label_width_mm=100, label_height_mm=50)
    assert Stock(dpi=203, **base).min_module_dots == 2
    assert Stock(dpi=300, **base).min_module_dots == 3
    assert Stock(dpi=600, **base).min_module_dots == 5
