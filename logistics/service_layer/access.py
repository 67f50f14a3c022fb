"""Who may do what. A proposal member sees and changes only their proposals' things; stores and
beamline staff see what their work needs; admins see everything.

Something a member may not see is reported exactly as if it did not exist, so a foreign
proposal's data never appears, not even in an error.

Who may call what is declared next to each Session method with `@allowed(...)`: the methods and
the role table are one thing (service_layer/session.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from logistics.domain.by import By
from logistics.domain.errors import AccessDenied, AlreadyExists

MEMBER, STORES, BEAMLINE, ADMIN = "member", "stores", "beamline", "admin"
STAFF = frozenset({STORES, BEAMLINE, ADMIN})

EVERYONE = "everyone"  # a question anyone signed in may ask: the method hides what they may not see
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Rule:
    """Who may call one Session method: the roles named next to it with `@allowed`."""

    roles: frozenset[str]

    @property
    def staff_roles(self) -> frozenset[str]:
        return self.roles & STAFF

    @property
    def for_members(self) -> bool:
        """A proposal's members may, on that proposal's things: the method names the proposal."""
        return MEMBER in self.roles

    @property
    def for_everyone(self) -> bool:
        return EVERYONE in self.roles


def allowed(*roles: str) -> Callable[[F], F]:
    """Declare, next to a Session method, who may call it: MEMBER (the members of the proposal
    whose things it acts on; the method checks which proposal, so that another proposal's things
    look as if they did not exist), STORES, BEAMLINE, ADMIN, or EVERYONE (a question; the method
    shows each caller only what they may see).

    A method for staff roles only is refused before it runs to anyone without one of them, in
    words that name the roles it needs. The access-matrix test enumerates the Session's methods:
    a public method without a rule fails it."""
    unknown = set(roles) - {MEMBER, STORES, BEAMLINE, ADMIN, EVERYONE}
    if unknown or not roles:
        raise ValueError(f"allowed({', '.join(roles)}): expected some of member, stores, beamline, admin, everyone")
    rule = Rule(frozenset(roles))

    def decorate(method: F) -> F:
        if rule.for_members or rule.for_everyone:
            guarded = method
        else:
            @functools.wraps(method)
            def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
                self.principal.require_role(method.__name__, rule)
                return method(self, *args, **kwargs)
        guarded.rule = rule  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]
    return decorate


def rule_of(method: Any) -> Rule | None:
    """The rule a Session method declares with `@allowed` (None: it declares none)."""
    return getattr(method, "rule", None)


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

    def may(self, rule: Rule, proposal: str | None = None) -> bool:
        """Whether this principal may call a method of this rule on a thing of this proposal."""
        if self.is_admin or rule.for_everyone or self.roles & rule.staff_roles:
            return True
        return rule.for_members and MEMBER in self.roles and proposal in self.proposals

    def require_role(self, command: str, rule: Rule) -> None:
        """For staff commands: refuse plainly when the role does not allow it."""
        if not (self.is_admin or self.roles & rule.staff_roles):
            allowed = sorted(rule.staff_roles | {ADMIN})
            raise AccessDenied(f"{command.replace('_', ' ')} needs the role {' or '.join(allowed)}; "
                               f"{self.name} has {', '.join(sorted(self.roles)) or 'no role'}")


def taken_by_another_proposal(barcode: str) -> AlreadyExists:
    """A container barcode registered to a proposal the principal cannot see: it stays theirs,
    and nothing about it is told, only that the barcode is taken."""
    return AlreadyExists(f"barcode {barcode!r} is already registered to another proposal: "
                         "use another barcode, or ask the facility if this container is yours", field="container_barcode")
