"""A lab's postal address reaches staff only through the task that needs it: the return label of a
dewar whose way back stores booked, printed (not downloaded), and that printing is recorded on the
dewar. Members and admins see their own addresses on every label."""

from __future__ import annotations

import pytest

from logistics.adapters.label_printer import LabelPrinter
from logistics.service_layer.access import Principal
from logistics.service_layer.labelling import print_labels, render_labels
from logistics.service_layer.session import Session
from tests.helpers import STORES, USER, packed_dewar

LAB = ("South Parks Road", "Oxford OX1 3QU")


def _session(system, roles: set[str], proposals: set[str] = frozenset(), name: str = "sam") -> Session:
    return Session(system.app, system.views, Principal(f"acct-{name}", name, frozenset(roles), frozenset(proposals)))


def _text(pdf: bytes) -> str:
    import pypdfium2 as pdfium
    doc = pdfium.PdfDocument(pdf)
    return "\n".join(page.get_textpage().get_text_range() for page in doc)


@pytest.fixture(scope="module")
def printer():
    return LabelPrinter()


def _at_the_facility(system):
    shipment, barcode = packed_dewar(system)
    system.app.set_courier(shipment, "dhl", "1234567891", USER)
    system.app.mark_sent(shipment, USER)
    system.app.scan_dewar(barcode, "loc-goods-in", STORES)
    return shipment, barcode


def _return_label_events(system, barcode: str) -> list[dict]:
    return [e for e in system.app.history(system.app.resolve(barcode)[1]) if e["event"] == "ReturnLabelPrinted"]


def test_a_stores_station_downloading_a_shipments_labels_reads_no_lab_address(system, printer):
    shipment, barcode = _at_the_facility(system)
    system.app.request_dispatch(barcode, USER)
    system.app.book_dispatch(barcode, "ups", "1Z999AA10123456784", STORES)
    station = _session(system, {"stores"}, name="stores-desk-1")

    text = _text(render_labels(station, printer, str(shipment), "a4", "pdf")[1])

    assert barcode in text and "mx23694" in text  # the labels themselves are there
    assert not any(line in text for line in LAB), text
    assert "Ada Lovelace" not in text and "RETURN TO" not in text
    assert _return_label_events(system, barcode) == []


def test_stores_printing_the_return_label_of_a_booked_dewar_get_the_address_and_it_is_recorded(system, printer):
    shipment, barcode = _at_the_facility(system)
    system.app.request_dispatch(barcode, USER)
    system.app.book_dispatch(barcode, "ups", "1Z999AA10123456784", STORES)
    stores = _session(system, {"stores"})

    text = _text(print_labels(stores, printer, str(shipment), "a4", "pdf"))

    assert "RETURN TO" in text and all(line in text for line in LAB), text
    [printed] = _return_label_events(system, barcode)
    assert (printed["actor"], printed["data"]["courier"]) == ("account:acct-sam", "ups")
    from logistics.service_layer import sentences
    assert sentences.text(printed, stores.names()) == (
        f"Printed the return label of dewar {barcode} (the lab's return address) for UPS")
    # the sender's address stays the lab's own business: the address label names the proposal only
    assert "Ada Lovelace" not in text


def test_stores_printing_labels_before_the_way_back_is_booked_get_no_address_and_nothing_is_recorded(system, printer):
    shipment, barcode = _at_the_facility(system)
    system.app.request_dispatch(barcode, USER)  # requested, not yet booked
    text = _text(print_labels(_session(system, {"stores"}), printer, str(shipment), "a4", "pdf"))
    assert not any(line in text for line in LAB) and "RETURN TO" not in text
    assert _return_label_events(system, barcode) == []


def test_a_member_reads_their_own_addresses_on_a_download_and_nothing_is_recorded_on_the_dewar(system, printer):
    shipment, barcode = _at_the_facility(system)
    system.app.request_dispatch(barcode, USER)
    system.app.book_dispatch(barcode, "ups", "1Z999AA10123456784", STORES)
    ada = _session(system, {"member"}, {"mx23694"}, name="ada")
    text = _text(render_labels(ada, printer, str(shipment), "a4", "pdf")[1])
    assert "Ada Lovelace" in text and "RETURN TO" in text and all(line in text for line in LAB)
    print_labels(ada, printer, str(shipment), "a4", "pdf")
    assert _return_label_events(system, barcode) == []  # their own address: nothing to account for
