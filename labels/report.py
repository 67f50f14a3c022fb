"""What a renderer drew, for callers and tests that check the layout.

Pass a list as ``layout_report=`` to :func:`labels.render_pdf` or
:func:`labels.render_zpl` and it is filled with one :class:`DrawnBox` per
string, barcode, QR code and frame drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

Rect = Tuple[float, float, float, float]  # x0, y0, x1, y1


@dataclass(frozen=True)
class DrawnBox:
    page: int  # 1-based page (PDF) or label (ZPL) number
    item: int  # index of the label or manifest in the items passed in
    kind: str  # "text", "barcode", "qr" or "rule"
    role: str  # what it shows: "proposal", "container", "overflow", "address", "page-number", ...
    content: str  # the text drawn, or the value a symbol encodes
    rect: Rect  # in points, PDF convention: origin at the page's bottom-left corner
    label_rect: Rect  # the label (or, for manifests, the printable area) it belongs to
    font: Optional[str] = None
    size: Optional[float] = None
    module_dots: Optional[int] = None
    dpi: Optional[int] = None

    def inside_label(self, tolerance: float = 0.01) -> bool:
        x0, y0, x1, y1 = self.rect
        lx0, ly0, lx1, ly1 = self.label_rect
        return (x0 >= lx0 - tolerance and y0 >= ly0 - tolerance
                and x1 <= lx1 + tolerance and y1 <= ly1 + tolerance)
