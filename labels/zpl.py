"""ZPL II for Zebra label printers: one ``^XA ... ^XZ`` format per label.

The layout is the one the PDF uses, converted to printer dots.  Code 128 is
left to the printer (``^BC`` in automatic mode, module width ``^BY`` in
dots), so the field data is the barcode value itself.  Every field is sent
with ``^FH_``: ``^``, ``~``, ``_`` and anything outside printable ASCII are
written as ``_XX`` hexadecimal UTF-8 bytes (``^CI28``).
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence

from .fonts import vertical_metrics
from .layout import BarsItem, Frame, QRItem, RuleItem, TextItem, layout_label
from .model import AddressLabel, ContainerLabel, DewarLabel, ReturnLabel
from .report import DrawnBox
from .stocks import Stock

SUPPORTED = (DewarLabel, AddressLabel, ReturnLabel, ContainerLabel)


def escape_field(text: str) -> str:
    """Field data for use after ``^FH_``."""
    out = []
    for ch in text:
        if ch in "^~_" or not (" " <= ch <= "~"):
            out.append("".join(f"_{byte:02X}" for byte in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


def unescape_field(data: str) -> str:
    """Inverse of :func:`escape_field` (for checks and tests)."""
    raw = bytearray()
    i = 0
    while i < len(data):
        if data[i] == "_":
            raw.append(int(data[i + 1:i + 3], 16))
            i += 3
        else:
            raw.extend(data[i].encode("utf-8"))
            i += 1
    return raw.decode("utf-8")


def _label_zpl(items: Sequence[object], frame: Frame, label_no: int, item_no: int,
               report: Optional[List[DrawnBox]]) -> str:
    dpi = frame.stock.dpi
    k = dpi / 72.0  # dots per point

    def d(v: float) -> int:
        return int(round(v * k))

    width_dots = int(math.floor(frame.width * k))
    height_dots = int(math.floor(frame.height * k))
    out = ["^XA", "^CI28", f"^PW{width_dots}", f"^LL{height_dots}", "^LH0,0"]
    label_rect = (0.0, 0.0, frame.width, frame.height)

    def pdf_rect(x: float, y: float, w: float, h: float):
        return (x, frame.height - y - h, x + w, frame.height - y)

    for it in items:
        if isinstance(it, TextItem):
            asc, desc = vertical_metrics(it.font)
            h = max(10, d(it.size))
            just = {"left": "L", "center": "C", "right": "R"}[it.align]
            # A one-line field block as wide as the room the text was fitted to.
            box_x = d(it.box_x)
            box_w = max(1, min(d(it.box_width), width_dots - box_x))
            out.append(f"^FO{box_x},{d(it.y)}^A0N,{h},{h}^FB{box_w},1,0,{just},0"
                       f"^FH_^FD{escape_field(it.text)}^FS")
            if report is not None:
                report.append(DrawnBox(label_no, item_no, "text", it.role, it.text,
                                       pdf_rect(it.x, it.y, it.width, it.height), label_rect,
                                       font=it.font, size=it.size))
        elif isinstance(it, BarsItem):
            h = d(it.height)
            out.append(f"^FO{d(it.x)},{d(it.y)}^BY{it.module_dots},3,{h}"
                       f"^BCN,{h},N,N,N,A^FH_^FD{escape_field(it.value)}^FS")
            if report is not None:
                report.append(DrawnBox(label_no, item_no, "barcode", "barcode", it.value,
                                       pdf_rect(it.x, it.y, it.width, it.height), label_rect,
                                       module_dots=it.module_dots, dpi=dpi))
        elif isinstance(it, QRItem):
            mag = max(1, min(10, it.module_dots))
            out.append(f"^FO{d(it.x)},{d(it.y)}^BQN,2,{mag}^FH_^FDMA,{escape_field(it.data)}^FS")
            if report is not None:
                report.append(DrawnBox(label_no, item_no, "qr", "qr", it.data,
                                       pdf_rect(it.x, it.y, it.width, it.height), label_rect,
                                       module_dots=mag, dpi=dpi))
        elif isinstance(it, RuleItem):
            thickness = max(1, d(it.line_width) if not it.filled else min(d(it.width), d(it.height)))
            out.append(f"^FO{d(it.x)},{d(it.y)}^GB{max(1, d(it.width))},{max(1, d(it.height))},"
                       f"{thickness}^FS")
    out.append("^XZ")
    return "\n".join(out) + "\n"


def render_zpl(items: Sequence[object], stock: Stock, *,
               layout_report: Optional[List[DrawnBox]] = None) -> bytes:
    """ZPL for dewar, address, return and container labels on a roll ``stock``."""
    items = list(items)
    if not items:
        raise ValueError("render_zpl: nothing to render")
    if stock.per_page != 1:
        raise ValueError(
            f"render_zpl: label stock {stock.code!r} is a sheet of {stock.per_page} labels; "
            "ZPL needs a roll stock with one label per page (such as thermal-4x6)"
        )
    k = stock.dpi / 72.0
    width, height = stock.label_size
    parts = []
    for index, item in enumerate(items):
        if not isinstance(item, SUPPORTED):
            raise ValueError(
                f"render_zpl: {type(item).__name__} (item {index}) cannot be printed as ZPL; "
                f"supported: {', '.join(t.__name__ for t in SUPPORTED)}"
            )
        # The label is its own page: the printer's dot grid starts at its corner.
        frame = Frame(stock, math.floor(width * k) / k, math.floor(height * k) / k, 0.0, 0.0)
        parts.append(_label_zpl(layout_label(item, frame), frame, index + 1, index, layout_report))
    return "".join(parts).encode("utf-8")
