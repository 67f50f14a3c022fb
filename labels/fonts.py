"""Fonts and fitting text into a width.

Text is set in the PDF standard fonts (Helvetica, Courier: nothing embedded,
fast).  Those only cover Windows-1252; a string with other characters (a
name such as "Łukasz", a Greek or CJK address line) is set in DejaVu Sans
when that font is installed, and otherwise its uncovered characters are
printed as "?".
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Optional, Tuple

from reportlab.pdfbase import pdfmetrics

REGULAR = "Helvetica"
BOLD = "Helvetica-Bold"
MONO = "Courier-Bold"  # barcode values and container codes: fixed pitch reads well
ELLIPSIS = "\u2026"

_UNICODE_FILES = {
    REGULAR: "DejaVuSans.ttf",
    BOLD: "DejaVuSans-Bold.ttf",
    MONO: "DejaVuSansMono-Bold.ttf",
}
_FONT_DIRS = tuple(
    d for d in (
        os.environ.get("LABELS_FONT_DIR"),
        "/usr/share/fonts/truetype/dejavu",
        "/usr/share/fonts/dejavu",
        "/usr/share/fonts/TTF",
        "/usr/local/share/fonts",
        "/Library/Fonts",
    ) if d
)


@lru_cache(maxsize=None)
def _unicode_font(base: str) -> Optional[str]:
    filename = _UNICODE_FILES[base]
    for directory in _FONT_DIRS:
        path = os.path.join(directory, filename)
        if os.path.exists(path):
            from reportlab.pdfbase.ttfonts import TTFont

            name = "Labels-" + filename[:-4]
            try:
                pdfmetrics.registerFont(TTFont(name, path))
            except Exception:  # an unreadable font file: fall back to "?"
                continue
            return name
    return None


def _covered(text: str) -> bool:
    try:
        text.encode("cp1252")
        return True
    except UnicodeEncodeError:
        return False


@lru_cache(maxsize=8192)
def font_for(text: str, base: str) -> Tuple[str, str]:
    """The font to set ``text`` in, and the text as it will be printed."""
    if _covered(text):
        return base, text
    unicode_font = _unicode_font(base)
    if unicode_font is not None:
        return unicode_font, text
    return base, text.encode("cp1252", "replace").decode("cp1252")


_FIXED_PITCH = {"Courier": 0.6, "Courier-Bold": 0.6, "Courier-Oblique": 0.6, "Courier-BoldOblique": 0.6}


def _width(text: str, font: str, size: float) -> float:
    # Every Courier glyph is 600 units wide: no need to sum glyph widths.
    pitch = _FIXED_PITCH.get(font)
    if pitch is not None:
        return pitch * size * len(text)
    return pdfmetrics.stringWidth(text, font, size)


def string_width(text: str, font: str, size: float) -> float:
    """Width in points of ``text`` as it will be printed (see :func:`font_for`)."""
    font, text = font_for(text, font)
    return _width(text, font, size)


@lru_cache(maxsize=None)
def vertical_metrics(font: str) -> Tuple[float, float]:
    """(ascent, descent) per point of size; descent is negative."""
    face = pdfmetrics.getFont(font).face
    return face.ascent / 1000.0, face.descent / 1000.0


@lru_cache(maxsize=16384)
def fit_text(text: str, base: str, max_size: float, min_size: float,
             width: float) -> Tuple[str, str, float, float]:
    """Fit ``text`` on one line of ``width`` points.

    Returns (font, text, size, width of the text): the largest size between ``min_size`` and
    ``max_size`` (in 0.25 pt steps) at which the whole text fits; when even
    ``min_size`` is too wide the text is cut and ends with an ellipsis.
    """
    text = " ".join(str(text).split())  # no tabs or line breaks on one line
    font, text = font_for(text, base)
    if not text or width <= 0:
        return font, "", max_size, 0.0
    full = _width(text, font, max_size)
    if full <= width:
        return font, text, max_size, full
    size = max_size * width / full
    size = int(size * 4) / 4.0
    if size >= min_size:
        while size > min_size and _width(text, font, size) > width:
            size -= 0.25
        used = _width(text, font, size)
        if used <= width:
            return font, text, size, used
    size = min_size
    # The longest prefix that fits with an ellipsis after it.
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _width(text[:mid].rstrip() + ELLIPSIS, font, size) <= width:
            lo = mid
        else:
            hi = mid - 1
    cut = text[:lo].rstrip() + ELLIPSIS
    used = _width(cut, font, size)
    if used > width:
        return font, "", size, 0.0
    return font, cut, size, used
