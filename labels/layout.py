"""Where things go on one label: the same layout feeds the PDF and the ZPL writer.

A layout is a list of drawing items in label coordinates: points, origin at
the label's top-left corner, y growing downwards (as on a printer).  Bars and
QR modules are placed on the stock's dot grid, counted from the page's
top-left corner, so each module is a whole number of printer dots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from .fonts import BOLD, MONO, REGULAR, fit_text, string_width, vertical_metrics
from .model import AddressLabel, ContainerLabel, DewarLabel, ReturnLabel
from .stocks import MM, Stock
from .symbols import QR_QUIET_MODULES, code128, module_dots_for, qr_matrix

MIN_TEXT_PT = 5.0
LEAD = 1.18  # line pitch / font size


# -- drawing items -------------------------------------------------------------

@dataclass(frozen=True)
class TextItem:
    x: float  # left of the inked string
    y: float  # top of the line box (ascent line)
    width: float
    height: float
    text: str
    font: str
    size: float
    box_x: float  # the room it was fitted into, for ZPL field blocks
    box_width: float
    align: str
    role: str


@dataclass(frozen=True)
class BarsItem:
    x: float
    y: float
    width: float
    height: float
    value: str
    runs: Tuple[Tuple[int, int], ...]
    modules: int
    module_dots: int
    dpi: int

    @property
    def module_pt(self) -> float:
        return self.module_dots * 72.0 / self.dpi


@dataclass(frozen=True)
class QRItem:
    x: float  # top-left of the dark modules (quiet zone is outside)
    y: float
    width: float
    height: float
    data: str
    matrix: Tuple[str, ...]
    module_dots: int
    dpi: int


@dataclass(frozen=True)
class RuleItem:
    """A stroked rectangle (a frame around a block) or a filled bar."""

    x: float
    y: float
    width: float
    height: float
    line_width: float
    filled: bool = False


Item = object  # TextItem | BarsItem | QRItem | RuleItem


@dataclass(frozen=True)
class Frame:
    """One label's rectangle on its page, in points."""

    stock: Stock
    width: float
    height: float
    left: float  # from the page's left edge
    top: float  # from the page's top edge

    @property
    def pad(self) -> float:
        return self.stock.padding_mm * MM

    @property
    def dot(self) -> float:
        return 72.0 / self.stock.dpi

    def snap_x(self, x: float) -> float:
        return round((self.left + x) / self.dot) * self.dot - self.left

    def snap_y(self, y: float) -> float:
        return round((self.top + y) / self.dot) * self.dot - self.top


