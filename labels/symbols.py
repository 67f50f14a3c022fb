"""Barcode symbols as module patterns, and fitting them to a printer's dot grid.

Code 128 is encoded by python-barcode (the one encoder used for every PDF);
this module only turns its module string into bar runs.  QR codes come from
:mod:`labels.qr`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Tuple

from barcode.codex import Code128
from barcode.errors import BarcodeError

from .stocks import Stock

#: Clear space either side of a Code 128 symbol, in modules (ISO/IEC 15417).
QUIET_ZONE_MODULES = 10
#: Clear space around a QR symbol, in modules (ISO/IEC 18004).
QR_QUIET_MODULES = 4


@dataclass(frozen=True)
class Code128Symbol:
    value: str
    pattern: str  # '1' = bar module, '0' = space module, stop pattern included
    runs: Tuple[Tuple[int, int], ...]  # (start module, width in modules) of each bar

    @property
    def modules(self) -> int:
        return len(self.pattern)


@lru_cache(maxsize=4096)
def code128(value: str) -> Code128Symbol:
    """Encode ``value`` with python-barcode's Code 128 encoder."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"cannot encode an empty barcode value: {value!r}")
    try:
        pattern = Code128(value).build()[0]
    except (BarcodeError, KeyError, RuntimeError) as exc:
        raise ValueError(f"cannot encode {value!r} as Code 128 (ASCII characters only): {exc}") from exc
    runs = []
    start = None
    for i, ch in enumerate(pattern):
        if ch == "1" and start is None:
            start = i
        elif ch == "0" and start is not None:
            runs.append((start, i - start))
            start = None
    if start is not None:
        runs.append((start, len(pattern) - start))
    return Code128Symbol(value, pattern, tuple(runs))


def module_dots_for(value: str, symbol_modules: int, max_bars_pt: float, max_total_pt: float,
                    stock: Stock, what: str = "barcode") -> int:
    """The widest module, in whole printer dots, for which the bars fit in
    ``max_bars_pt`` and bars plus quiet zones fit in ``max_total_pt``.

    Raises ``ValueError`` naming the value and the stock when even the stock's
    minimum module is too wide.
    """
    dot_pt = 72.0 / stock.dpi
    smallest, largest = stock.module_range_dots
    by_bars = math.floor(max_bars_pt / (symbol_modules * dot_pt) + 1e-9)
    by_total = math.floor(max_total_pt / ((symbol_modules + 2 * QUIET_ZONE_MODULES) * dot_pt) + 1e-9)
    dots = min(by_bars, by_total)
    if largest is not None:
        dots = min(dots, largest)
    if dots < smallest:
        need_mm = (symbol_modules + 2 * QUIET_ZONE_MODULES) * smallest * 25.4 / stock.dpi
        room_mm = min(max_total_pt, max_bars_pt + 2 * QUIET_ZONE_MODULES * smallest * dot_pt) * 25.4 / 72
        raise ValueError(
            f"{what} {value!r} does not fit on label stock {stock.code!r}: its {symbol_modules} "
            f"modules at the minimum of {smallest} dots ({smallest * 25.4 / stock.dpi:.3f} mm at "
            f"{stock.dpi} dpi) need {need_mm:.1f} mm with quiet zones, the label has {room_mm:.1f} mm"
        )
    return dots


@lru_cache(maxsize=1024)
def qr_matrix(data: str) -> Tuple[str, ...]:
    """QR code (error correction M, byte mode) as rows of '1'/'0', without quiet zone."""
    from .qr import encode

    if not data:
        raise ValueError("cannot make a QR code of an empty string")
    return encode(data)


@lru_cache(maxsize=1024)
def qr_hex(matrix: Tuple[str, ...]) -> str:
    """The matrix as 1-bit image rows (dark = 1), each padded to whole bytes, in hex."""
    pad = -len(matrix[0]) % 8
    return "".join(f"{int(row + '0' * pad, 2):0{(len(row) + pad) // 4}x}" for row in matrix)
