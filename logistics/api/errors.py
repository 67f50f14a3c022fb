"""Domain errors as GraphQL result types: every mutation returns its entity or one of these."""

from __future__ import annotations

from typing import Any

import strawberry

from logistics.domain import errors


@strawberry.interface(description="Why a command or question was refused; nothing changed.")
class Problem:
    message: str
    code: str


@strawberry.type
class UnknownBarcodeError(Problem):
    pass


@strawberry.type
class InvalidBarcodeError(Problem):
    pass


@strawberry.type
class InvalidValueError(Problem):
    pass


@strawberry.type(description="The command breaks a rule of the entity's current state.")
class NotPermittedError(Problem):
    pass


@strawberry.type(description="The signed-in principal's role does not allow this.")
class AccessDeniedError(Problem):
    pass


@strawberry.type
class NotFoundError(Problem):
    pass


@strawberry.type
class AlreadyExistsError(Problem):
    pass


_TYPES: dict[type, type] = {
    errors.UnknownBarcode: UnknownBarcodeError, errors.InvalidBarcode: InvalidBarcodeError,
    errors.InvalidValue: InvalidValueError, errors.NotPermitted: NotPermittedError,
    errors.AccessDenied: AccessDeniedError, errors.NotFound: NotFoundError, errors.AlreadyExists: AlreadyExistsError,
}
PROBLEMS = tuple(_TYPES.values())


def problem(error: errors.DomainError) -> Any:
    for cls in type(error).__mro__:
        if cls in _TYPES:
            return _TYPES[cls](message=error.message, code=error.code)
    return InvalidValueError(message=error.message, code=error.code)
