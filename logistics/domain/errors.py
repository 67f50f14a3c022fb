"""Typed domain errors. Each message names the offending value and what is accepted."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a user can cause; nothing has changed when one is raised.

    `field` names the value the error concerns, where one does ("container_barcode",
    "container_type", "position", a sample attribute's name), so an edge can point at it (the
    importer names the spreadsheet's column) without reading the message; None otherwise."""

    code = "domain_error"

    def __init__(self, message: str, field: str | None = None):
        if len(message) > 600:  # a huge input is not echoed whole: the start names it, the end says what is accepted
            message = message[:300] + " … " + message[-250:]
        super().__init__(message)
        self.message, self.field = message, field


class InvalidValue(DomainError):
    """A value is malformed: wrong format, out of range, not in the catalogue."""

    code = "invalid_value"


class InvalidBarcode(InvalidValue):
    """A code that cannot be a barcode of ours: wrong format or wrong check character."""

    code = "invalid_barcode"


class UnknownBarcode(DomainError):
    """A well-formed barcode that nobody registered."""

    code = "unknown_barcode"


class NotFound(DomainError):
    code = "not_found"


class AlreadyExists(DomainError):
    """A barcode, facility code or name that is already taken."""

    code = "already_exists"


class NotPermitted(DomainError):
    """The command breaks a rule of the entity's current state (a facet rule)."""

    code = "not_permitted"


class AccessDenied(DomainError):
    """The principal's role does not allow this command or question."""

    code = "access_denied"
