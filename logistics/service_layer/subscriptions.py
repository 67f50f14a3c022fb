"""Notifications in the service layer: who might be told about a dewar, what each person chose to
receive, whether a message made for someone still goes (and to which address), and the outbox for
admins.

Who is told what, the defaults and the text are the pure rules of `notifications.py`. The outbox's
rows and the choices are kept by a store behind the `OutboxStore` port (`ports.py`, implemented by
`adapters/outbox.py`), handed in by `bootstrap.py`. SMTP and the sender's loop
(`adapters/notifying.py`) and the CLI's text (`entrypoints/cli.py`) stay at the edges. The GraphQL
API reaches this only through the Session's notification methods, which decide who may ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from logistics.domain.errors import InvalidValue, NotFound, NotPermitted
from logistics.service_layer import notifications as n
from logistics.service_layer.access import Principal
from logistics.service_layer.ports import OutboxStore


def real_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Decision:
    """What becomes of one message when its time comes."""

    action: str  # "send", "skip", "digest"
    reason: str = ""
    address: str | None = None
    name: str | None = None


def audience(app: Any, proposal: str | None, shipment_id: Any, staff: Mapping[str, frozenset[str]]) -> n.Audience:
    """Who might be told about a dewar of this proposal and shipment: the proposal's members, the
    person of the shipment's sending lab contact, and the staff (`staff`: person ids by role)."""
    members: frozenset[str] = frozenset()
    lab_contact = None
    if proposal:
        try:
            p = app.proposal(proposal)
        except NotFound:  # an unknown proposal has nobody to tell
            p = None
        if p is not None:
            members = frozenset(p.members)
            if shipment_id:
                try:
                    contact = app.shipment(shipment_id).sending_contact
                except NotFound:
                    contact = None
                if contact and contact in p.lab_contacts:
                    lab_contact = p.lab_contacts[contact]["person"]
    return n.Audience(members=members, lab_contact=lab_contact, stores=staff.get("stores", frozenset()),
                      local_contacts=staff.get("beamline", frozenset()))


class Subscriptions:
    """What each person receives and whether a message goes, over one outbox store."""

    def __init__(self, app: Any, store: OutboxStore, person_of_account: Callable[[str], str | None],
                 clock: Callable[[], datetime] = real_now):
        self.app, self.store, self.clock = app, store, clock
        self._person_of_account = person_of_account

    # --- what a person chose -------------------------------------------------------------------
    def person_of(self, principal: Principal) -> str | None:
        """The person an account stands for (a station or a script stands for nobody)."""
        try:
            return self._person_of_account(principal.account_id)
        except NotFound:
            return None

    def settings(self, principal: Principal) -> list[dict[str, Any]]:
        """What the principal's person receives: every kind their roles can receive, for all their proposals
        (proposal None) and for each one, with the delivery in force and whether it is their role's default."""
        person = self.person_of(principal)
        if person is None:
            return []
        choices = self.store.settings_of([person])[person]
        entries: dict[tuple[str, str | None], dict[str, Any]] = {}
        for role, kinds in n.kinds_for_roles(principal.roles).items():
            audience_ = n.ROLE_AUDIENCE[role]
            proposals: list[str | None] = [None, *sorted(principal.proposals)] if role == "member" else [None]
            for kind in kinds:
                for proposal in proposals:
                    if (kind, proposal) not in entries:
                        entries[(kind, proposal)] = self._entry(kind, proposal, audience_, choices)
        return list(entries.values())

    @staticmethod
    def _entry(kind: str, proposal: str | None, audience_: str, choices: Mapping[tuple[str, str], str]) -> dict[str, Any]:
        chosen = (proposal and (kind, proposal) in choices) or (kind, n.ANY_PROPOSAL) in choices
        return {"kind": kind, "proposal": proposal, "delivery": n.choose(kind, proposal, audience_, choices),
                "is_default": not chosen}

    @staticmethod
    def check_choice(kind: str, delivery: str) -> None:
        if kind not in n.KINDS:
            raise InvalidValue(f"kind of message {kind!r} is not valid: expected one of {', '.join(n.KINDS)}")
        if delivery not in n.DELIVERIES:
            raise InvalidValue(f"delivery {delivery!r} is not valid: expected one of {', '.join(n.DELIVERIES)}")

    def choose(self, principal: Principal, kind: str, proposal: str | None, delivery: str) -> dict[str, Any]:
        """The principal's person chooses how (or whether) to receive a kind of message, for one proposal
        (already checked by the Session as one the principal sees) or all (None)."""
        self.check_choice(kind, delivery)
        person = self.person_of(principal)
        if person is None:
            raise NotPermitted(f"{principal.name} is not linked to a person, so it receives no e-mail")
        self.store.choose(person, kind, proposal, delivery, self.clock())
        roles = n.kinds_for_roles(principal.roles)
        audience_ = next((n.ROLE_AUDIENCE[r] for r, kinds in roles.items() if kind in kinds), n.MEMBER)
        return self._entry(kind, proposal, audience_, self.store.settings_of([person])[person])

    # --- the outbox, for admins (the Session checks the role) -----------------------------------------
    def outbox(self, status: str | None = None, first: int = 100) -> list[dict[str, Any]]:
        if status is not None and status not in n.OUTBOX_STATUSES:
            raise InvalidValue(f"outbox status {status!r} is not valid: expected one of {', '.join(n.OUTBOX_STATUSES)}")
        return self.store.rows(status=status, limit=max(1, min(int(first), 1000)))

    def outbox_counts(self) -> dict[str, int]:
        return self.store.counts()

    # --- the send policy ---------------------------------------------------------------------------
    def decide(self, row: Mapping[str, Any], choices: Mapping[tuple[str, str], str]) -> Decision:
        """Whether a message goes now, into the digest, or not at all, and to which address: the person's
        choice, whether they are still entitled to it, and whether they still have an address."""
        if row["kind"] != n.DAILY_DIGEST:
            delivery = n.choose(row["kind"], row["proposal"], row["audience"], choices)
            if delivery == n.OFF:
                return Decision("skip", "unsubscribed")
            still = self.still_entitled(row)
            if still:
                return Decision("skip", still)
            if delivery == n.DIGEST:
                return Decision("digest")
        try:
            details = self.app.person_details(row["recipient"])
        except NotFound:
            return Decision("skip", "the recipient is not a known person")
        if details.get("erased"):
            return Decision("skip", "the recipient's personal data was erased")
        if not details.get("email"):
            return Decision("skip", "the recipient has no e-mail address")
        return Decision("send", address=details["email"], name=details.get("name"))

    def still_entitled(self, row: Mapping[str, Any]) -> str:
        """Why someone told because of a proposal or a role may no longer be told ('' if they may)."""
        if row["audience"] in n.PROPOSAL_AUDIENCES:
            try:
                members = self.app.proposal(row["proposal"]).members if row["proposal"] else {}
            except NotFound:
                members = {}
            if row["recipient"] not in members:
                return f"no longer a member of {row['proposal']}"
        role = {n.STORES: "stores", n.LOCAL_CONTACT: "beamline"}.get(row["audience"])
        if role and row["recipient"] not in self.store.staff().get(role, frozenset()):
            return f"no longer has a {role} account"
        return ""
