"""A member filling a puck's positions as one grid: one save for all of them; a bad cell is named by
its position and column and nothing changes; a row updates, replaces or (cleared) empties its position."""

from __future__ import annotations


import pytest

from logistics.bootstrap import System
from logistics.domain.errors import UnknownBarcode
from logistics.service_layer.access import Principal
from logistics.service_layer.grid import GridRefused
from logistics.service_layer.session import Session
from tests.helpers import USER, event_count, proposal_with_contact


def _member(system: System, proposal: str = "mx23694") -> Session:
    return Session(system.app, system.views, Principal("acct-ada", "ada", frozenset({"member"}), frozenset({proposal})))


def _empty_puck(system: System) -> str:
    proposal_with_contact(system, "mx23694")
    shipment = system.app.create_shipment("mx23694", "Grid", USER)
    dewar = system.app.add_mail_in_dewar(shipment, 1, "i03", USER)
    system.app.add_container("CPS-0301", "unipuck", dewar, USER)
    return dewar


def _row(position: str, name: str, **cells: str) -> dict[str, str]:
    return {"position": position, "sample_name": name, "sample_kind": "mx-crystal", **cells}


def _contents(system: System) -> dict[str, tuple[str, dict]]:
    box = system.app.container("CPS-0301")
    return {p: (s.name, s.attributes) for p, s in
            ((p, system.app.sample(i)) for p, i in sorted(box.samples.items()))}


CELL = {"unit_cell_a": "79.1", "unit_cell_b": "79.1", "unit_cell_c": "37.9",
        "unit_cell_alpha": "90", "unit_cell_beta": "90", "unit_cell_gamma": "90"}


def test_a_member_fills_a_puck_in_one_save_with_unit_cells_as_six_numbers(system: System) -> None:
    _empty_puck(system)
    ada = _member(system)
    counts = ada.fill_container("CPS-0301", [_row("1", "lyso_1", protein_acronym="lyso", **CELL),
                                             _row("2", "lyso_2", protein_acronym="lyso", space_group="P43212"),
                                             {"position": "3", "sample_name": "", "sample_kind": "mx-crystal"}])
    assert counts == {"added": 2, "changed": 0, "removed": 0}
    assert _contents(system) == {
        "1": ("lyso_1", {"protein_acronym": "lyso",
                         "unit_cell": {"a": 79.1, "b": 79.1, "c": 37.9, "alpha": 90, "beta": 90, "gamma": 90}}),
        "2": ("lyso_2", {"protein_acronym": "lyso", "space_group": "P43212"})}
    assert ada.protein_acronyms("mx23694") == ["lyso"]


def test_one_bad_cell_marks_its_position_and_column_and_the_grid_changes_nothing(system: System) -> None:
    _empty_puck(system)
    ada = _member(system)
    ada.fill_container("CPS-0301", [_row("1", "lyso_1", protein_acronym="lyso"),
                                    _row("2", "lyso_2", protein_acronym="lyso")])
    before, events = _contents(system), event_count(system)
    with pytest.raises(GridRefused) as refused:
        ada.fill_container("CPS-0301", [
            _row("1", "lyso_1", protein_acronym="lyso", comments="changed"),  # fine on its own
            {"position": "2", "sample_name": "", "sample_kind": "mx-crystal"},  # would empty position 2
            _row("3", "thau_1", protein_acronym="thau", space_group="P 43 21 2", unit_cell_a="wide"),
            _row("4", "", protein_acronym="thau"),
            _row("17", "nowhere", protein_acronym="thau"),
        ])
    assert [(e.position, e.column, e.message) for e in refused.value.errors] == [
        ("3", "space_group",
         '"P 43 21 2" is not a space group we know: expected a space group such as P212121 (67 allowed; see the list)'),
        ("3", "unit_cell_a", '"wide" is not a number: expected digits with a decimal point, such as 79.1'),
        ("4", "sample_name", "Sample name is required: every sample needs a name"),
        ("17", "position", "position '17' does not exist in a Unipuck: expected 1 to 16"),
    ]
    assert refused.value.message.startswith("4 cells are wrong in 3 positions; nothing was saved.")
    assert _contents(system) == before
    assert event_count(system) == events


def test_a_row_updates_replaces_or_empties_its_position(system: System) -> None:
    _empty_puck(system)
    ada = _member(system)
    ada.fill_container("CPS-0301", [_row("1", "lyso_1", protein_acronym="lyso"),
                                    _row("2", "lyso_2", protein_acronym="lyso"),
                                    _row("3", "lyso_3", protein_acronym="lyso")])
    counts = ada.fill_container("CPS-0301", [
        _row("1", "lyso_1", protein_acronym="lyso", loop_type="micromesh"),  # same sample, new attribute
        _row("2", "thau_2", protein_acronym="thau"),  # another sample at position 2
        {"position": "3", "sample_name": "", "sample_kind": "mx-crystal", "protein_acronym": ""},  # cleared
    ])
    assert counts == {"added": 1, "changed": 1, "removed": 2}
    assert _contents(system) == {"1": ("lyso_1", {"protein_acronym": "lyso", "loop_type": "micromesh"}),
                                 "2": ("thau_2", {"protein_acronym": "thau"})}
    assert ada.protein_acronyms("mx23694") == ["lyso", "thau"]


def test_a_member_of_another_proposal_cannot_fill_the_puck_nor_learn_it_exists(system: System) -> None:
    _empty_puck(system)
    with pytest.raises(UnknownBarcode) as hidden:
        _member(system, "mx31020").fill_container("CPS-0301", [_row("1", "mine", protein_acronym="x")])
    assert hidden.value.message == "no dewar or container has the barcode 'CPS-0301'"
    assert _contents(system) == {}
    assert _member(system, "mx31020").protein_acronyms("mx23694") == []
