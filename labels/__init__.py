"""Barcode labels as PDF and ZPL bytes, from plain values.

This package knows nothing of the logistics domain: the caller builds the
label value objects from its own data and gets bytes back.

    >>> stocks = load_stocks("fixtures/label-stocks.json")
    >>> pdf = render_pdf([DewarLabel(barcode="mx23694-1-i03-0000001-k", ...)], stocks["a4-14"])
"""

from .model import (
    DRY_SHIPPER_DECLARATION,
    AddressLabel,
    ContainerLabel,
    DewarLabel,
    Manifest,
    ManifestLine,
    ReturnLabel,
)
from .pdf import render_pdf
from .report import DrawnBox
from .stocks import Stock, load_stocks
from .zpl import render_zpl

__all__ = [
    "AddressLabel",
    "ContainerLabel",
    "DRY_SHIPPER_DECLARATION",
    "DewarLabel",
    "DrawnBox",
    "Manifest",
    "ManifestLine",
    "ReturnLabel",
    "Stock",
    "load_stocks",
    "render_pdf",
    "render_zpl",
]