class Builder:
    def __init__(self, frame: Frame) -> None:
        self.f = frame
        self.items: List[Item] = []

    # -- text ------------------------------------------------------------------

    def text(self, text: str, x: float, y: float, width: float, base: str, max_size: float,
             min_size: float = MIN_TEXT_PT, align: str = "left", role: str = "text") -> float:
        """One line of text fitted into ``width``; returns the line pitch used."""
        min_size = min(min_size, max_size)
        font, shown, size, tw = fit_text(str(text), base, max_size, min_size, width)
        if shown:
            if align == "center":
                left = x + (width - tw) / 2
            elif align == "right":
                left = x + width - tw
            else:
                left = x
            asc, desc = vertical_metrics(font)
            self.items.append(TextItem(left, y, tw, (asc - desc) * size, shown, font, size,
                                       x, width, align, role))
        return size * LEAD

    def block(self, lines: Sequence[str], x: float, y: float, width: float, height: float,
              base: str, max_size: float, min_size: float = MIN_TEXT_PT, first_base: Optional[str] = None,
              first_scale: float = 1.0, role: str = "text") -> float:
        """Lines stacked from ``y``; the size shrinks so they all fit in ``height``.

        When even the minimum size cannot show every line, the last line shown
        says how many were left out.  Returns the height used.
        """
        lines = [ln for ln in lines if ln and str(ln).strip()]
        if not lines or height <= 0:
            return 0.0
        first_scale = first_scale if first_base else 1.0

        def need(size: float) -> float:
            return size * LEAD * (len(lines) - 1 + first_scale)

        size = max_size
        if need(size) > height:
            size = max(min_size, math.floor(height / need(1.0) * 4) / 4)
        if need(size) > height:  # even the minimum is too tall: drop lines
            fit = max(1, int((height / (size * LEAD)) + 1e-9) - (1 if first_scale > 1 else 0))
            hidden = len(lines) - fit + 1
            lines = lines[: fit - 1] + [f"(+{hidden} more lines)"]
        cursor = y
        for i, line in enumerate(lines):
            if i == 0 and first_base:
                cursor += self.text(line, x, cursor, width, first_base, size * first_scale,
                                    min_size, role=role)
            else:
                cursor += self.text(line, x, cursor, width, base, size, min_size, role=role)
        return cursor - y

    # -- symbols ---------------------------------------------------------------

    def barcode(self, value: str, y: float, max_height: float, text_size: float,
                what: str = "barcode", human_text: Optional[str] = None) -> float:
        """A Code 128 symbol across the label, centred, with its text under it.

        Returns the height used (bars plus text).
        """
        f = self.f
        symbol = code128(value)
        content = f.width - 2 * f.pad
        dots = module_dots_for(value, symbol.modules, content, f.width, f.stock, what)
        module = dots * f.dot
        sym_w = symbol.modules * module
        x = f.snap_x((f.width - sym_w) / 2)
        gap = 0.15 * text_size
        text_pitch = text_size * LEAD
        bar_h = min(max(0.25 * sym_w, 8 * MM), 25 * MM, max_height - text_pitch - gap - f.dot)
        if bar_h < 5 * MM:
            raise ValueError(
                f"{what} {value!r}: no room for the bars on label stock {f.stock.code!r} "
                f"({bar_h / MM:.1f} mm high)"
            )
        y0 = f.snap_y(y)
        bar_h = math.floor(bar_h / f.dot) * f.dot
        self.items.append(BarsItem(x, y0, sym_w, bar_h, value, symbol.runs, symbol.modules, dots, f.stock.dpi))
        used = self.text(human_text if human_text is not None else value, f.pad, y0 + bar_h + gap,
                         content, MONO, text_size, MIN_TEXT_PT, align="center", role="barcode-text")
        return (y0 - y) + bar_h + gap + used

    def qr(self, data: str, max_side: float) -> QRItem:
        """A QR code in the top-right corner of the content area.

        ``max_side`` bounds the dark modules; the quiet zone may reach into
        the label's padding but not past its edge.  Raises ``ValueError``
        when even the smallest module does not fit.
        """
        f = self.f
        matrix = qr_matrix(data)
        n = len(matrix)
        smallest = f.stock.min_module_dots
        dots = int(max_side / (n * f.dot) + 1e-9)
        if dots < smallest:
            raise ValueError(
                f"QR code of {data!r} ({n} modules) does not fit on label stock {f.stock.code!r}: "
                f"it needs {n * smallest * f.dot / MM:.1f} mm, there are {max_side / MM:.1f} mm"
            )
        module = dots * f.dot
        quiet = QR_QUIET_MODULES * module
        right = min(f.width - f.pad, f.width - quiet)
        x = f.snap_x(right - n * module)
        y = f.snap_y(max(f.pad, quiet))
        item = QRItem(x, y, n * module, n * module, data, matrix, dots, f.stock.dpi)
        self.items.append(item)
        return item

    def frame_box(self, x: float, y: float, width: float, height: float, line_width: float = 0.8) -> None:
        self.items.append(RuleItem(x, y, width, height, line_width))


def qr_min_side(data: str, stock: Stock) -> float:
    """Side of the dark modules of the QR code at the stock's smallest module."""
    return len(qr_matrix(data)) * stock.min_module_dots * 72.0 / stock.dpi


