"""A refused spreadsheet cell is named by the column the domain says it refused (the error's
`field`), not guessed from the words of the message."""

from __future__ import annotations

import pytest

from logistics.service_layer.access import Principal
from logistics.service_layer.importing import ImportRefused
from logistics.service_layer.session import Session
from tests.helpers import USER, proposal_with_contact


def _my_dewar(system) -> tuple[Session, str]:
    proposal_with_contact(system, "mx23694")
    shipment = system.app.create_shipment("mx23694", "Columns", USER)
    ada = Session(system.app, system.views, Principal("acct-ada", "ada", frozenset({"member"}), frozenset({"mx23694"})))
    return ada, system.app.add_mail_in_dewar(shipment, 1, "i03", USER)


def test_a_bad_space_group_whose_text_names_another_column_is_reported_in_the_space_group_column(system):
    ada, dewar = _my_dewar(system)
    row = {"container_barcode": "CPS-0901", "container_type": "unipuck", "sample_position": "1", "sample_name": "x1",
           "sample_kind": "mx-crystal", "protein_acronym": "lyso", "space_group": "see protein_acronym: P1"}
    with pytest.raises(ImportRefused) as refused:
        ada.import_contents(dewar, [row])
    [cell] = refused.value.errors
    assert (cell.row, cell.column, cell.value) == (2, "space_group", "see protein_acronym: P1")
    assert system.views.where(dewar)["contents"] == []


def test_each_bad_container_cell_is_reported_in_its_own_column(system):
    ada, dewar = _my_dewar(system)
    rows = [{"container_barcode": "CPS 0902!", "container_type": "unipuck"},
            {"container_barcode": "CPS-0903", "container_type": "hatbox"},
            {"container_barcode": "CANE-1", "container_type": "cane"},
            {"container_barcode": "CPS-0904", "container_type": "unipuck", "parent_barcode": "CANE-1",
             "container_position": "99"}]
    with pytest.raises(ImportRefused) as refused:
        ada.import_contents(dewar, rows)
    assert [(c.row, c.column) for c in refused.value.errors] == [
        (2, "container_barcode"), (3, "container_type"), (5, "container_position")]
