"""Drawing laid-out labels on a reportlab canvas."""

from __future__ import annotations

from io import BytesIO
from typing import List, Optional, Sequence

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from .fonts import vertical_metrics
from .layout import BarsItem, Frame, QRItem, RuleItem, TextItem, layout_label
from .manifest import layout_manifest, manifest_frame
from .model import Manifest
from .report import DrawnBox
from .stocks import Stock
from .symbols import qr_hex


_ESCAPES = {i: f"\\{i:03o}" for i in list(range(0, 32)) + list(range(127, 256))}
_ESCAPES.update({ord("("): "\\(", ord(")"): "\\)", ord("\\"): "\\\\"})


def _pdf_string(text: str) -> str:
    """A PDF literal string body of ``text`` in cp1252, ASCII-only."""
    return text.encode("cp1252").decode("latin-1").translate(_ESCAPES)


def _standard_font(canvas: Canvas, font: str):
    """The page resource name of a built-in PDF font, or None for embedded fonts."""
    face = pdfmetrics.getFont(font).face
    if not getattr(face, "builtIn", False):
        return None
    return canvas._doc.getInternalFontName(font)


class _Page:
    """Draws one page's items; keeps the current font to avoid resetting it."""

    def __init__(self, canvas: Canvas, page_height: float) -> None:
        self.c = canvas
        self.ph = page_height
        self.font = None

    def draw(self, items: Sequence[object], frame: Frame, page_no: int, item_no: int,
             report: Optional[List[DrawnBox]]) -> None:
        c = self.c
        x0 = frame.left
        top = self.ph - frame.top  # label top edge, PDF y
        label_rect = (x0, top - frame.height, x0 + frame.width, top)
        dot = frame.dot
        for it in items:
            if isinstance(it, TextItem):
                asc, desc = vertical_metrics(it.font)
                baseline = top - it.y - asc * it.size
                internal = _standard_font(c, it.font)
                if internal is not None:
                    # The standard fonts take cp1252 bytes: write the operators directly,
                    # much cheaper than a reportlab text object per string.
                    c._code.append(f"BT {internal} {it.size:.2f} Tf 1 0 0 1 {x0 + it.x:.2f} {baseline:.2f} Tm "
                                   f"({_pdf_string(it.text)}) Tj ET")
                else:  # an embedded TrueType font (text outside cp1252): reportlab subsets it
                    if self.font != (it.font, it.size):
                        c.setFont(it.font, it.size)
                        self.font = (it.font, it.size)
                    c.drawString(x0 + it.x, baseline, it.text)
                if report is not None:
                    report.append(DrawnBox(page_no, item_no, "text", it.role, it.text,
                                           (x0 + it.x, baseline + desc * it.size,
                                            x0 + it.x + it.width, baseline + asc * it.size),
                                           label_rect, font=it.font, size=it.size))
            elif isinstance(it, BarsItem):
                # Whole printer dots, counted from the page's top-left corner.
                left = round((frame.left + it.x) / dot)
                ytop = round((frame.top + it.y) / dot)
                m = it.module_dots
                h = round(it.height / dot)
                ops = [f"q {dot:.6f} 0 0 {-dot:.6f} 0 {self.ph:.4f} cm"]
                ops.extend(f"{left + start * m} {ytop} {width * m} {h} re" for start, width in it.runs)
                ops.append("f Q")
                c._code.append("\n".join(ops))
                if report is not None:
                    report.append(DrawnBox(page_no, item_no, "barcode", "barcode", it.value,
                                           (left * dot, self.ph - (ytop + h) * dot,
                                            (left + it.modules * m) * dot, self.ph - ytop * dot),
                                           label_rect, module_dots=m, dpi=it.dpi))
            elif isinstance(it, QRItem):
                left = round((frame.left + it.x) / dot)
                ytop = round((frame.top + it.y) / dot)
                m = it.module_dots
                n = len(it.matrix)
                # An image mask, one sample per module, scaled to whole dots on the grid:
                # a few hundred bytes instead of hundreds of rectangles.
                c._code.append(
                    f"q {n * m * dot:.6f} 0 0 {n * m * dot:.6f} {left * dot:.6f} "
                    f"{self.ph - (ytop + n * m) * dot:.6f} cm "
                    f"BI /W {n} /H {n} /IM true /BPC 1 /D [1 0] /F /AHx ID\n{qr_hex(it.matrix)}>\nEI Q")
                if report is not None:
                    n = len(it.matrix)
                    report.append(DrawnBox(page_no, item_no, "qr", "qr", it.data,
                                           (left * dot, self.ph - (ytop + n * m) * dot,
                                            (left + n * m) * dot, self.ph - ytop * dot),
                                           label_rect, module_dots=m, dpi=it.dpi))
            elif isinstance(it, RuleItem):
                if it.filled:
                    c.rect(x0 + it.x, top - it.y - it.height, it.width, it.height, stroke=0, fill=1)
                else:
                    c.setLineWidth(it.line_width)
                    c.rect(x0 + it.x, top - it.y - it.height, it.width, it.height, stroke=1, fill=0)
                if report is not None:
                    report.append(DrawnBox(page_no, item_no, "rule", "rule", "",
                                           (x0 + it.x, top - it.y - it.height, x0 + it.x + it.width,
                                            top - it.y), label_rect))


def render_pdf(items: Sequence[object], stock: Stock, *, skip: int = 0,
               layout_report: Optional[List[DrawnBox]] = None, title: str = "Labels") -> bytes:
    """Render labels (any mix of kinds) on ``stock``; return the PDF bytes.

    Labels fill the stock's positions row by row, page after page; ``skip``
    leaves that many positions of the first sheet empty (a part-used sheet).
    A :class:`Manifest` always flows over A4 pages of its own: the sheet in
    progress is ended first and the next label starts a new sheet.
    """
    items = list(items)
    if not items:
        raise ValueError("render_pdf: nothing to render")
    if not isinstance(skip, int) or not 0 <= skip < stock.per_page:
        raise ValueError(f"render_pdf: skip must be between 0 and {stock.per_page - 1} on stock {stock.code!r}")
    buf = BytesIO()
    canvas = Canvas(buf, pagesize=stock.page_size, invariant=1)
    canvas.setTitle(title)
    canvas.setCreator("labels")
    page_w, page_h = stock.page_size
    label_w, label_h = stock.label_size
    page_no = 0
    slot = skip
    page: Optional[_Page] = None
    for index, item in enumerate(items):
        if isinstance(item, Manifest):
            if page is not None:
                canvas.showPage()
                page = None
            frame = manifest_frame()
            for items_on_page in layout_manifest(item):
                page_no += 1
                canvas.setPageSize((frame.width, frame.height))
                _Page(canvas, frame.height).draw(items_on_page, frame, page_no, index, layout_report)
                canvas.showPage()
            slot = 0
            continue
        if page is None:
            page_no += 1
            canvas.setPageSize((page_w, page_h))
            page = _Page(canvas, page_h)
        x, y = stock.label_origin(slot)
        frame = Frame(stock, label_w, label_h, x, page_h - y - label_h)
        page.draw(layout_label(item, frame), frame, page_no, index, layout_report)
        slot += 1
        if slot == stock.per_page:
            canvas.showPage()
            page = None
            slot = 0
    if page is not None:
        canvas.showPage()
    canvas.save()
    return buf.getvalue()