def scale(frame: Frame) -> float:
    """Type scale: 1 on a 99.1 x 38.1 mm label, larger on bigger labels."""
    content_w = frame.width - 2 * frame.pad
    content_h = frame.height - 2 * frame.pad
    return max(0.8, min(content_w / (93 * MM), content_h / (33 * MM), 2.2))


# -- the label kinds -----------------------------------------------------------

def layout_dewar(label: DewarLabel, frame: Frame) -> List[Item]:
    b = Builder(frame)
    u = scale(frame)
    pad = frame.pad
    W = frame.width - 2 * pad
    H = frame.height - 2 * pad
    bottom = frame.height - pad

    # Top block: proposal and safety level, facility code, shipment, date; QR on its right.
    head_size, line_size, small_size = 11 * u, 8 * u, 6 * u
    lines = [(label.shipment_name and f"Shipment: {label.shipment_name}", REGULAR, line_size)]
    if label.facility_code:
        lines.insert(0, (f"Facility dewar {label.facility_code}", BOLD, line_size))
    if label.printed_date:
        lines.append((f"Printed {label.printed_date}", REGULAR, small_size))
    lines = [ln for ln in lines if ln[0]]
    text_h = head_size * LEAD + sum(s * LEAD for _, _, s in lines)

    text_w = W
    top_h = text_h
    if label.qr_url:
        qr_side = max(text_h, min(0.3 * W, 0.3 * H), qr_min_side(label.qr_url, frame.stock))
        qr = b.qr(label.qr_url, qr_side)
        quiet = QR_QUIET_MODULES * qr.module_dots * frame.dot
        text_w = qr.x - quiet - pad
        top_h = max(text_h, qr.y + qr.height - pad)
    if text_w < 20 * MM:
        raise ValueError(f"dewar label {label.barcode!r}: the QR code leaves no room for text "
                         f"on label stock {frame.stock.code!r}")

    y = pad
    safety = f"Safety: {label.safety_level}" if label.safety_level else ""
    safety_w = 0.0
    if safety:
        font, shown, size, safety_w = fit_text(safety, BOLD, 9 * u, MIN_TEXT_PT, text_w * 0.45)
        safety_w += 0.8 * size
        bx = pad + text_w - safety_w
        b.text(safety, bx, y + 0.15 * size, safety_w, BOLD, size, size, align="center", role="safety")
        b.frame_box(bx, y, safety_w, (vertical_metrics(font)[0] - vertical_metrics(font)[1] + 0.3) * size)
        safety_w += 1.5 * MM
    y += b.text(label.proposal, pad, y, text_w - safety_w, BOLD, head_size, role="proposal")
    for text, base, size in lines:
        y += b.text(text, pad, y, text_w, base, size)
    y = pad + top_h + 1.0 * MM

    # Barcode across the label.
    gap = 0.8 * MM
    reserve = (2 * 7 * u * LEAD + gap) if label.container_barcodes else 0.0  # two lines of contents
    used = b.barcode(label.barcode, y, bottom - y - reserve, 9 * u, what="dewar barcode")
    y += used + gap

    # Contents: as many container codes as fit, then "+N more".
    _container_grid(b, label.container_barcodes, pad, y, W, bottom - y, 7 * u)
    return b.items


