"""Typed domain errors. Each message names the offending value and what is accepted."""


class DomainError(Exception):
    """Base of every error a user can cause; nothing has changed when one is raised."""

    code = "domain_error"

    def __init__(self, message: str):
        if len(message) > 600:  # a huge input is not echoed whole: the start names it, the end says what is accepted
            message = message[:300] + " … " + message[-250:]
        super().__init__(message)
        self.message = message


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
