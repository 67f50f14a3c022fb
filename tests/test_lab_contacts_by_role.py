"""A proposal's lab contacts (names, postal addresses) are for its members and admins: a stores
scanner station or staff member lists none of them (they meet an address only on a label)."""

from __future__ import annotations

import pytest

from logistics.domain.errors import NotFound
from logistics.service_layer.access import Principal
from logistics.service_layer.session import Session
from tests.helpers import proposal_with_contact


def test_a_station_and_staff_list_no_lab_contacts_but_members_and_admins_do(system) -> None:
    proposal_with_contact(system)
    def session(roles: set[str], proposals: set[str] = frozenset()) -> Session:
        return Session(system.app, system.views, Principal("x", "x", frozenset(roles), frozenset(proposals)))
    for roles in ({"stores"}, {"beamline"}):
        with pytest.raises(NotFound, match="proposal 'mx23694' is not registered"):
            session(roles).lab_contacts("mx23694")
    assert [c["name"] for c in session({"member"}, {"mx23694"}).lab_contacts("mx23694")] == ["Ada Lovelace"]
    assert [c["name"] for c in session({"admin"}).lab_contacts("mx23694")] == ["Ada Lovelace"]
