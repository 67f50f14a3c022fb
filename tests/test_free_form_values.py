"""A sample's free-form values (its attributes and its safety) have bounds: a value too large or
too deeply nested, or safety information the facility does not ask for, is refused with what is
accepted, and nothing is recorded; what is accepted keeps the sample's history readable."""

from __future__ import annotations

import pytest

from logistics.domain.errors import InvalidValue
from tests.helpers import USER, event_count, packed_dewar


def _nested(levels: int) -> dict:
    value: dict = {"notes": "x"}
    for _ in range(levels - 1):
        value = {"notes": value}
    return value


@pytest.mark.parametrize("attributes, safety, message", [
    ({"protein_acronym": "lyso"}, {"notes": "x" * 2_000_000},
     "sample safety take 2000012 bytes as JSON: expected at most 16384"),
    ({"protein_acronym": "lyso"}, _nested(900), "sample safety nest more than 8 levels deep: expected plain names and values"),
    ({"protein_acronym": "lyso", "extra": _nested(12)}, None,
     "sample attributes nest more than 8 levels deep: expected plain names and values"),
    ({"protein_acronym": "lyso"}, {"colour": "blue"},
     "sample safety colour: colour is not a field here: expected one of hazards, biosafety_level, radioactive, notes"),
    ({"protein_acronym": "lyso"}, {"biosafety_level": 7}, "sample safety biosafety_level: 7 is out of range: expected at least 1 and at most 4"),
])
def test_free_form_sample_values_out_of_bounds_are_refused_and_nothing_is_recorded(system, attributes, safety,
                                                                                   message) -> None:
    packed_dewar(system, samples=1)
    before = event_count(system)
    with pytest.raises(InvalidValue) as refused:
        system.app.add_sample("CPS-0001", "5", "mx-crystal", "risky", attributes, USER, safety=safety)
    assert refused.value.message == message
    assert event_count(system) == before


def test_safety_the_facility_asks_for_is_kept_and_the_history_reads(system) -> None:
    packed_dewar(system, samples=1)
    safety = {"hazards": ["H301", "toxic if swallowed"], "biosafety_level": 2, "radioactive": False,
              "notes": "handle in the fume hood"}
    sample = system.app.add_sample("CPS-0001", "5", "mx-crystal", "careful", {"protein_acronym": "lyso"}, USER,
                                   safety=safety)
    added = system.app.history(sample)[0]
    assert added["data"]["safety"] == safety
