"""A shipment manifest: a table over as many A4 pages as it takes."""

from __future__ import annotations

import math
from typing import List, Sequence, Tuple

from .fonts import BOLD, MONO, REGULAR, string_width
from .layout import LEAD, Builder, Frame, Item, RuleItem
from .model import Manifest
from .stocks import MM, Stock

#: The pages a manifest is printed on, whatever the label stock.
A4_PAGE = Stock(
    code="manifest-a4",
    name="A4 page for manifests",
    page_width_mm=210.0,
    page_height_mm=297.0,
    label_width_mm=210.0,
    label_height_mm=297.0,
    padding_mm=15.0,
    dpi=300,
)

COLUMNS: Tuple[Tuple[str, str, float, str], ...] = (
    # heading, attribute, share of the width, font
    ("Dewar", "dewar_barcode", 0.20, MONO),
    ("Container", "container_barcode", 0.17, MONO),
    ("Type", "container_type", 0.13, REGULAR),
    ("Pos.", "position", 0.06, REGULAR),
    ("Sample", "sample_name", 0.28, REGULAR),
    ("Kind", "sample_kind", 0.16, REGULAR),
)
ROW_SIZE = 8.0
ROW_PITCH = ROW_SIZE * 1.45
HEAD_SIZE = 8.5
FOOT_SIZE = 8.0
MAX_DEWAR_LINES = 6


def _wrap(words: Sequence[str], width: float, font: str, size: float) -> List[List[str]]:
    """Greedy line breaking of a comma-separated list: the words on each line."""
    lines: List[List[str]] = []
    current: List[str] = []
    for word in words:
        trial = ", ".join(current + [word]) + ","
        if current and string_width(trial, font, size) > width:
            lines.append(current)
            current = [word]
        else:
            current.append(word)
    if current:
        lines.append(current)
    return lines


def _frame() -> Frame:
    w, h = A4_PAGE.page_size
    return Frame(A4_PAGE, w, h, 0.0, 0.0)


def layout_manifest(manifest: Manifest) -> List[List[Item]]:
    """The drawing items of each page."""
    frame = _frame()
    pad = frame.pad
    W = frame.width - 2 * pad
    bottom = frame.height - pad
    foot_top = bottom - FOOT_SIZE * LEAD
    table_bottom = foot_top - 3 * MM

    # First page heading (drawn below, once the page count is known).
    dewar_size = 9.0
    wrapped = _wrap(list(manifest.dewar_barcodes), W - 25 * MM, MONO, dewar_size)
    if len(wrapped) > MAX_DEWAR_LINES:
        wrapped = wrapped[: MAX_DEWAR_LINES - 1]
        hidden = len(manifest.dewar_barcodes) - sum(len(words) for words in wrapped)
        dewars = [", ".join(words) + "," for words in wrapped] + [f"and {hidden} more"]
    else:
        dewars = [", ".join(words) + ("," if i < len(wrapped) - 1 else "") for i, words in enumerate(wrapped)]
    head_h = 16 * LEAD + 12 * LEAD + 10 * LEAD + max(1, len(dewars)) * dewar_size * LEAD + 4 * MM

    table_head_h = HEAD_SIZE * LEAD + 1.5 * MM
    first_rows = max(1, int((table_bottom - pad - head_h - table_head_h) / ROW_PITCH))
    other_rows = int((table_bottom - pad - table_head_h) / ROW_PITCH)
    lines = manifest.lines
    pages_n = 1 + max(0, math.ceil((len(lines) - first_rows) / other_rows))

    pages: List[List[Item]] = []
    start = 0
    for page in range(1, pages_n + 1):
        b = Builder(frame)
        y = pad
        if page == 1:
            y += b.text("Shipment manifest", pad, y, W, BOLD, 16, role="title")
            y += b.text(manifest.shipment_name, pad, y, W, BOLD, 12, role="shipment")
            facts = f"Proposal {manifest.proposal}"
            if manifest.printed_date:
                facts += f"    Printed {manifest.printed_date}"
            facts += f"    {len(manifest.dewar_barcodes)} dewar(s), {len(lines)} line(s)"
            y += b.text(facts, pad, y, W, REGULAR, 10, role="facts")
            b.text("Dewars:", pad, y, 25 * MM, BOLD, dewar_size, role="heading")
            for text in dewars or ["(none)"]:
                y += b.text(text, pad + 25 * MM, y, W - 25 * MM, MONO, dewar_size, role="dewars")
            y = pad + head_h
            rows = first_rows
        else:
            rows = other_rows
        # Table heading.
        x = pad
        for heading, _, share, _ in COLUMNS:
            cw = share * W
            b.text(heading, x, y, cw - 2 * MM, BOLD, HEAD_SIZE, role="table-heading")
            x += cw
        y += HEAD_SIZE * LEAD
        b.items.append(_rule(pad, y, W))
        y += 1.5 * MM
        if not lines and page == 1:
            b.text("No containers or samples registered.", pad, y, W, REGULAR, ROW_SIZE, role="empty")
        for line in lines[start:start + rows]:
            x = pad
            for _, attr, share, font in COLUMNS:
                cw = share * W
                b.text(getattr(line, attr), x, y, cw - 2 * MM, font, ROW_SIZE, ROW_SIZE * 0.75, role="cell")
                x += cw
            y += ROW_PITCH
        start += rows
        # Footer.
        label = f"Page {page} of {pages_n}"
        pw = string_width(label, REGULAR, FOOT_SIZE)
        b.text(label, pad + W - pw, foot_top, pw, REGULAR, FOOT_SIZE, align="right", role="page-number")
        b.text(f"{manifest.proposal} \u00b7 {manifest.shipment_name}", pad, foot_top, W - pw - 5 * MM,
               REGULAR, FOOT_SIZE, role="footer")
        pages.append(b.items)
    return pages


def _rule(x: float, y: float, width: float) -> RuleItem:
    return RuleItem(x, y, width, 0.6, 0.0, filled=True)


def manifest_frame() -> Frame:
    return _frame()
