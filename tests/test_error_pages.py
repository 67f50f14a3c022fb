"""No dead ends: a person's browser meets an error as a page in the site's layout, saying what was
wrong and the way back; a script (an API token, or Accept: application/json) still gets JSON."""

from __future__ import annotations

from logistics.bootstrap import System
from tests.helpers import ORIGIN, USER, member_browser

JSON = {"accept": "application/json"}


def _in_layout(page) -> str:
    assert page.headers["content-type"].startswith("text/html"), page.headers["content-type"]
    assert '<header class="top">' in page.text and 'href="/">your start page</a>' in page.text
    return page.text


def test_a_member_asking_for_labels_of_an_empty_shipment_reads_why_on_a_page(system: System) -> None:
    ada = member_browser(system)
    shipment = str(system.app.create_shipment("mx23694", "Empty", USER))
    for method in ("get", "post"):
        page = getattr(ada, method)(f"/shipments/{shipment}/labels", headers=ORIGIN)
        assert page.status_code == 400
        text = _in_layout(page)
        assert "shipment &#39;Empty&#39; has no dewar yet: add one before printing labels" in text
        assert f'<a href="/shipments/{shipment}">Back to the shipment</a>' in text
        assert "Nothing was printed or recorded." in text
    script = ada.get(f"/shipments/{shipment}/labels", headers=JSON)
    assert script.status_code == 400
    assert script.json() == {"error": "shipment 'Empty' has no dewar yet: add one before printing labels",
                             "code": "invalid_value"}


def test_a_mistyped_address_is_a_not_found_page_and_json_for_a_script(system: System) -> None:
    ada = member_browser(system)
    page = ada.get("/shipmnets")
    assert page.status_code == 404
    assert "There is no page at /shipmnets." in _in_layout(page)
    assert "Check the link, or find a barcode or a shipment with the box at the top." in page.text
    script = ada.get("/shipmnets", headers=JSON)
    assert script.status_code == 404 and script.json() == {"error": "There is no page at /shipmnets.",
                                                          "code": "not_found"}


def test_opening_the_import_address_in_the_browser_is_a_page_not_a_bare_405(system: System) -> None:
    ada = member_browser(system)
    page = ada.get("/import")
    assert page.status_code == 405
    assert "/import does not take a GET: use the page&#39;s own buttons and forms." in _in_layout(page)


def test_an_import_without_a_file_says_so_on_a_page(system: System) -> None:
    ada = member_browser(system)
    shipment = str(system.app.create_shipment("mx23694", "Run", USER))
    page = ada.post("/import", data={"dewar": "x", "shipment": shipment}, headers=ORIGIN)
    assert page.status_code == 400
    assert "Choose a CSV or XLSX file to import." in _in_layout(page)
    assert f'<a href="/shipments/{shipment}">Back to the shipment</a>' in page.text
