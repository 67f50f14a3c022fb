"""Label stocks (sheets and rolls) are data, read from ``fixtures/label-stocks.json``.

A stock entry looks like::

    {"code": "a4-14", "name": "...",
     "page_mm": [210, 297], "label_mm": [99.1, 38.1],
     "columns": 2, "rows": 7,
     "margins_mm": {"top": 15.1, "left": 4.65},
     "gaps_mm": {"column": 2.5, "row": 0},
     "padding_mm": 3, "dpi": 300,
     "min_module_dots": 3, "max_module_mm": 0.5}

``dpi`` is the printer's dot grid (203 for a thermal printer, 300 for a laser
sheet): bar widths are whole numbers of these dots.  ``min_module_dots`` and
``max_module_mm`` are optional; see :func:`default_min_module_dots`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from os import PathLike
from typing import Dict, Mapping, Optional, Tuple, Union

MM = 72.0 / 25.4  # points per millimetre

#: The narrowest Code 128 module we print by default: 7.5 mil (0.19 mm), the
#: usual lower limit for hand-held scanners; never below 2 printer dots.
MIN_MODULE_INCH = 0.0075


def default_min_module_dots(dpi: int) -> int:
    return max(2, math.ceil(dpi * MIN_MODULE_INCH - 1e-9))


@dataclass(frozen=True)
class Stock:
    code: str
    name: str
    page_width_mm: float
    page_height_mm: float
    label_width_mm: float
    label_height_mm: float
    columns: int = 1
    rows: int = 1
    margin_top_mm: float = 0.0
    margin_left_mm: float = 0.0
    column_gap_mm: float = 0.0
    row_gap_mm: float = 0.0
    padding_mm: float = 2.0
    dpi: int = 300
    min_module_dots: Optional[int] = None
    max_module_mm: Optional[float] = None

    def __post_init__(self) -> None:
        where = f"label stock {self.code!r}"
        if not self.code:
            raise ValueError("a label stock needs a code")
        for name in ("page_width_mm", "page_height_mm", "label_width_mm", "label_height_mm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{where}: {name} must be positive")
        for name in ("margin_top_mm", "margin_left_mm", "column_gap_mm", "row_gap_mm", "padding_mm"):
            if getattr(self, name) < 0:
                raise ValueError(f"{where}: {name} must not be negative")
        if not (isinstance(self.columns, int) and isinstance(self.rows, int)) or self.columns < 1 or self.rows < 1:
            raise ValueError(f"{where}: columns and rows must be positive integers")
        if not isinstance(self.dpi, int) or self.dpi < 72:
            raise ValueError(f"{where}: dpi must be an integer of at least 72, got {self.dpi!r}")
        if self.min_module_dots is None:
            object.__setattr__(self, "min_module_dots", default_min_module_dots(self.dpi))
        elif not isinstance(self.min_module_dots, int) or self.min_module_dots < 1:
            raise ValueError(f"{where}: min_module_dots must be a positive integer")
        if self.max_module_mm is not None and self.max_module_mm * self.dpi / 25.4 < self.min_module_dots:
            raise ValueError(f"{where}: max_module_mm is narrower than min_module_dots")
        right = self.margin_left_mm + self.columns * self.label_width_mm + (self.columns - 1) * self.column_gap_mm
        bottom = self.margin_top_mm + self.rows * self.label_height_mm + (self.rows - 1) * self.row_gap_mm
        if right > self.page_width_mm + 0.01 or bottom > self.page_height_mm + 0.01:
            raise ValueError(
                f"{where}: {self.columns} x {self.rows} labels of {self.label_width_mm} x "
                f"{self.label_height_mm} mm do not fit on a {self.page_width_mm} x {self.page_height_mm} mm page"
            )
        if 2 * self.padding_mm >= min(self.label_width_mm, self.label_height_mm):
            raise ValueError(f"{where}: padding_mm leaves no room on the label")

    # -- derived geometry (points, PDF origin at the bottom left) ---------------

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    @property
    def page_size(self) -> Tuple[float, float]:
        return (self.page_width_mm * MM, self.page_height_mm * MM)

    @property
    def label_size(self) -> Tuple[float, float]:
        return (self.label_width_mm * MM, self.label_height_mm * MM)

    def label_origin(self, slot: int) -> Tuple[float, float]:
        """Bottom-left corner, in points, of label ``slot`` (0-based, row by row)."""
        if not 0 <= slot < self.per_page:
            raise IndexError(slot)
        row, col = divmod(slot, self.columns)
        x_mm = self.margin_left_mm + col * (self.label_width_mm + self.column_gap_mm)
        top_mm = self.margin_top_mm + row * (self.label_height_mm + self.row_gap_mm)
        y_mm = self.page_height_mm - top_mm - self.label_height_mm
        return (x_mm * MM, y_mm * MM)

    @property
    def module_range_dots(self) -> Tuple[int, Optional[int]]:
        largest = None
        if self.max_module_mm is not None:
            largest = max(self.min_module_dots, int(math.floor(self.max_module_mm * self.dpi / 25.4 + 1e-9)))
        return (self.min_module_dots, largest)

    # -- reading ---------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping) -> "Stock":
        try:
            code = data["code"]
            page_w, page_h = data["page_mm"]
            label_w, label_h = data["label_mm"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"label stock {data.get('code') if isinstance(data, Mapping) else data!r}: "
                "needs code, page_mm [w, h] and label_mm [w, h]"
            ) from exc
        known = {"code", "name", "page_mm", "label_mm", "columns", "rows", "margins_mm", "gaps_mm",
                 "padding_mm", "dpi", "min_module_dots", "max_module_mm", "description"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"label stock {code!r}: unknown keys {sorted(unknown)}")
        margins = data.get("margins_mm") or {}
        gaps = data.get("gaps_mm") or {}
        return cls(
            code=str(code),
            name=str(data.get("name", code)),
            page_width_mm=float(page_w),
            page_height_mm=float(page_h),
            label_width_mm=float(label_w),
            label_height_mm=float(label_h),
            columns=int(data.get("columns", 1)),
            rows=int(data.get("rows", 1)),
            margin_top_mm=float(margins.get("top", 0.0)),
            margin_left_mm=float(margins.get("left", 0.0)),
            column_gap_mm=float(gaps.get("column", 0.0)),
            row_gap_mm=float(gaps.get("row", 0.0)),
            padding_mm=float(data.get("padding_mm", 2.0)),
            dpi=int(data.get("dpi", 300)),
            min_module_dots=None if data.get("min_module_dots") is None else int(data["min_module_dots"]),
            max_module_mm=None if data.get("max_module_mm") is None else float(data["max_module_mm"]),
        )


def load_stocks(path: Union[str, "PathLike[str]"]) -> Dict[str, Stock]:
    """Read a label-stocks JSON file into ``{code: Stock}``."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    entries = data.get("stocks") if isinstance(data, Mapping) else data
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of stocks (or an object with a 'stocks' list)")
    stocks: Dict[str, Stock] = {}
    for entry in entries:
        stock = Stock.from_dict(entry)
        if stock.code in stocks:
            raise ValueError(f"{path}: label stock {stock.code!r} is defined twice")
        stocks[stock.code] = stock
    return stocks