def _container_grid(b: Builder, codes: Sequence[str], x: float, y: float, width: float,
                    height: float, max_size: float) -> None:
    count = len(codes)
    if count == 0 or height <= 0:
        return
    # On a roomy label, a larger size when every code then still fits.
    size = max_size
    widest = max(string_width(c, MONO, 1.0) for c in codes)
    for trial in (1.5 * max_size, 1.25 * max_size):
        pitch = trial * LEAD
        rows = int(height / pitch + 1e-9) - 1  # leave a line for the heading
        cols = max(1, int((width + 1.2 * trial) / (widest * trial + 1.2 * trial) + 1e-9))
        if rows >= 3 and rows * cols >= count and widest * trial <= width:
            size = trial
            break
    if size * LEAD > height:
        size = max(MIN_TEXT_PT, height / LEAD)
    pitch = size * LEAD
    rows = int(height / pitch + 1e-9)
    if rows < 1:
        raise ValueError(f"no room for the container list on label stock {b.f.stock.code!r}")
    heading = rows >= 4
    if heading:
        rows -= 1
    gap = 1.2 * size
    more_w = string_width(f"+{count} more", MONO, size)
    col_w = min(width, max(max(string_width(c, MONO, size) for c in codes), more_w))
    cols = max(1, int((width + gap) / (col_w + gap) + 1e-9))
    capacity = rows * cols
    if count <= capacity:
        shown, hidden = list(codes), 0
    else:
        shown = list(codes[: capacity - 1])
        hidden = count - len(shown)
    if heading:
        b.text(f"Containers ({count})", x, y, width, BOLD, size, role="heading")
        y += pitch
    cells = shown + ([f"+{hidden} more"] if hidden else [])
    for i, code in enumerate(cells):
        row, col = divmod(i, cols)
        b.text(code, x + col * (col_w + gap), y + row * pitch, col_w, MONO, size, size,
               role="overflow" if hidden and i == len(cells) - 1 else "container")


def layout_container(label: ContainerLabel, frame: Frame) -> List[Item]:
    b = Builder(frame)
    u = scale(frame)
    pad = frame.pad
    W = frame.width - 2 * pad
    bottom = frame.height - pad
    y = pad
    size = 10 * u
    if label.proposal:
        font, shown, psize, pw = fit_text(label.proposal, BOLD, size, MIN_TEXT_PT, W * 0.4)
        b.text(label.proposal, pad + W - pw, y, pw, BOLD, psize, psize, align="right", role="proposal")
        pw += 2 * MM
    else:
        pw = 0.0
    y += b.text(label.container_type or "Container", pad, y, W - pw, BOLD, size, role="type")
    y += 1.0 * MM
    b.barcode(label.barcode, y, bottom - y, 10 * u, what="container barcode")
    return b.items


def _two_columns(frame: Frame) -> bool:
    """Addresses side by side on a label clearly wider than tall (a sheet's 99 x 38 or 99 x 68 mm)."""
    return frame.width > 1.2 * frame.height


def _short(frame: Frame) -> bool:
    """A label under 45 mm high: its bottom bands are kept as low as they can be."""
    return frame.height < 45 * MM


