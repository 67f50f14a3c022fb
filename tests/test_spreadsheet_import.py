"""A person filling in a spreadsheet: the downloaded templates import as they are, and a file with
mistakes is refused with every bad cell named by its row and column, in sentences they can act on."""

from __future__ import annotations

import csv
import io
from uuid import UUID

import pytest
from openpyxl import Workbook, load_workbook
from starlette.testclient import TestClient

from logistics.bootstrap import System
from logistics.service_layer.access import Principal
from logistics.service_layer.importing import EXAMPLE_MARK, ImportRefused
from logistics.service_layer.session import Session
from tests.helpers import ORIGIN, USER, member_browser


def _ada(system: System) -> TestClient:
    return member_browser(system)


def _package(system: System, name: str, kind: str = "dewar") -> tuple[str, str]:
    shipment = system.app.create_shipment("mx23694", name, USER)
    return str(shipment), system.app.add_mail_in_dewar(shipment, 1, "i03", USER, kind)


def _post(client: TestClient, shipment: str, dewar: str, filename: str, content: bytes, json: bool = True):
    return client.post("/import", data={"dewar": dewar, "shipment": shipment}, files={"file": (filename, content)},
                       headers={**ORIGIN, **({"accept": "application/json"} if json else {})}, follow_redirects=False)


def _unmarked_csv(text: str, barcode: str) -> bytes:
    return text.replace(EXAMPLE_MARK, "").replace("CPS-0001", barcode).encode()


def _unmarked_xlsx(content: bytes, barcode: str) -> bytes:
    book = load_workbook(io.BytesIO(content))
    for row in book.active.iter_rows(min_row=2):
        row[0].value = None
        for cell in row:
            if cell.value == "CPS-0001":
                cell.value = barcode
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_every_downloaded_template_imports_as_it_is_and_its_example_rows_import_once_unmarked(system: System) -> None:
    client = _ada(system)
    kinds = system.app.catalogue.sample_kinds.values()
    serial = 100
    for kind in kinds:
        ctype = system.app.catalogue.container_type(kind.goes_into[0])
        package = "dewar" if "dewar" in ctype.goes_into else "parcel"
        for fmt in ("csv", "xlsx"):
            template = client.get(f"/import-template.{fmt}?kind={kind.code}")
            assert template.status_code == 200
            shipment, dewar = _package(system, f"{kind.code} {fmt}", package)
            as_downloaded = _post(client, shipment, dewar, f"{kind.code}.{fmt}", template.content)
            assert as_downloaded.status_code == 200, (kind.code, fmt, as_downloaded.text)
            assert as_downloaded.json() == {"ok": True, "samples": 0}
            serial += 1
            unmark = _unmarked_csv if fmt == "csv" else _unmarked_xlsx
            content = unmark(template.text if fmt == "csv" else template.content, f"CPS-{serial:04d}")
            unmarked = _post(client, shipment, dewar, f"{kind.code}.{fmt}", content)
            assert unmarked.status_code == 200, (kind.code, fmt, unmarked.text)
            assert unmarked.json()["samples"] == len(kind.examples), (kind.code, fmt)


def test_the_template_says_which_rows_are_examples(system: System) -> None:
    client = _ada(system)
    rows = list(csv.DictReader(io.StringIO(client.get("/import-template.csv?kind=mx-crystal").text)))
    assert next(iter(rows[0])) == "example"
    assert {r["example"] for r in rows} == {"example row: skipped on import (type your rows with this column empty)"}
    assert rows[1]["protein_acronym"] == "THAU" and rows[1]["space_group"] == "P41212"


