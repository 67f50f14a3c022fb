"""A fast QR code (model 2, byte mode, error correction M) encoder.

reportlab's own QR encoder takes about 8 ms a symbol, which dominated the
time to print a batch of labels.  This one borrows reportlab's tables (block
structure, alignment pattern positions, BCH codes) and does the work that
repeats per symbol with whole-row bitmasks and precomputed tables:
Reed-Solomon by table lookup, module placement from a per-version list of
positions, and the mask penalty (ISO/IEC 18004 rules N1 to N4) on row and
column strings.  It takes about 1 ms a symbol.  Like any conforming encoder it
evaluates all eight masks and keeps the one with the lowest penalty.
"""

from __future__ import annotations

from functools import lru_cache
from operator import itemgetter
from typing import Tuple

from reportlab.graphics.barcode.qrencoder import QRErrorCorrectLevel, QRRSBlock, QRUtil

LEVEL_M = QRErrorCorrectLevel.M

# -- Galois field GF(256), polynomial 0x11D -----------------------------------

_EXP = [0] * 512
_LOG = [0] * 256
_v = 1
for _i in range(255):
    _EXP[_i] = _v
    _LOG[_v] = _i
    _v <<= 1
    if _v & 0x100:
        _v ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


def _mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


@lru_cache(maxsize=None)
def _rs_table(degree: int) -> Tuple[int, ...]:
    """For each factor 0..255, the generator's coefficients times that factor,
    packed big-endian into one integer (one byte per coefficient)."""
    divisor = [0] * (degree - 1) + [1]
    root = 1
    for _ in range(degree):
        for j in range(degree):
            divisor[j] = _mul(divisor[j], root)
            if j + 1 < degree:
                divisor[j] ^= divisor[j + 1]
        root = _mul(root, 2)
    return tuple(int.from_bytes(bytes(_mul(f, c) for c in divisor), "big") for f in range(256))


def _rs_remainder(data: bytes, degree: int) -> bytes:
    """Reed-Solomon error correction codewords of ``data`` (polynomial division,
    the remainder kept as one integer shifted a byte at a time)."""
    table = _rs_table(degree)
    top = 8 * (degree - 1)
    keep = (1 << top) - 1
    rem = 0
    for byte in data:
        rem = ((rem & keep) << 8) ^ table[(rem >> top) ^ byte]
    return rem.to_bytes(degree, "big")


# -- per-version templates -------------------------------------------------------

@lru_cache(maxsize=None)
def _blocks(version: int) -> Tuple[Tuple[int, int], ...]:
    return tuple((b.totalCount, b.dataCount) for b in QRRSBlock.getRSBlocks(version, LEVEL_M))


def _capacity(version: int) -> int:
    return sum(d for _, d in _blocks(version))


