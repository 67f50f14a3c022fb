"""A user group prints its shipment's labels; every barcode on them scans back to its value."""

from __future__ import annotations

import pytest

from logistics.adapters.label_printer import LabelPrinter
from logistics.domain.errors import InvalidValue, NotFound
from logistics.service_layer.access import Principal
from logistics.service_layer.labelling import print_labels
from logistics.service_layer.session import Session
from tests.helpers import STORES, USER, packed_dewar
from tests.labels.support import decode, pages


def _member(system, proposal: str) -> Session:
    return Session(system.app, system.views, Principal("acct-1", "ada", frozenset({"member"}), frozenset({proposal})))


def _decoded(pdf: bytes) -> set[str]:
    """Every barcode on every page, rasterised at a thermal printer's 203 dpi."""
    return {text for image in pages(pdf) for _symbology, text in decode(image)}


@pytest.fixture(scope="module")
def printer():
    return LabelPrinter()


def test_a_member_prints_labels_that_scan_back_and_the_printing_is_in_the_history(system, printer):
    shipment, barcode = packed_dewar(system)
    second = system.app.add_mail_in_dewar(shipment, 1, "i03", USER)
    session = _member(system, "mx23694")
    for stock in ("a4-14", "a4", "thermal-4x6"):
        pdf = print_labels(session, printer, "mx23694/Run 1", stock, "pdf")
        assert pdf.startswith(b"%PDF")
        assert {barcode, second} <= _decoded(pdf), stock
    zpl = print_labels(session, printer, str(shipment), "thermal-4x6", "zpl").decode()
    assert zpl.count("^XA") == zpl.count("^XZ") >= 2
    assert f"^FD{barcode}^FS" in zpl
    printed = [e for e in system.app.history(shipment) if e["event"] == "LabelsPrinted"]
    assert [(e["data"]["stock"], e["data"]["label_format"]) for e in printed] == [
        ("a4-14", "pdf"), ("a4", "pdf"), ("thermal-4x6", "pdf"), ("thermal-4x6", "zpl")]
    assert printed[0]["actor"] == "account:acct-1"


def test_the_return_label_carries_the_booked_tracking_number(system, printer):
    shipment, barcode = packed_dewar(system)
    system.app.mark_sent(shipment, USER)
    system.app.scan_dewar(barcode, "loc-goods-in", STORES)
    system.app.request_dispatch(barcode, USER)
    system.app.book_dispatch(barcode, "ups", "1Z999AA10123456784", STORES)
    pdf = print_labels(_member(system, "mx23694"), printer, "Run 1", "a4", "pdf")
    assert "1Z999AA10123456784" in _decoded(pdf)


def test_a_member_of_another_proposal_cannot_print_them_nor_learn_they_exist(system, printer):
    shipment, _ = packed_dewar(system)
    stranger = _member(system, "mx99999")
    with pytest.raises(NotFound) as by_id:
        print_labels(stranger, printer, str(shipment))
    with pytest.raises(NotFound) as by_name:
        print_labels(stranger, printer, "Run 1")
    assert "mx23694" not in by_id.value.message + by_name.value.message
    assert not [e for e in system.app.history(shipment) if e["event"] == "LabelsPrinted"]


def test_an_unknown_stock_or_format_is_refused_and_nothing_is_recorded(system, printer):
    shipment, _ = packed_dewar(system)
    with pytest.raises(InvalidValue, match="label stock 'a5' is not known: expected one of a4-14, a4, thermal-4x6"):
        print_labels(_member(system, "mx23694"), printer, "Run 1", "a5")
    with pytest.raises(InvalidValue, match="ZPL needs a roll stock"):
        print_labels(_member(system, "mx23694"), printer, "Run 1", "a4-14", "zpl")
    assert not [e for e in system.app.history(shipment) if e["event"] == "LabelsPrinted"]


def test_each_dewars_address_label_names_that_dewars_own_instrument(system, printer):
    shipment, first = packed_dewar(system)
    second = system.app.add_mail_in_dewar(shipment, 2, "i04", USER)
    session = _member(system, "mx23694")

    zpl = print_labels(session, printer, "mx23694/Run 1", "thermal-4x6", "zpl").decode()

    instruments = [label for label in zpl.split("^XZ") if "Instrument" in label]  # the two address labels
    assert len(instruments) == 2
    assert "Instrument i03" in instruments[0] and "Instrument i04" not in instruments[0]
    assert "Instrument i04" in instruments[1] and "Instrument i03" not in instruments[1]