ROWS = [
    # row 2: three mistakes in one row, all reported
    {"container_barcode": "CPS-0101", "container_type": "unipuck", "sample_position": "1", "sample_name": "x1",
     "sample_kind": "mx-crystal", "protein_acronym": "", "space_group": "P 43 21 2", "loop_type": "wire"},
    # row 3: the container's type and the sample's name
    {"container_barcode": "CPS-0102", "container_type": "hatbox", "sample_position": "2", "sample_name": "",
     "sample_kind": "mx-crystal", "protein_acronym": "lyso"},
    # row 4: a position the puck does not have, and a column the kind does not know (reported left to right)
    {"container_barcode": "CPS-0101", "container_type": "unipuck", "sample_position": "17", "sample_name": "x3",
     "sample_kind": "mx-crystal", "protein_acronym": "lyso", "resolution": "1.5"},
    # row 5: fine on its own, yet not saved: the import is all or nothing
    {"container_barcode": "CPS-0101", "container_type": "unipuck", "sample_position": "4", "sample_name": "x4",
     "sample_kind": "mx-crystal", "protein_acronym": "lyso"},
]
SENTENCES = [
    (2, "protein_acronym", "", "Protein acronym is required"),
    (2, "space_group", "P 43 21 2",
     '"P 43 21 2" is not a space group we know: expected a space group such as P212121 (67 allowed; see the list)'),
    (2, "loop_type", "wire",
     '"wire" is not a loop type we know: expected nylon, micromount, micromesh, litholoop or other'),
    (3, "container_type", "hatbox",
     "container type 'hatbox' is not in the catalogue: expected one of autoloader-cassette, cane, capillary-rack, "
     "cryo-em-puck, grid-box, plate-96, powder-box, unipuck"),
    (3, "sample_name", "", "sample_name is required: every sample needs a name"),
    (4, "sample_position", "17", "position '17' does not exist in a Unipuck: expected 1 to 16"),
    (4, "resolution", "1.5", "resolution is not a column for an MX crystal: expected one of protein_acronym, "
                             "protein_name, space_group, unit_cell_a, unit_cell_b, unit_cell_c, unit_cell_alpha, unit_cell_beta, "
                             "unit_cell_gamma, pin_barcode, loop_type, comments"),
]


def test_a_file_with_mistakes_reports_every_bad_cell_by_row_and_column_and_imports_nothing(system: System) -> None:
    _ada(system)
    _, dewar = _package(system, "Mistakes")
    ada = Session(system.app, system.views, Principal("acct-ada", "ada", frozenset({"member"}), frozenset({"mx23694"})))
    with pytest.raises(ImportRefused) as refused:
        ada.import_contents(dewar, ROWS)
    assert [(c.row, c.column, c.value, c.message) for c in refused.value.errors] == SENTENCES
    assert refused.value.message.startswith("7 problems in 3 rows, nothing was imported; first: row 2, column "
                                            "protein_acronym: Protein acronym is required")
    assert system.views.where(dewar)["contents"] == []


def test_the_import_errors_page_lists_every_cell_and_links_the_allowed_space_groups(system: System) -> None:
    client = _ada(system)
    shipment, dewar = _package(system, "Mistakes")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=sorted({k for r in ROWS for k in r}))
    writer.writeheader()
    writer.writerows(ROWS)
    page = _post(client, shipment, dewar, "mine.csv", out.getvalue().encode(), json=False)
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "mine.csv: 7 problems in 3 rows. Nothing was imported: correct these cells in your file and import it again." \
        in page.text
    assert ('expected a space group such as P212121 (67 allowed; <a href="/sample-kinds/mx-crystal#space_group">'
            "see the list</a>)") in page.text
    assert "[&#39;P1&#39;" not in page.text and "['P1'" not in page.text  # never the list in Python quoting
    listing = client.get("/sample-kinds/mx-crystal")
    assert listing.status_code == 200 and "67 allowed:" in listing.text and '<li class="code">P212121</li>' in listing.text


def test_an_xlsx_with_a_bad_number_names_the_row_and_the_column(system: System) -> None:
    client = _ada(system)
    _, dewar = _package(system, "Buffers", "parcel")
    book = Workbook()
    book.active.append(["container_barcode", "container_type", "sample_position", "sample_name", "sample_kind",
                        "composition", "volume_ul"])
    book.active.append(["PLATE-1", "plate-96", "1", "hepes", "saxs-buffer", "20 mM HEPES", "eighty"])
    out = io.BytesIO()
    book.save(out)
    refused = _post(client, "", dewar, "plate.xlsx", out.getvalue())
    assert refused.status_code == 422
    assert [(c["row"], c["column"], c["message"]) for c in refused.json()["cells"]] == [
        (2, "volume_ul", '"eighty" is not a number: expected digits with a decimal point, such as 79.1')]


