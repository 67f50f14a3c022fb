"""Label stocks come from fixtures/label-stocks.json."""

from __future__ import annotations

import json

import pytest

from labels import Stock, load_stocks
from labels.stocks import MM


def test_fixture_stocks(stocks):
    assert {"a4-14", "a4", "thermal-4x6"} <= set(stocks)
    sheet = stocks["a4-14"]
    assert (sheet.columns, sheet.rows, sheet.per_page) == (2, 7, 14)
    assert (sheet.label_width_mm, sheet.label_height_mm) == (99.1, 38.1)
    # Avery L7163 geometry: the second column starts after the 2.5 mm gap, the
    # last row ends 15.1 mm above the bottom edge.
    x, y = sheet.label_origin(13)
    assert x / MM == pytest.approx(4.65 + 99.1 + 2.5)
    assert y / MM == pytest.approx(297 - 15.1 - 7 * 38.1)
    assert stocks["thermal-4x6"].dpi == 203 and stocks["thermal-4x6"].per_page == 1
    # The A4 stock is a real sheet too (Avery L7165): 8 labels, 2 across, 4 down, not one label a page.
    a4 = stocks["a4"]
    assert (a4.columns, a4.rows, a4.per_page, a4.dpi) == (2, 4, 8, 300)
    x, y = a4.label_origin(7)
    assert x / MM == pytest.approx(4.65 + 99.1 + 2.5)
    assert y / MM == pytest.approx(297 - 13.1 - 4 * 67.7)


def test_geometry_that_does_not_fit_the_page_is_refused(tmp_path):
    bad = {"code": "too-wide", "page_mm": [210, 297], "label_mm": [110, 38.1], "columns": 2, "rows": 7,
           "margins_mm": {"top": 15.1, "left": 4.65}, "dpi": 300}
    path = tmp_path / "stocks.json"
    path.write_text(json.dumps({"stocks": [bad]}))
    with pytest.raises(ValueError, match="too-wide"):
        load_stocks(path)


def test_unknown_keys_are_refused():
    with pytest.raises(ValueError, match="colums"):
        Stock.from_dict({"code": "x", "page_mm": [100, 50], "label_mm": [100, 50], "colums": 2})


def test_part_used_sheet_starts_at_the_first_free_position(stocks):
    from labels import render_pdf
    from tests.labels.support import container

    sheet = stocks["a4-14"]
    report = []
    render_pdf([container(f"DLS-UP-{i:04d}") for i in range(12)], sheet, skip=5, layout_report=report)
    bars = [b for b in report if b.kind == "barcode"]
    x, y = sheet.label_origin(5)
    assert bars[0].label_rect[:2] == pytest.approx((x, y))
    # 9 labels fill the first sheet, the other 3 start the second at its first position.
    assert [b.page for b in bars] == [1] * 9 + [2] * 3
    assert bars[9].label_rect[:2] == pytest.approx(sheet.label_origin(0))
    with pytest.raises(ValueError, match="skip"):
        render_pdf([container()], sheet, skip=14)