def layout_address(label: AddressLabel, frame: Frame) -> List[Item]:
    b = Builder(frame)
    u = scale(frame)
    pad = frame.pad
    W = frame.width - 2 * pad
    bottom = frame.height - pad
    gap = 2 * MM

    # A short label (a sheet's 38 mm row) keeps the bottom bands as low as they can be,
    # so the two addresses above them keep every line.
    short = _short(frame)
    band_gap = (0.5 if short else 1.0) * MM

    # Bottom: the dry-shipper declaration in a frame, and what it is for.
    decl_size = 8 * u
    font, shown, dsize, _ = fit_text(label.declaration, BOLD, decl_size, MIN_TEXT_PT, W - 2 * MM)
    if shown != label.declaration:  # a required statement is never cut short
        raise ValueError(f"the dry-shipper declaration does not fit on label stock {frame.stock.code!r}")
    decl_h = dsize * LEAD + 1.2 * MM
    decl_y = bottom - decl_h
    b.frame_box(pad, decl_y, W, decl_h)
    b.text(label.declaration, pad + 1 * MM, decl_y + 0.6 * MM + 0.1 * dsize, W - 2 * MM, BOLD, dsize,
           align="center", role="declaration")
    # Above it, what stores route by: the instrument and visit, and the outbound tracking number.
    about = []
    if label.instrument:
        about.append(f"Instrument {label.instrument}")
    if label.visit:
        about.append(f"Visit {label.visit}")
    elif label.proposal:
        about.append(f"Proposal {label.proposal}")
    if label.experiment_date:
        about.append(f"Experiment {label.experiment_date}")
    tracking = " ".join(t for t in (label.courier, label.tracking_number) if t) if label.tracking_number else ""
    tracking = f"Tracking {tracking}" if tracking else ""
    routing = "  \u00b7  ".join(about)
    if short:  # one row: the tracking number is measured first and never cut; the routing words get the rest
        about_size = 6.5 * u
        if about or tracking:
            decl_y -= about_size * LEAD
            track_w = 0.0
            if tracking:
                _, _, tsize, track_w = fit_text(tracking, BOLD, about_size, MIN_TEXT_PT, W)
                b.text(tracking, pad + W - track_w, decl_y, track_w, BOLD, tsize, tsize, align="right",
                       role="tracking")
                track_w += 2 * MM
            if about:
                b.text(routing, pad, decl_y, W - track_w, BOLD, about_size, role="about")
    else:  # a row each, the routing words large enough to read across the stores
        if tracking:
            decl_y -= 9 * u * LEAD
            b.text(tracking, pad, decl_y, W, BOLD, 9 * u, role="tracking")
        if about:
            decl_y -= 12 * u * LEAD
            b.text(routing, pad, decl_y, W, BOLD, 12 * u, role="about")
    area_bottom = decl_y - band_gap

    # The dewar's own barcode across the label, so the parcel scans as its dewar at goods-in.
    if label.dewar_barcode:
        text_size = (7 if short else 8) * u
        # Bars of 5 mm (the least the barcode builder draws) on a short label, up to 25 mm on a tall one.
        budget = (5 * MM + text_size * 1.4 + 3 * frame.dot) if short else min(0.3 * (frame.height - 2 * pad),
                                                                              25 * MM + text_size * 1.5)
        used = Builder(frame).barcode(label.dewar_barcode, area_bottom - budget, budget, text_size,
                                      what="dewar barcode")  # measured, then placed against the bottom
        top = area_bottom - used - 2 * frame.dot
        b.barcode(label.dewar_barcode, top, used + 2 * frame.dot, text_size, what="dewar barcode")
        area_bottom = top - band_gap

    parcel = f"{label.parcel_index} of {label.parcel_count}"
    sender = [label.sender_name, *label.sender_lines]
    head = 6.5 * u

    if _two_columns(frame):
        left_w = W * 0.58
        right_x = pad + left_w + gap
        right_w = W - left_w - gap
        y = pad
        y += b.text("TO", pad, y, left_w, BOLD, head, role="heading")
        b.block(label.facility_address, pad, y, left_w, area_bottom - y, REGULAR, 10 * u,
                first_base=BOLD, role="address")
        y = pad
        if short and label.dewar_barcode:  # the parcel number beside FROM leaves the sender all its lines
            _, _, psize, pw = fit_text(f"PARCEL {parcel}", BOLD, 8 * u, MIN_TEXT_PT, right_w * 0.7)
            b.text(f"PARCEL {parcel}", right_x + right_w - pw, y, pw, BOLD, psize, psize, align="right",
                   role="parcel")
            b.text("FROM", right_x, y + (psize - head) * 0.8, right_w - pw - 1 * MM, BOLD, head, role="heading")
            y += psize * LEAD
        else:
            y += b.text("PARCEL", right_x, y, right_w, BOLD, head, role="heading")
            y += b.text(parcel, right_x, y, right_w, BOLD, 12 * u, role="parcel")
            y += b.text("FROM", right_x, y, right_w, BOLD, head, role="heading")
        b.block(sender, right_x, y, right_w, area_bottom - y, REGULAR, 7 * u, first_base=BOLD,
                role="sender")
    else:
        y = pad
        # Parcel number top right, big.
        psize = 22 * u
        font, shown, psize, pw = fit_text(parcel, BOLD, psize, MIN_TEXT_PT, W * 0.4)
        b.text("PARCEL", pad + W - pw, y, pw, BOLD, head, align="right", role="heading")
        b.text(parcel, pad + W - pw, y + head * LEAD, pw, BOLD, psize, psize, align="right", role="parcel")
        y += b.text("FROM", pad, y, W - pw - gap, BOLD, head, role="heading")
        from_h = max(0.0, (area_bottom - y) * 0.35)
        y += b.block(sender, pad, y, W - pw - gap, from_h, REGULAR, 10 * u, first_base=BOLD, role="sender")
        y = max(y, pad + head * LEAD + psize * LEAD) + 4 * MM
        b.frame_box(pad, y - 2 * MM, W, 0.01, line_width=1.2)
        y += b.text("TO", pad, y, W, BOLD, head * 1.3, role="heading")
        b.block(label.facility_address, pad, y, W, area_bottom - y, REGULAR, 16 * u, first_base=BOLD,
                role="address")
    return b.items