def _mx(**cells: str) -> dict[str, str]:
    return {"container_barcode": "CPS-0201", "container_type": "unipuck", "sample_kind": "mx-crystal",
            "protein_acronym": "lyso", **cells}


CELL = {"unit_cell_a": "79.1", "unit_cell_b": "79.1", "unit_cell_c": "37.9",
        "unit_cell_alpha": "90", "unit_cell_beta": "90", "unit_cell_gamma": "90"}


def test_a_unit_cell_is_six_number_columns_or_the_older_one_cell_forms(system: System) -> None:
    _ada(system)
    _, dewar = _package(system, "Cells")
    ada = Session(system.app, system.views, Principal("acct-ada", "ada", frozenset({"member"}), frozenset({"mx23694"})))
    assert ada.import_contents(dewar, [
        _mx(sample_position="1", sample_name="six_columns", **CELL),
        _mx(sample_position="2", sample_name="one_cell_numbers", unit_cell="79.1 79.1 37.9 90 90 90"),
        _mx(sample_position="3", sample_name="one_cell_json",
            unit_cell='{"a": 79.1, "b": 79.1, "c": 37.9, "alpha": 90, "beta": 90, "gamma": 90}'),
    ]) == 3
    expected = {"a": 79.1, "b": 79.1, "c": 37.9, "alpha": 90, "beta": 90, "gamma": 90}
    box = system.app.container("CPS-0201")
    for position in ("1", "2", "3"):
        assert system.app.repository.get(UUID(box.samples[position])).attributes["unit_cell"] == expected


def test_a_unit_cell_that_is_not_numbers_out_of_range_or_incomplete_is_named_cell_by_cell(system: System) -> None:
    _ada(system)
    _, dewar = _package(system, "Bad cells")
    ada = Session(system.app, system.views, Principal("acct-ada", "ada", frozenset({"member"}), frozenset({"mx23694"})))
    with pytest.raises(ImportRefused) as refused:
        ada.import_contents(dewar, [
            _mx(sample_position="1", sample_name="words", **{**CELL, "unit_cell_b": "seventy-nine"}),
            _mx(sample_position="2", sample_name="ranges", **{**CELL, "unit_cell_a": "-79.1", "unit_cell_gamma": "180"}),
            _mx(sample_position="3", sample_name="three", unit_cell_a="79.1", unit_cell_b="79.1", unit_cell_c="37.9"),
            _mx(sample_position="4", sample_name="old_form", unit_cell="79.1 79.1 37.9"),
        ])
    assert [(c.row, c.column, c.message) for c in refused.value.errors] == [
        (2, "unit_cell_b", '"seventy-nine" is not a number: expected digits with a decimal point, such as 79.1'),
        (3, "unit_cell_a", "-79.1 is out of range: expected more than 0 and at most 2000 Å"),
        (3, "unit_cell_gamma", "180 is out of range: expected more than 0 and less than 180°"),
        (4, "unit_cell_alpha", "Unit cell alpha is required: give all of a, b, c, alpha, beta, gamma"),
        (4, "unit_cell_beta", "Unit cell beta is required: give all of a, b, c, alpha, beta, gamma"),
        (4, "unit_cell_gamma", "Unit cell gamma is required: give all of a, b, c, alpha, beta, gamma"),
        (5, "unit_cell", '"79.1 79.1 37.9" is not 6 numbers: expected a, b, c, alpha, beta, gamma in order, such as '
                         '"79.1 79.1 37.9 90 90 90", or one column each: unit_cell_a, unit_cell_b, unit_cell_c, '
                         'unit_cell_alpha, unit_cell_beta, unit_cell_gamma'),
    ]


def test_the_mx_template_has_the_unit_cell_as_six_columns(system: System) -> None:
    client = _ada(system)
    rows = list(csv.DictReader(io.StringIO(client.get("/import-template.csv?kind=mx-crystal").text)))
    assert [c for c in rows[0] if c.startswith("unit_cell")] == [
        "unit_cell_a", "unit_cell_b", "unit_cell_c", "unit_cell_alpha", "unit_cell_beta", "unit_cell_gamma"]
    assert [rows[1][c] for c in ("unit_cell_a", "unit_cell_c", "unit_cell_gamma")] == ["57.8", "150.1", "90"]
