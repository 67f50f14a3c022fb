"""A principal's session with the tracker: every command and question, with access applied.

The GraphQL API, the pages, the CLI, imports, labels and the live feed speak only to this. It adds
no rules of the domain: it decides who may ask, and hides what a member may not see as if it did
not exist. Every public method declares who may call it with `@allowed(...)` right above it (the
role table is these declarations); a test fails for a public method without one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterable
from uuid import UUID

from logistics.domain.errors import AccessDenied, NotFound, UnknownBarcode
from logistics.service_layer.access import (ADMIN, BEAMLINE, EVERYONE, MEMBER, STORES, Principal, allowed, rule_of,
                                           taken_by_another_proposal)
from logistics.service_layer.application import Logistics
from logistics.service_layer.ports import ReadModel


class Session:
    def __init__(self, app: Logistics, views: ReadModel, principal: Principal, notifications: Any = None):
        """`views`: the read model, through its port (`ports.ReadModel`, implemented by `views.Views`).
        `notifications`: the `subscriptions.Subscriptions` bootstrap wired to the outbox store
        (`System.session(principal)` passes it); without it, the notification methods refuse."""
        self.app, self.views, self.principal = app, views, principal
        self._notifications = notifications

    # --- visibility ------------------------------------------------------------------------
    @allowed(EVERYONE)
    def sees(self, proposal: str | None) -> bool:
        """The one visibility rule (`Principal.sees`): whether this principal may see a thing of this
        proposal (None: the facility's own). Every question of this Session and of the service layer's
        helpers (labels, the feed, names in sentences) filters through here."""
        return self.principal.sees(proposal)

    @allowed(EVERYONE)
    def visible(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows (each with its `proposal`) this principal may see; the others as if they did not exist."""
        return [r for r in rows if self.sees(r.get("proposal"))]

    def _hidden_barcode(self, barcode: str) -> UnknownBarcode:
        return UnknownBarcode(f"no dewar or container has the barcode {barcode!r}")

    @allowed(EVERYONE)
    def resolve(self, barcode: str) -> tuple[str, UUID, dict[str, Any]]:
        """(type, id, read-model row) of a barcode this principal may see."""
        kind, entity_id = self.app.resolve(barcode)
        row = self.views.row(kind, entity_id)
        if row is None or not self.sees(row["proposal"]):
            raise self._hidden_barcode(barcode)
        return kind, entity_id, row

    @allowed(EVERYONE)
    def row_after(self, aggregate: Any) -> dict[str, Any]:
        """The read-model row of an aggregate a command of this session just left: what the read
        model holds (or will hold) for it, without reading it back."""
        row = self.views.row_of(aggregate)
        if not self.sees(row["proposal"]):
            raise self._hidden_barcode(row["barcode"])
        return row

    @allowed(EVERYONE)
    def entity(self, kind: str, entity_id: UUID | str) -> dict[str, Any]:
        try:
            row = self.views.row(kind, UUID(str(entity_id)))
        except ValueError:
            row = None
        if row is None or not self.sees(row["proposal"]):
            raise NotFound(f"{kind} {entity_id!s} does not exist")
        return row

    def _member_command(self, command: str, proposal: str | None, hidden: Exception) -> None:
        if not self.sees(proposal):
            raise hidden
        if not self.principal.may(rule_of(getattr(Session, command)), proposal):
            raise AccessDenied(f"{command.replace('_', ' ')} is for the members of proposal {proposal}")

    def _on_shipment(self, command: str, shipment_id: Any) -> None:
        row = self.entity("shipment", shipment_id)
        self._member_command(command, row["proposal"], NotFound(f"shipment {shipment_id!s} does not exist"))

    def _on_barcode(self, command: str, barcode: str) -> None:
        _, _, row = self.resolve(barcode)
        self._member_command(command, row["proposal"], self._hidden_barcode(barcode))

    # --- user group ------------------------------------------------------------------------
    @allowed(MEMBER, ADMIN)
    def create_shipment(self, proposal: str, name: str, safety: str = "green", sending_contact: str | None = None,
                        return_contact: str | None = None) -> UUID:
        from logistics.domain.identifiers import proposal_code
        code = proposal_code(proposal)
        self._member_command("create_shipment", code, NotFound(f"proposal {code!r} is not registered"))
        return self.app.create_shipment(code, name, self.principal.by, safety, sending_contact, return_contact)

    @allowed(MEMBER, ADMIN)
    def copy_shipment_layout(self, shipment_id: Any, name: str) -> tuple[UUID, list[str]]:
        """A new shipment of the same proposal laid out as this one (layout.py), in one save; its
        id, and notes on what was not copied as it was."""
        from logistics.service_layer.layout import copy_layout
        self._on_shipment("copy_shipment_layout", shipment_id)
        return copy_layout(self.app, shipment_id, name, self.principal.by)

    @allowed(MEMBER, ADMIN)
    def add_mail_in_dewar(self, shipment_id: Any, visit: int, beamline: str, kind: str = "dewar") -> str:
        self._on_shipment("add_mail_in_dewar", shipment_id)
        return self.app.add_mail_in_dewar(shipment_id, visit, beamline, self.principal.by, kind)

    @allowed(MEMBER, ADMIN)
    def add_facility_dewar(self, shipment_id: Any, code: str) -> str:
        self._on_shipment("add_facility_dewar", shipment_id)
        return self.app.add_facility_dewar(shipment_id, code, self.principal.by)

    @allowed(MEMBER, ADMIN)
    def add_container(self, barcode: str, container_type: str, dewar: str, parent: str | None = None,
                      position: str | None = None) -> UUID:
        self._on_barcode("add_container", dewar)
        if parent:
            self._on_barcode("add_container", parent)
        self._require_own_or_new_container(barcode)
        return self.app.add_container(barcode, container_type, dewar, self.principal.by, parent, position)

    def _require_own_or_new_container(self, barcode: str) -> None:
        """A puck already registered to a proposal this principal cannot see stays theirs, and
        nothing about it is told: only that the barcode is taken."""
        from logistics.domain.identifiers import container_barcode
        code = container_barcode(barcode)
        try:
            kind, entity_id = self.app.resolve(code)
        except UnknownBarcode:
            return
        row = self.views.row(kind, entity_id)
        if kind != "container" or row is None or not self.sees(row["proposal"]):
            raise taken_by_another_proposal(code)

    @allowed(MEMBER, ADMIN)
    def import_contents(self, dewar: str, rows: list[dict[str, Any]]) -> int:
        """Containers and samples from spreadsheet rows into one of the principal's dewars, in one save."""
        from logistics.service_layer.importing import import_rows
        self._on_barcode("import_contents", dewar)
        return import_rows(self.app, dewar, rows, self.principal.by, may_take=self.sees)

    @allowed(MEMBER, ADMIN)
    def remove_container(self, barcode: str) -> None:
        self._on_barcode("remove_container", barcode)
        self.app.remove_container(barcode, self.principal.by)

    @allowed(MEMBER, ADMIN)
    def move_container(self, barcode: str, dewar: str, parent: str | None = None, position: str | None = None) -> None:
        self._on_barcode("move_container", barcode)
        self._on_barcode("move_container", dewar)
        if parent:  # another proposal's puck as the new parent is as unknown as a puck that does not exist
            self._on_barcode("move_container", parent)
        self.app.move_container(barcode, dewar, self.principal.by, parent, position)

    @allowed(MEMBER, ADMIN)
    def add_sample(self, container: str, position: str, kind: str, name: str, attributes: dict[str, Any],
                   safety: dict[str, Any] | None = None) -> UUID:
        self._on_barcode("add_sample", container)
        return self.app.add_sample(container, position, kind, name, attributes, self.principal.by, safety)

    @allowed(MEMBER, ADMIN)
    def fill_container(self, container: str, rows: list[dict[str, Any]]) -> dict[str, int]:
        """A container's positions from a grid, in one save (grid.py): all of them or, with any bad
        cell, none; answers how many samples were added, changed and removed."""
        from logistics.service_layer.grid import fill_container
        self._on_barcode("fill_container", container)
        return fill_container(self.app, container, rows, self.principal.by)

    @allowed(EVERYONE)
    def protein_acronyms(self, proposal: str) -> list[str]:
        """The protein acronyms a proposal's recent samples used (a grid offers them), for whoever
        sees the proposal; sorted, each once."""
        if not self.sees(proposal):
            return []
        seen: set[str] = set()
        for row in self.views.latest_samples(proposal):
            acronym = self.app.sample(row["id"]).attributes.get("protein_acronym")
            if isinstance(acronym, str):
                seen.add(acronym)
        return sorted(seen, key=str.lower)

    @allowed(MEMBER, ADMIN)
    def remove_sample(self, sample_id: Any) -> None:
        row = self.entity("sample", sample_id)
        self._member_command("remove_sample", row["proposal"], NotFound(f"sample {sample_id!s} does not exist"))
        self.app.remove_sample(sample_id, self.principal.by)

    @allowed(MEMBER, ADMIN)
    def move_sample(self, sample_id: Any, container: str, position: str) -> None:
        row = self.entity("sample", sample_id)
        self._member_command("move_sample", row["proposal"], NotFound(f"sample {sample_id!s} does not exist"))
        self._on_barcode("move_sample", container)
        self.app.move_sample(sample_id, container, position, self.principal.by)

    @allowed(MEMBER, ADMIN)
    def set_courier(self, shipment_id: Any, courier: str, tracking_number: str | None) -> None:
        self._on_shipment("set_courier", shipment_id)
        self.app.set_courier(shipment_id, courier, tracking_number, self.principal.by)

    @allowed(MEMBER, ADMIN)
    def mark_sent(self, shipment_id: Any) -> None:
        self._on_shipment("mark_sent", shipment_id)
        self.app.mark_sent(shipment_id, self.principal.by)

    @allowed(MEMBER, ADMIN)
    def cancel_shipment(self, shipment_id: Any) -> None:
        self._on_shipment("cancel_shipment", shipment_id)
        self.app.cancel_shipment(shipment_id, self.principal.by)

    @allowed(MEMBER, STORES, BEAMLINE, ADMIN)  # staff print labels for a shipment too
    def record_labels_printed(self, shipment_id: Any, stock: str, label_format: str,
                              return_labels: tuple[str, ...] = ()) -> None:
        """Labels printed; `return_labels`: the dewars whose return label (with the lab's address)
        someone outside the proposal printed, each recorded on its dewar."""
        self._on_shipment("record_labels_printed", shipment_id)
        self.app.record_labels_printed(shipment_id, stock, label_format, self.principal.by, return_labels)

    @allowed(MEMBER, STORES, ADMIN)  # stores may ask on a user's behalf
    def request_dispatch(self, barcode: str) -> dict[str, Any]:
        self._on_barcode("request_dispatch", barcode)
        return self.app.request_dispatch(barcode, self.principal.by)

    # --- stores -----------------------------------------------------------------------------
    @allowed(STORES, ADMIN)
    def scan_dewar(self, barcode: str, location: str) -> dict[str, Any]:
        """A stores scan at a location: the arrival if the dewar is not on site yet, else a move."""
        return self.app.scan_dewar(barcode, location, self.principal.by)

    @allowed(STORES, ADMIN)
    def move_dewar(self, barcode: str, location: str) -> dict[str, Any]:
        return self.app.move_dewar(barcode, location, self.principal.by)

    @allowed(STORES, ADMIN)
    def top_up(self, barcode: str, litres: float | None = None) -> dict[str, Any]:
        return self.app.top_up(barcode, self.principal.by, litres=litres)

    @allowed(STORES, ADMIN)
    def check_contents(self, barcode: str, ok: bool, notes: str = "") -> dict[str, Any]:
        return self.app.check_contents(barcode, ok, notes, self.principal.by)

    @allowed(STORES, ADMIN)
    def report_damage(self, barcode: str, description: str) -> dict[str, Any]:
        return self.app.report_damage(barcode, description, self.principal.by)

    @allowed(STORES, ADMIN)
    def book_dispatch(self, barcode: str, courier: str, tracking_number: str) -> dict[str, Any]:
        return self.app.book_dispatch(barcode, courier, tracking_number, self.principal.by)

    @allowed(STORES, ADMIN)
    def cancel_dispatch(self, barcode: str, reason: str) -> dict[str, Any]:
        return self.app.cancel_dispatch(barcode, reason, self.principal.by)

    @allowed(STORES, ADMIN)
    def scan_out(self, barcode: str) -> dict[str, Any]:
        return self.app.scan_out(barcode, self.principal.by)

    @allowed(STORES, ADMIN)
    def mark_returned(self, barcode: str) -> dict[str, Any]:
        return self.app.mark_returned(barcode, self.principal.by)

    @allowed(STORES, ADMIN)
    def close_dewar(self, barcode: str) -> dict[str, Any]:
        return self.app.close_dewar(barcode, self.principal.by)

    @allowed(STORES, ADMIN)
    def record_unexpected_arrival(self, barcode: str, location: str, note: str = "") -> dict[str, Any]:
        return self.app.record_unexpected_arrival(barcode, location, note, self.principal.by)

    # --- beamline ---------------------------------------------------------------------------
    @allowed(BEAMLINE, ADMIN)
    def take_to_instrument(self, barcode: str, instrument: str) -> dict[str, Any]:
        return self.app.take_to_instrument(barcode, instrument, self.principal.by)

    @allowed(BEAMLINE, STORES, ADMIN)
    def hand_back(self, barcode: str, location: str) -> dict[str, Any]:
        """Back to stores: a dewar to a storage location, a container back into its dewar."""
        return self.app.hand_back(barcode, location, self.principal.by)

    @allowed(BEAMLINE, ADMIN)
    def load_container(self, barcode: str, instrument: str, position: str) -> None:
        self.app.load(barcode, instrument, position, self.principal.by)

    @allowed(BEAMLINE, ADMIN)
    def unload_container(self, barcode: str) -> None:
        self.app.unload(barcode, self.principal.by)

    @allowed(BEAMLINE, ADMIN)
    def dispose_container(self, barcode: str, reason: str) -> None:
        self.app.dispose(barcode, reason, self.principal.by)

    # --- admin ------------------------------------------------------------------------------
    @allowed(ADMIN)
    def register_location(self, code: str, name: str, kind: str = "storage") -> str:
        return self.app.register_location(code, name, kind, self.principal.by)

    @allowed(ADMIN)
    def register_facility_dewar(self, facility_code: str) -> UUID:
        return self.app.register_facility_dewar(facility_code, self.principal.by)

    @allowed(ADMIN)
    def register_proposal(self, code: str, title: str) -> str:
        return self.app.register_proposal(code, title, self.principal.by)

    @allowed(ADMIN)
    def register_person(self, name: str, email: str, phone: str | None = None) -> UUID:
        return self.app.register_person(name, email, self.principal.by, phone=phone)

    @allowed(ADMIN)
    def add_member(self, proposal: str, person_id: UUID | str, role: str) -> None:
        self.app.add_member(proposal, person_id, role, self.principal.by)

    @allowed(ADMIN)
    def add_lab_contact(self, proposal: str, person_id: UUID | str, address: dict[str, Any]) -> str:
        return self.app.add_lab_contact(proposal, person_id, address, self.principal.by)

    @allowed(ADMIN)
    def erase_person(self, person_id: UUID | str) -> Any:
        """Data-protection erasure: the person's details are shredded; histories stay whole."""
        return self.app.erase_person(person_id, self.principal.by)

    # --- questions -------------------------------------------------------------------------
    @allowed(EVERYONE)
    def history(self, kind: str, entity_id: UUID) -> list[dict[str, Any]]:
        """The events of the trips this principal may see: a facility dewar or a puck that
        travelled for another proposal before shows a member only their own trips."""
        self.entity(kind, entity_id)
        events = self.app.history(entity_id)
        if self.principal.is_staff:
            return events
        visible, proposal = [], None
        for event in events:
            if "proposal" in event["data"]:
                proposal = event["data"]["proposal"]
            elif event["event"] == "Cancelled" and kind == "dewar":
                visible.append(event) if self.sees(proposal) else None
                proposal = None
                continue
            if self.sees(proposal):
                visible.append(event)
        return visible

    @allowed(EVERYONE)
    def told_history(self, kind: str, entity_id: UUID | str,
                     accounts: Callable[[list[str]], dict[str, dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
        """`history` with each event told as a sentence (`parts`, `sentence`) and who did it as this
        principal may see them (`who`): a person's name for staff and for the members of a proposal
        the person shares with them, otherwise a station's name or the actor's role."""
        events = self.history(kind, entity_id)
        self.tell(events, accounts)
        return events

    @allowed(EVERYONE)
    def names(self) -> Any:
        from logistics.service_layer.sentences import Names
        return Names(self.views.rows, self.sees, location_names=self._location_names(),
                     container_types={code: t.name for code, t in self.app.catalogue.container_types.items()},
                     person=self._person_name)

    @allowed(EVERYONE)
    def tell(self, events: list[dict[str, Any]],
             accounts: Callable[[list[str]], dict[str, dict[str, Any]]] | None = None) -> None:
        from logistics.service_layer.sentences import parts
        names = self.names().prefetch(events)
        ids = sorted({e["actor"].removeprefix("account:") for e in events if e["actor"].startswith("account:")})
        known = accounts(ids) if ids and accounts is not None else {}
        for e in events:
            e["parts"] = [{"text": p.text, "href": p.href} for p in parts(e, names)]
            e["sentence"] = "".join(p["text"] for p in e["parts"])
            e["who"] = self._who(e["actor"], known)

    def _location_names(self) -> dict[str, str]:
        if not hasattr(self, "_locations"):  # once per session: a feed's session tells many events
            self._locations = {r["code"]: r["name"] for r in self.views.locations()}
        return self._locations

    def _person_name(self, person_id: str) -> str | None:
        """A person's display name where this principal may see it: staff, the person themselves,
        and members of a proposal the person is in; None otherwise."""
        if not person_id or person_id == "None":
            return None
        if not self.principal.is_staff and not (self.views.proposals_of_person(person_id) & self.principal.proposals):
            return None
        try:
            details = self.app.person_details(person_id)
        except Exception:  # noqa: BLE001 - an unknown person is told as "a person", never as an error page
            return None
        return "an erased person" if details.get("erased") else details.get("name")

    def _who(self, actor: str, accounts: dict[str, dict[str, Any]]) -> str:
        if actor == "system":
            return "the system"
        if not actor.startswith("account:"):
            return actor
        account = accounts.get(actor.removeprefix("account:"))
        if account is None:
            return "a former account"
        if account["person_id"]:
            name = self._person_name(account["person_id"])
            if name:
                return name
        if account["kind"] == "station" or self.principal.is_staff:
            return account["username"]
        roles = account["roles"]
        for role, said in (("admin", "facility admin"), ("stores", "stores staff"), ("beamline", "beamline staff")):
            if role in roles:
                return said
        return "a proposal member"

    @allowed(EVERYONE)
    def as_of(self, kind: str, entity_id: UUID, when: datetime, name: str | None = None) -> Any:
        self.entity(kind, entity_id)
        then = self.app.as_of(entity_id, when, name)
        if not self.sees(getattr(then, "proposal", None)):
            raise NotFound(f"{name or entity_id} did not exist yet at {when.isoformat()}")
        return then

    @allowed(EVERYONE)
    def sample_attributes(self, sample_id: UUID | str) -> dict[str, Any]:
        """A sample's attributes, from the sample itself (the read model keeps no copy)."""
        sample = self.app.sample(sample_id)
        if not self.sees(sample.proposal):
            raise NotFound(f"sample {sample_id!s} does not exist")
        return sample.attributes

    @allowed(MEMBER, ADMIN)
    def lab_contacts(self, proposal: str) -> list[dict[str, str]]:
        """A proposal's lab contacts with their labels and names, for its members and admins. Stores,
        beamline staff and stations see none here (a station's token once listed every proposal's):
        they need an address only on a label they print, which is recorded as LabelsPrinted."""
        from logistics.domain.identifiers import proposal_code
        code = proposal_code(proposal)
        if not self.principal.may(rule_of(Session.lab_contacts), code):
            raise NotFound(f"proposal {code!r} is not registered")
        contacts = []
        for contact_id, contact in self.app.proposal(code).lab_contacts.items():
            person = self.app.person_details(contact["person"])
            address = self.app.sealer.open(contact["address"])
            if person.get("erased") or address.get("erased"):
                continue
            contacts.append({"id": contact_id, "label": address.get("label") or person.get("name", ""),
                             "name": person.get("name", "")})
        return contacts

    @allowed(EVERYONE)
    def shipments_named(self, name: str) -> list[dict[str, Any]]:
        """The shipments of this name (any case) that this principal may see: the find box's second try."""
        return self.visible(self.views.shipments_named(name))

    @allowed(EVERYONE)
    def arrived_since(self, since: datetime) -> list[dict[str, Any]]:
        """The dewars that arrived at or after `since`, wherever they are now (the stores desk's
        "today's arrivals"), each with where it is in words; a member sees only their own."""
        from logistics.service_layer.sentences import where_words
        rows = self.visible(self.views.arrived_since(since))
        for r in rows:
            r["where_text"] = where_words(r["where_kind"], r["where_code"], self._location_names())
        return rows

    # --- notifications ---------------------------------------------------------------------
    def _subscriptions(self) -> Any:
        if self._notifications is None:
            raise RuntimeError("this session has no notifications: build it with System.session(principal)")
        return self._notifications

    @allowed(EVERYONE)
    def notification_settings(self) -> list[dict[str, Any]]:
        """What the principal's own person receives, per kind and for each of their proposals (or all):
        nobody reads or changes another person's choices."""
        return self._subscriptions().settings(self.principal)

    @allowed(EVERYONE)
    def set_notification_setting(self, kind: str, delivery: str, proposal: str | None = None) -> dict[str, Any]:
        """The principal's own person chooses how (or whether) to receive a kind of message, for one of
        the proposals they see (another proposal's is as unknown as one that does not exist) or all."""
        from logistics.domain.identifiers import proposal_code
        from logistics.service_layer.notifications import ANY_PROPOSAL
        subscriptions = self._subscriptions()
        subscriptions.check_choice(kind, delivery)
        code = None
        if proposal is not None and proposal.strip() not in ("", ANY_PROPOSAL):
            code = proposal_code(proposal)
            if not self.sees(code):
                raise NotFound(f"proposal {code!r} is not registered")
            self.app.proposal(code)
        return subscriptions.choose(self.principal, kind, code, delivery)

    @allowed(ADMIN)
    def outbox(self, status: str | None = None, first: int = 100) -> list[dict[str, Any]]:
        """The outbox's rows, newest first: admins only (it shows who is told what)."""
        return self._subscriptions().outbox(status, first)

    @allowed(ADMIN)
    def outbox_counts(self) -> dict[str, int]:
        """How many of the outbox's messages stand in each status: admins only."""
        return self._subscriptions().outbox_counts()

    # --- lists and reference data --------------------------------------------------------------
    @allowed(EVERYONE)
    def page(self, kind: str, first: int = 50, after: str | None = None, **filters: Any) -> tuple[list[dict[str, Any]], bool]:
        """One page of dewars, containers, samples or shipments, of the proposals this principal may see."""
        return self.views.page(kind, proposals=self.visible_proposals(), first=first, after=after, **filters)

    @allowed(EVERYONE)
    def row_as_of(self, kind: str, entity_id: UUID, when: datetime, name: str | None = None) -> dict[str, Any]:
        """A thing as it was at a past time, as a read-model row (`as_of` decides who may see it)."""
        return self.views.row_of(self.as_of(kind, entity_id, when, name))

    @allowed(EVERYONE)
    def container_where(self, row: dict[str, Any], package: dict[str, Any] | None) -> dict[str, Any]:
        """Where a container (a row this principal was given) is: loaded, at an instrument, or in its dewar's place."""
        return self.views.container_where(row, package)

    @allowed(EVERYONE)
    def catalogue(self) -> Any:
        """The facility's container types, sample kinds and instruments (reference data, the same for all)."""
        return self.app.catalogue

    @allowed(EVERYONE)
    def locations(self) -> list[dict[str, Any]]:
        """The registered storage locations (reference data, the same for all)."""
        return self.views.locations()

    # --- the command line's questions ---------------------------------------------------------
    @allowed(EVERYONE)
    def where(self, barcode: str) -> dict[str, Any]:
        """Where a dewar or container is now, with a dewar's contents as far as this principal may see them."""
        self.resolve(barcode)
        found = self.views.where(barcode)
        if "contents" in found:
            found["contents"] = self._visible_tree(found["contents"])
        return found

    def _visible_tree(self, boxes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**b, "samples": self.visible(b["samples"]), "children": self._visible_tree(b["children"])}
                for b in self.visible(boxes)]

    @allowed(STORES, BEAMLINE, ADMIN)
    def any_history(self, entity_id: UUID) -> list[dict[str, Any]]:
        """Every event of any aggregate by its id (a location or a proposal too, not only what has a
        barcode): for staff, who see every trip, e.g. the operator at the command line."""
        return self.app.history(entity_id)

    @allowed(EVERYONE)
    def overview(self) -> dict[str, Any]:
        """What is where, as far as this principal may see: shipments, dewars, what each sample
        changer holds, and the unexpected arrivals (`logistics status`)."""
        changers = {name: [p for p in self.views.changer_map(name) if p["barcode"] and self.sees(p["proposal"])]
                    for name in self.app.catalogue.instruments}
        return {"shipments": self.visible(self.views.shipments_of(None)), "dewars": self.visible(self.views.dewars()),
                "changers": changers, "unexpected": self.visible(self.views.unexpected_arrivals())}

    # --- reading in batches (the API's DataLoaders) -------------------------------------------
    @allowed(EVERYONE)
    def rows(self, kind: str, ids: Iterable[str]) -> list[dict[str, Any]]:
        """The read-model rows of these dewars, containers, samples or shipments that this principal may see."""
        return self.visible(self.views.rows(kind, ids))

    @allowed(EVERYONE)
    def containers_in(self, dewar_ids: Iterable[str]) -> list[dict[str, Any]]:
        return self.visible(self.views.containers_in(dewar_ids))

    @allowed(EVERYONE)
    def children_of(self, container_ids: Iterable[str]) -> list[dict[str, Any]]:
        return self.visible(self.views.children_of(container_ids))

    @allowed(EVERYONE)
    def samples_in(self, container_ids: Iterable[str]) -> list[dict[str, Any]]:
        return self.visible(self.views.samples_in(container_ids))

    @allowed(EVERYONE)
    def dewars_of_shipments(self, shipment_ids: Iterable[str]) -> list[dict[str, Any]]:
        return self.visible(self.views.dewars_of_shipments(shipment_ids))

    # --- the live feed ---------------------------------------------------------------------
    @allowed(EVERYONE)
    def feed_head(self) -> int:
        """Where the live feed stands now (the last recorded event's position)."""
        from logistics.service_layer.feed import Feed
        return Feed(self.app, self.views).head()

    @allowed(EVERYONE)
    def feed(self, after: int, limit: int = 200) -> tuple[list[Any], int]:
        """The live feed's items after a position that this principal may see, and where it goes on from."""
        from logistics.service_layer.feed import Feed
        return Feed(self.app, self.views).read(self.sees, after, limit)

    # --- labels ----------------------------------------------------------------------------
    @allowed(EVERYONE)
    def shipment_named(self, proposal: str, name: str) -> str:
        """The id of a proposal's shipment of this name; another proposal's is as missing as none."""
        missing = NotFound(f"proposal {proposal.strip().lower()} has no shipment named {name.strip()!r}")
        try:
            shipment_id = str(self.app.find_shipment(proposal, name))
            self.entity("shipment", shipment_id)
        except NotFound:
            raise missing from None  # the same answer whether it is missing or someone else's
        return shipment_id

    @allowed(EVERYONE)
    def label_addresses(self, shipment_id: Any, printing: bool = False) -> dict[str, Any]:
        """The addresses a shipment's labels carry for this principal. Its members and admins get the
        lab's: the sender's name and lines and the return lines (`own`). Staff and stations get the
        proposal's code as sender and no lines, except on labels they print (`printing`): then the
        return lines, for the return label of a dewar whose way back is booked (the labelling decides
        which dewars; the printing is recorded on each, see `record_labels_printed`)."""
        row = self.entity("shipment", shipment_id)
        shipment = self.app.shipment(shipment_id)
        own = self.principal.may(rule_of(Session.lab_contacts), row["proposal"])  # as labContacts decides
        if own:
            sender_name, sender_lines = self._lab_address(shipment.proposal, shipment.sending_contact)
            _, return_lines = self._lab_address(shipment.proposal, shipment.return_contact)
            return_lines = return_lines or sender_lines
        else:
            sender_name, sender_lines = row["proposal"], []
            _, return_lines = self._lab_address(shipment.proposal, shipment.return_contact or shipment.sending_contact) \
                if printing else ("", [])
        return {"own": own, "sender_name": sender_name or row["proposal"], "sender_lines": sender_lines,
                "return_lines": return_lines}

    def _lab_address(self, proposal: str, contact_id: str | None) -> tuple[str, list[str]]:
        if not contact_id:
            return "", []
        contact = self.app.proposal(proposal).lab_contacts.get(contact_id)
        if contact is None:
            return "", []
        person = self.app.person_details(contact["person"])
        address = self.app.sealer.open(contact["address"])
        if person.get("erased") or address.get("erased"):
            return "(erased)", []
        lines = [*address.get("lines", []), address.get("country", "")]
        return person.get("name", ""), [line for line in lines if line]

    @allowed(EVERYONE)
    def shipment_contents(self, shipment_id: Any) -> list[dict[str, Any]]:
        """A shipment's dewars, each {"dewar": row, "containers": [{"container": row, "samples": rows}]},
        with only the shipment's own proposal's samples: a puck the facility repacked into another
        proposal's dewar still holds its owners', and their names are not this shipment's to show."""
        row = self.entity("shipment", shipment_id)
        packed = []
        for dewar in self.views.dewars_of_shipments([row["id"]]):
            boxes = self.views.containers_in([dewar["id"]])
            held = self.views.samples_in([b["id"] for b in boxes]) if boxes else []
            packed.append({"dewar": dewar, "containers": [
                {"container": b, "samples": [s for s in held if s["container_id"] == b["id"]
                                             and s["proposal"] == row["proposal"]]} for b in boxes]})
        return packed

    @allowed(EVERYONE)
    def changer_map(self, instrument: str,
                    accounts: Callable[[list[str]], dict[str, dict[str, Any]]] | None = None) -> dict[str, Any]:
        """An instrument's sample changer, position by position: the puck in it, its proposal, the
        visit its dewar was sent for, its pins (samples by position) and when and by whom it was
        loaded. A position holding another proposal's puck is only `occupied` for a member: no
        barcode, pins, visit or time (staff see every position whole)."""
        changer = self.app.changer(instrument)
        rows = self.views.changer_map(changer.instrument)
        mine = [r["occupant"] for r in rows if r["occupant"] and self.sees(r["proposal"])]
        containers = {r["id"]: r for r in self.views.rows("container", mine)} if mine else {}
        pins: dict[str, list[dict[str, Any]]] = {}
        for sample in (self.views.samples_in(mine) if mine else []):
            if not sample["removed"]:
                pins.setdefault(sample["container_id"], []).append(sample)
        for held in pins.values():
            held.sort(key=lambda s: (len(s["position"] or ""), s["position"] or ""))
        loads = {r["occupant"]: self._load_of(r) for r in rows if r["occupant"] in containers}
        actors = sorted({a.removeprefix("account:") for _, a, _ in loads.values() if a and a.startswith("account:")})
        known = accounts(actors) if actors and accounts is not None else {}
        positions = []
        for r in rows:
            container = containers.get(r["occupant"])
            when, actor, station = loads.get(r["occupant"], (None, None, None))
            positions.append({
                "position": r["position"], "accepts": [a for a in (r["accepts"] or "").split(",") if a],
                "occupied": bool(r["occupant"]), "container": container,
                "samples": pins.get(r["occupant"], []) if container else [],
                "visit": _visit_of(r["dewar_barcode"]) if container else None,
                "loaded_at": when, "loaded_by": self._who(actor, known) if actor and accounts is not None else None,
                "loaded_station": station})
        return {"instrument": changer.instrument, "positions": positions}

    def _load_of(self, row: dict[str, Any]) -> tuple[Any, str | None, str | None]:
        """(time, actor, station) of the load that put this position's puck in: from the read model,
        or, for a puck loaded before loads were timed there, from the puck's own last Loaded event."""
        if row["loaded_at"] is not None:
            return row["loaded_at"], row["loaded_actor"], row["loaded_station"]
        loaded = [e for e in self.app.history(row["occupant"]) if e["event"] == "Loaded"]
        return (loaded[-1]["time"], loaded[-1]["actor"], loaded[-1]["station"]) if loaded else (None, None, None)

    @allowed(EVERYONE)
    def visible_proposals(self) -> frozenset[str] | None:
        """None for staff (everything), else the member's proposals."""
        return None if self.principal.is_staff else self.principal.proposals


def _visit_of(dewar_barcode: str | None) -> str | None:
    """The visit a mail-in dewar was sent for, as the facility writes it (mx23694-1): its barcode
    names it. A facility dewar's code names none."""
    from logistics.domain.errors import DomainError
    from logistics.domain.identifiers import MailInBarcode
    if not dewar_barcode:
        return None
    try:
        code = MailInBarcode.parse(dewar_barcode)
    except DomainError:
        return None
    return f"{code.proposal}-{code.visit}"