def layout_return(label: ReturnLabel, frame: Frame) -> List[Item]:
    b = Builder(frame)
    u = scale(frame)
    pad = frame.pad
    W = frame.width - 2 * pad
    bottom = frame.height - pad
    head = 6.5 * u

    # Bottom: the tracking number, as bars when known.
    text_size = 9 * u
    y_track = bottom
    if label.tracking_number:
        # Measure first: lay the barcode out at the bottom of the label.
        symbol = code128(label.tracking_number)
        dots = module_dots_for(label.tracking_number, symbol.modules, W, frame.width, frame.stock,
                               "tracking number")
        sym_w = symbol.modules * dots * frame.dot
        bar_h = min(max(0.25 * sym_w, 8 * MM), 25 * MM, 0.4 * (frame.height - 2 * pad))
        need = bar_h + 0.15 * text_size + text_size * LEAD + 1 * MM
        y_track = bottom - need
        b.barcode(label.tracking_number, y_track, need, text_size, what="tracking number",
                  human_text=label.tracking_number)
        y_track -= 0.5 * MM
    else:
        y_track -= text_size * LEAD
        b.text("Tracking number: ______________________", pad, y_track, W, REGULAR, 0.8 * text_size,
               role="tracking")
    area_bottom = y_track - 1 * MM

    courier = [f"Courier: {label.courier}"]
    if label.courier_account:
        courier.append(f"Account: {label.courier_account}")
    if label.dewar_barcode:  # which dewar this parcel is, when several go back at once
        courier.append(f"Dewar {label.dewar_barcode}")
    if _two_columns(frame):
        left_w = W * 0.6
        right_x = pad + left_w + 2 * MM
        right_w = W - left_w - 2 * MM
        y = pad + b.text("RETURN TO", pad, pad, left_w, BOLD, head, role="heading")
        b.block(label.return_address, pad, y, left_w, area_bottom - y, REGULAR, 9 * u, first_base=BOLD,
                role="address")
        y = pad + b.text("RETURN BY", right_x, pad, right_w, BOLD, head, role="heading")
        b.block(courier, right_x, y, right_w, area_bottom - y, BOLD, 8 * u, role="courier")
    else:
        y = pad
        y += b.text("RETURN BY", pad, y, W, BOLD, head, role="heading")
        y += b.block(courier, pad, y, W, (area_bottom - y) * 0.3, BOLD, 12 * u, role="courier")
        y += 3 * MM
        y += b.text("RETURN TO", pad, y, W, BOLD, head * 1.3, role="heading")
        b.block(label.return_address, pad, y, W, area_bottom - y, REGULAR, 16 * u, first_base=BOLD,
                role="address")
    return b.items


LAYOUTS = {
    DewarLabel: layout_dewar,
    ContainerLabel: layout_container,
    AddressLabel: layout_address,
    ReturnLabel: layout_return,
}


def layout_label(label, frame: Frame) -> List[Item]:
    try:
        fn = LAYOUTS[type(label)]
    except KeyError:
        raise ValueError(f"not a label this package can lay out: {type(label).__name__}") from None
    return fn(label, frame)
