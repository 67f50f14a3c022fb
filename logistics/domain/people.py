"""Proposals and people. Personal data arrives here only sealed (see `sealed`)."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from logistics.domain.clock import Tracked
from logistics.domain.by import By
from logistics.domain.errors import InvalidValue, NotPermitted

SEALED_PREFIX = "sealed:"
PROPOSAL_ROLES = ("pi", "co-investigator", "member")


def sealed(value: str) -> str:
    """Refuse anything that is not sealed personal data: clear text never enters an event."""
    if not isinstance(value, str) or not value.startswith(SEALED_PREFIX):
        raise InvalidValue("personal data must be sealed before it is recorded")
    return value


class Person(Tracked):
    """A person's id is made first, so their key can seal their details before they are recorded."""

    @staticmethod
    def create_id(person_id: str) -> UUID:
        return UUID(person_id)

    @event("Registered")
    def __init__(self, person_id: str, details: str, actor: str, station: str | None):
        self.details = sealed(details)  # name, e-mail, phone
        self.erased = False

    @event("DetailsChanged")
    def change_details(self, details: str, actor: str, station: str | None) -> None:
        self.details = sealed(details)

    @event("Erased")
    def erase(self, actor: str, station: str | None) -> None:
        self.erased = True


class Proposal(Tracked):
    @staticmethod
    def create_id(code: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"logistics:proposal:{code}")

    @event("Registered")
    def __init__(self, code: str, title: str, actor: str, station: str | None):
        self.code, self.title = code, title
        self.members: dict[str, str] = {}  # person id -> role
        self.lab_contacts: dict[str, dict[str, str]] = {}  # contact id -> {person, address}

    def add_member(self, person_id: str, role: str, by: By) -> None:
        if role not in PROPOSAL_ROLES:
            raise InvalidValue(f"proposal role {role!r} is not valid: expected one of {', '.join(PROPOSAL_ROLES)}")
        self._member_added(person_id=person_id, role=role, **by.fields)

    @event("MemberAdded")
    def _member_added(self, person_id: str, role: str, actor: str, station: str | None) -> None:
        self.members[person_id] = role

    @event("MemberRemoved")
    def remove_member(self, person_id: str, actor: str, station: str | None) -> None:
        self.members.pop(person_id, None)

    def add_lab_contact(self, contact_id: str, person_id: str, address: str, by: By) -> None:
        if person_id not in self.members:
            raise NotPermitted(f"a lab contact of {self.code} must be one of its members")
        self._lab_contact_added(contact_id=contact_id, person_id=person_id, address=sealed(address), **by.fields)

    @event("LabContactAdded")
    def _lab_contact_added(self, contact_id: str, person_id: str, address: str, actor: str, station: str | None) -> None:
        self.lab_contacts[contact_id] = {"person": person_id, "address": address}

    def lab_contact(self, contact_id: str) -> dict[str, str]:
        try:
            return self.lab_contacts[str(contact_id)]
        except KeyError:
            raise InvalidValue(f"lab contact {contact_id!r} is not one of proposal {self.code}'s") from None
