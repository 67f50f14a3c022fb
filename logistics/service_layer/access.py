"""Who may do what. A proposal member sees and changes only their proposals' things; stores and
beamline staff see what their work needs; admins see everything.

Something a member may not see is reported exactly as if it did not exist, so a foreign
proposal's data never appears, not even in an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from logistics.domain.by import By
from logistics.domain.errors import AccessDenied, AlreadyExists

MEMBER, STORES, BEAMLINE, ADMIN = "member", "stores", "beamline", "admin"
STAFF = frozenset({STORES, BEAMLINE, ADMIN})

# Commands that act on a proposal's own things: its members (and admins) may run them.
MEMBER_COMMANDS = frozenset({
    "create_shipment", "add_mail_in_dewar", "add_facility_dewar", "add_container", "remove_container",
    "move_container", "add_sample", "remove_sample", "move_sample", "set_courier", "mark_sent",
    "cancel_shipment", "request_dispatch", "record_labels_printed",
})
# Commands of the facility's staff, by role (admins may run all of them).
STAFF_COMMANDS: dict[str, frozenset[str]] = {
    **{c: frozenset({STORES}) for c in (
        "scan_dewar", "move_dewar", "top_up", "check_contents", "report_damage", "book_dispatch", "cancel_dispatch",
        "scan_out",
        "mark_returned", "close_dewar", "record_unexpected_arrival")},
    **{c: frozenset({BEAMLINE}) for c in ("take_to_instrument", "load", "unload", "dispose")},
    "hand_back": frozenset({BEAMLINE, STORES}),
    "request_dispatch": frozenset({STORES}),  # stores may ask on a user's behalf
    "record_labels_printed": frozenset({STORES, BEAMLINE}),  # staff print labels for a shipment too
    **{c: frozenset() for c in (
        "register_location", "register_facility_dewar", "register_proposal", "register_person", "add_member",
        "add_lab_contact", "erase_person")},
}


@dataclass(frozen=True)
class Principal:
    """Who is asking: an account (a person, a scanner station or a script) and its proposals."""

    account_id: str
    name: str
    roles: frozenset[str]
    proposals: frozenset[str] = field(default_factory=frozenset)
    station: str | None = None

    @property
    def by(self) -> By:
        return By(f"account:{self.account_id}", self.station)

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF)

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    def sees(self, proposal: str | None) -> bool:
        """Whether this principal may see a thing of this proposal (None: facility things)."""
        if self.is_staff:
            return True
        return proposal is not None and MEMBER in self.roles and proposal in self.proposals

    def may(self, command: str, proposal: str | None = None) -> bool:
        if self.is_admin:
            return True
        if self.roles & STAFF_COMMANDS.get(command, frozenset()):
            return True
        return command in MEMBER_COMMANDS and MEMBER in self.roles and proposal in self.proposals

    def require_role(self, command: str) -> None:
        """For staff commands: refuse plainly when the role does not allow it."""
        if not (self.is_admin or self.roles & STAFF_COMMANDS.get(command, frozenset())):
            allowed = sorted(STAFF_COMMANDS.get(command, frozenset()) | {ADMIN})
            raise AccessDenied(f"{command.replace('_', ' ')} needs the role {' or '.join(allowed)}; "
                               f"{self.name} has {', '.join(sorted(self.roles)) or 'no role'}")


def taken_by_another_proposal(barcode: str) -> AlreadyExists:
    """A container barcode registered to a proposal the principal cannot see: it stays theirs,
    and nothing about it is told, only that the barcode is taken."""
    return AlreadyExists(f"barcode {barcode!r} is already registered to another proposal: "
                         "use another barcode, or ask the facility if this container is yours")
