"""Another proposal's things answer exactly as things that do not exist, on every argument of a
member's command: a barcode given as the new parent of a puck tells nothing about whose it is."""

from __future__ import annotations

import pytest

from logistics.domain.errors import DomainError
from logistics.service_layer.access import Principal
from logistics.service_layer.session import Session
from tests.helpers import USER, packed_dewar


def test_moving_a_puck_into_another_proposals_cane_answers_as_a_missing_cane(system) -> None:
    _, own_dewar = packed_dewar(system, "mx23694", puck="CPS-0001")
    _, their_dewar = packed_dewar(system, "mx31020", puck="CPS-0002", name="Theirs")
    system.app.add_container("CANE-0009", "cane", their_dewar, USER)
    ada = Session(system.app, system.views, Principal("a1", "ada", frozenset({"member"}), frozenset({"mx23694"})))
    answers = []
    for parent in ("CANE-0009", "CANE-0008"):  # theirs, and one that nobody registered
        with pytest.raises(DomainError) as refused:
            ada.move_container("CPS-0001", own_dewar, parent=parent, position="1")
        answers.append((refused.value.code, refused.value.message.replace(parent, "<parent>")))
    assert answers[0] == answers[1] == ("unknown_barcode", "no dewar or container has the barcode '<parent>'")
