"""Helpers for the labels tests: sample labels, rasterising and decoding."""

from __future__ import annotations

from pathlib import Path

from labels import (
    AddressLabel,
    ContainerLabel,
    DewarLabel,
    ReturnLabel,
)

ROOT = Path(__file__).resolve().parents[2]
STOCKS_FILE = ROOT / "fixtures" / "label-stocks.json"
RASTER_DPI = 203

LONG_NAME = ("Remote collection of the membrane transporter complexes grown in lipidic cubic phase, "
             "second attempt after the March beamtime, with the ligand soaks from Oxford and Grenoble")


def dewar(barcode="mx23694-1-i03-0000001-k", containers=12, **kw):
    values = dict(
        barcode=barcode,
        proposal="mx23694",
        shipment_name="Shipment 7: lysozyme soaks",
        safety_level="Green",
        container_barcodes=tuple(f"DLS-UP-{i:04d}" for i in range(containers)),
        printed_date="2024-05-01",
    )
    values.update(kw)
    return DewarLabel(**values)


def address(**kw):
    values = dict(
        facility_address=("Diamond Light Source Ltd", "Sample Receipt, Zone 6",
                          "Harwell Science and Innovation Campus", "Didcot", "OX11 0DE", "United Kingdom"),
        sender_name="Dr Anna Kowalska",
        sender_lines=("Structural Biology Laboratory", "University of Somewhere", "1 Long Road",
                      "00-001 Warszawa", "Poland"),
        parcel_index=1,
        parcel_count=2,
        instrument="i03",
        experiment_date="2024-05-10",
        proposal="mx23694",
    )
    values.update(kw)
    return AddressLabel(**values)


def return_label(tracking="1234567891", **kw):
    values = dict(
        return_address=("Dr Anna Kowalska", "Structural Biology Laboratory", "University of Somewhere",
                        "1 Long Road", "00-001 Warszawa", "Poland"),
        courier="DHL Express",
        courier_account="960123456",
        tracking_number=tracking,
    )
    values.update(kw)
    return ReturnLabel(**values)


def container(barcode="DLS-UP-0001", **kw):
    values = dict(barcode=barcode, container_type="unipuck", proposal="mx23694")
    values.update(kw)
    return ContainerLabel(**values)


def pages(pdf: bytes, dpi: int = RASTER_DPI):
    """Each page as a greyscale PIL image at ``dpi``, rasterised as a printer
    would print it: every dot on or off (no anti-aliasing).

    Anti-aliased grey edges are a screen artefact; at 203 dpi they blur the
    0.254 mm modules of a long code on a 300 dpi sheet into two grey pixels,
    which no printed label has.
    """
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].render(scale=dpi / 72, grayscale=True, no_smoothpath=True, no_smoothimage=True).to_pil()
                for i in range(len(doc))]
    finally:
        doc.close()


def page_texts(pdf: bytes):
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def crop(image, rect, page_height_pt, dpi=RASTER_DPI, margin_pt=0.0):
    """The part of a page image inside a PDF rectangle (points, origin bottom-left)."""
    k = dpi / 72
    x0, y0, x1, y1 = rect
    return image.crop((int((x0 - margin_pt) * k), int((page_height_pt - y1 - margin_pt) * k),
                       int((x1 + margin_pt) * k + 0.999), int((page_height_pt - y0 + margin_pt) * k + 0.999)))


def decode(image):
    """[(format name, text)] of every barcode zxing-cpp finds in ``image``."""
    import zxingcpp

    return sorted((r.format.name, r.text) for r in zxingcpp.read_barcodes(image))