@lru_cache(maxsize=None)
def _template(version: int):
    """(size, function-module flags, data positions in placement order)."""
    n = 4 * version + 17
    fn = [[False] * n for _ in range(n)]
    val = [[False] * n for _ in range(n)]

    def put(r: int, c: int, dark: bool) -> None:
        fn[r][c] = True
        val[r][c] = dark

    for r0, c0 in ((0, 0), (0, n - 7), (n - 7, 0)):
        for dr in range(-1, 8):
            for dc in range(-1, 8):
                r, c = r0 + dr, c0 + dc
                if 0 <= r < n and 0 <= c < n:
                    ring = max(abs(dr - 3), abs(dc - 3))
                    put(r, c, ring != 2 and ring != 4)
    centres = QRUtil.getPatternPosition(version)
    for r in centres:
        for c in centres:
            if fn[r][c]:
                continue  # overlaps a finder pattern (the timing rows come later)
            for dr in range(-2, 3):
                for dc in range(-2, 3):
                    put(r + dr, c + dc, max(abs(dr), abs(dc)) != 1)
    # Timing patterns after the alignment patterns, which may sit on them.
    for i in range(8, n - 8):
        put(6, i, i % 2 == 0)
        put(i, 6, i % 2 == 0)
    # Format information (values set per mask), and the dark module.
    for i in range(9):
        if not fn[8][i]:
            put(8, i, False)
        if not fn[i][8]:
            put(i, 8, False)
    for i in range(8):
        put(8, n - 1 - i, False)
        put(n - 1 - i, 8, False)
    put(n - 8, 8, True)
    if version >= 7:
        for i in range(18):
            put(i // 3, i % 3 + n - 11, False)
            put(i % 3 + n - 11, i // 3, False)

    positions = []
    row, inc = n - 1, -1
    col = n - 1
    while col > 0:
        if col == 6:
            col -= 1
        while True:
            for c in (col, col - 1):
                if not fn[row][c]:
                    positions.append((row, c))
            row += inc
            if row < 0 or row >= n:
                row -= inc
                inc = -inc
                break
        col -= 2
    return n, fn, val, tuple(positions)


_MASKS = QRUtil.maskPattern
_GAP = 4  # light modules between packed lines: "outside the symbol is light"


@lru_cache(maxsize=None)
def _packing(version: int):
    """How a symbol is packed into one big integer per orientation.

    Lines (rows, or columns for the transposed packing) follow each other
    with ``_GAP`` light modules between them and around them, most
    significant bit first.  Returns (stride, total bits, row-major and
    column-major gather indexes into the data bit string, bit masks used by
    the penalty rules).
    """
    n, fn, val, positions = _template(version)
    stride = n + _GAP
    total = _GAP + n * stride
    blank = len(positions)  # index of an extra '0' appended to the bit string
    order = {pos: i for i, pos in enumerate(positions)}
    by_rows = [blank] * total
    by_cols = [blank] * total
    for (r, c), i in order.items():
        by_rows[_GAP + r * stride + c] = i
        by_cols[_GAP + c * stride + r] = i
    inside = 0  # every module of the symbol
    for line in range(n):
        inside |= ((1 << n) - 1) << (total - _GAP - line * stride - n)
    # 2x2 blocks: the top-left module and its three neighbours are all inside.
    blocks = inside & (inside << 1) & (inside << stride) & (inside << (stride + 1))
    return stride, total, itemgetter(*by_rows), itemgetter(*by_cols), inside, blocks


@lru_cache(maxsize=None)
def _mask_rows(version: int, mask: int) -> Tuple[int, int, int, int]:
    """(function modules incl. this mask's format bits, data-area mask bits),
    packed row-major and column-major."""
    n, fn, val, positions = _template(version)
    grid = [row[:] for row in val]
    bits = QRUtil.getBCHTypeInfo((LEVEL_M << 3) | mask)
    for i in range(15):
        dark = (bits >> i) & 1 == 1
        if i < 6:
            grid[i][8] = dark
        elif i < 8:
            grid[i + 1][8] = dark
        else:
            grid[n - 15 + i][8] = dark
        if i < 8:
            grid[8][n - i - 1] = dark
        elif i < 9:
            grid[8][15 - i] = dark
        else:
            grid[8][14 - i] = dark
    grid[n - 8][8] = True
    if version >= 7:
        vbits = QRUtil.getBCHTypeNumber(version)
        for i in range(18):
            dark = (vbits >> i) & 1 == 1
            grid[i // 3][i % 3 + n - 11] = dark
            grid[i % 3 + n - 11][i // 3] = dark
    stride, total, _, _, _, _ = _packing(version)
    cond = _MASKS[mask]
    base_r = base_c = flip_r = flip_c = 0
    for r in range(n):
        for c in range(n):
            bit_r = 1 << (total - 1 - (_GAP + r * stride + c))
            bit_c = 1 << (total - 1 - (_GAP + c * stride + r))
            if fn[r][c]:
                if grid[r][c]:
                    base_r |= bit_r
                    base_c |= bit_c
            elif cond(r, c):
                flip_r |= bit_r
                flip_c |= bit_c
    return base_r, flip_r, base_c, flip_c


# -- penalty ---------------------------------------------------------------------

_FINDER = "10111010000"


def _line_penalty(x: int, light_in: int, light_all: int) -> int:
    """Rules N1 and N3 along the packed lines of ``x``.

    ``light_in`` is the light modules of the symbol, ``light_all`` adds the
    gaps between lines (outside the symbol counts as light for N3 only).
    """
    score = 0
    for v in (x, light_in):  # N1: 3 + (length - 5) for each run of five or more
        a = v & (v >> 1) & (v >> 2) & (v >> 3) & (v >> 4)
        score += a.bit_count() + 2 * (a & ~(a >> 1)).bit_count()
    # N3: 1011101 with four light modules after it, or before it.
    fwd = bwd = -1
    for i, ch in enumerate(_FINDER):
        src = x if ch == "1" else light_all
        fwd &= src >> (10 - i)
        bwd &= src >> i
    return score + 40 * (fwd.bit_count() + bwd.bit_count())


def _penalty(rows: int, cols: int, version: int, n: int) -> int:
    stride, total, _, _, inside, blocks = _packing(version)
    everything = (1 << total) - 1
    light_r = ~rows & everything
    light_c = ~cols & everything
    score = (_line_penalty(rows, light_r & inside, light_r)
             + _line_penalty(cols, light_c & inside, light_c))
    # N2: 3 for each 2x2 block of one colour.
    s1 = stride + 1
    dark = rows & (rows << 1) & (rows << stride) & (rows << s1)
    lite = light_r & (light_r << 1) & (light_r << stride) & (light_r << s1)
    score += 3 * ((dark | lite) & blocks).bit_count()
    # N4: 10 for each 5 % step away from half dark.
    count = rows.bit_count()
    size = n * n
    score += 10 * ((abs(count * 20 - size * 10) + size - 1) // size - 1)
    return score


# -- encoding --------------------------------------------------------------------

def _codewords(payload: bytes, version: int) -> bytes:
    """Data codewords (byte mode) and their error correction, interleaved."""
    capacity = _capacity(version)
    count_bits = 8 if version < 10 else 16
    length = 4 + count_bits + 8 * len(payload)
    value = (((0b0100 << count_bits) | len(payload)) << (8 * len(payload))) | int.from_bytes(payload, "big")
    tail = min(4, capacity * 8 - length)  # terminator
    tail += -(length + tail) % 8  # to a whole byte
    data = (value << tail).to_bytes((length + tail) // 8, "big")
    data += bytes((0xEC, 0x11) * capacity)[: capacity - len(data)]  # pad codewords
    blocks, ecs = [], []
    offset = 0
    for total, count in _blocks(version):
        block = data[offset:offset + count]
        offset += count
        blocks.append(block)
        ecs.append(_rs_remainder(block, total - count))
    return _interleave(blocks) + _interleave(ecs)


def _interleave(blocks) -> bytes:
    shortest = min(len(b) for b in blocks)
    out = bytes(x for column in zip(*blocks) for x in column)
    # Longer blocks (the last ones) have one codeword more: it follows.
    return out + bytes(b[shortest] for b in blocks if len(b) > shortest)


def encode(text: str, mask: int = -1) -> Tuple[str, ...]:
    """The QR symbol of ``text`` (UTF-8 bytes) as rows of '1' (dark) and '0'.

    ``mask`` -1 picks the mask with the lowest penalty.
    """
    payload = text.encode("utf-8")
    for version in range(1, 41):
        header = 4 + (8 if version < 10 else 16)
        if header + 8 * len(payload) <= 8 * _capacity(version):
            break
    else:
        raise ValueError(f"too much data for a QR code: {len(payload)} bytes")
    n, _, _, positions = _template(version)
    stride, total, gather_rows, gather_cols, _, _ = _packing(version)
    codewords = _codewords(payload, version)
    bitstring = format(int.from_bytes(codewords, "big"), f"0{8 * len(codewords)}b")
    bitstring = bitstring.ljust(len(positions), "0") + "0"  # remainder bits, then the blank
    data_r = int("".join(gather_rows(bitstring)), 2)
    data_c = int("".join(gather_cols(bitstring)), 2)
    best = None
    for m in range(8) if mask < 0 else (mask,):
        base_r, flip_r, base_c, flip_c = _mask_rows(version, m)
        rows = base_r | (data_r ^ flip_r)
        if mask < 0:
            score = _penalty(rows, base_c | (data_c ^ flip_c), version, n)
        else:
            score = 0
        if best is None or score < best[0]:
            best = (score, rows)
    bits = format(best[1], f"0{total}b")
    return tuple(bits[_GAP + r * stride:_GAP + r * stride + n] for r in range(n))
