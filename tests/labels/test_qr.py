"""The QR encoder makes the same symbols as reportlab's, and they scan."""

from __future__ import annotations

import pytest
import zxingcpp
from PIL import Image
from reportlab.graphics.barcode import qrencoder

from labels.qr import encode

PAYLOADS = [
    "a",  # version 1
    "https://ispyb.example.org/dewars/mx23694-1-i03-0000001-k",  # version 4: a typical label
    "x" * 100,  # version 6
    "y" * 250,  # version 11: 16-bit length, version information
    "z" * 300,  # version 13: blocks of two sizes
    "https://example.org/" + "w" * 900,  # version 27
    "Zoë, Łukasz and 東京",  # UTF-8 bytes
]


def _reportlab(text: str, mask: int):
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(qrencoder.QR8bitByte(text))
    code.version = code.calculate_version()
    code.makeImpl(False, mask)
    return tuple("".join("1" if dark else "0" for dark in row) for row in code.modules)


@pytest.mark.parametrize("text", PAYLOADS)
def test_same_modules_as_reportlab_for_every_mask(text):
    for mask in range(8):
        assert encode(text, mask) == _reportlab(text, mask), f"mask {mask}"


@pytest.mark.parametrize("text", PAYLOADS)
def test_symbol_with_the_chosen_mask_decodes(text):
    rows = encode(text)
    n, scale, quiet = len(rows), 3, 4
    image = Image.new("L", ((n + 2 * quiet) * scale,) * 2, 255)
    for r, row in enumerate(rows):
        for c, dark in enumerate(row):
            if dark == "1":
                image.paste(0, ((c + quiet) * scale, (r + quiet) * scale, (c + quiet + 1) * scale, (r + quiet + 1) * scale))
    [result] = zxingcpp.read_barcodes(image)
    assert result.format.name == "QRCode"
    assert result.bytes == text.encode("utf-8")
