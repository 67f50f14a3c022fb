"""History as sentences: the one table that says, for every kind of event, what happened in
words a facility's users read ("Loaded puck CPS-1001 into i03 sample changer position 3").

The pages (through the GraphQL `Event.sentence` / `Event.parts`), the CLI's `history` and the
notifications all tell an event with `SENTENCES`; a test checks that every event class of the
domain has an entry, so a new event cannot reach a page as a bare class name.

A sentence is a template whose `{placeholders}` name either a field of the event's data (shown
as it is) or a reference that `Names` turns into words and a link: `{this}` (the entity whose
event it is), `{container}`, `{dewar}`, `{shipment}`, `{sample}`, `{parent}`, `{location}`,
`{instrument}`, `{person}`, `{parent}`, `{from_parent}`. Something the viewer may not see is named without its barcode and
without a link ("a container"), exactly as if it did not exist.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

Template = str | Callable[[Mapping[str, Any]], str]


def _if(key: str, yes: str, no: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda data: yes if data.get(key) else no


SENTENCES: dict[str, Template] = {
    # --- dewar ---------------------------------------------------------------------------------------
    "Dewar.Registered": _if("shipment_id", "Registered {this} for shipment {shipment}",
                            "Registered facility dewar {this}"),
    "Dewar.Arrived": "Received {this} at {location}",
    "Dewar.Moved": "Moved {this} to {location}",
    "Dewar.TakenToInstrument": "Took {this} to {instrument}",
    "Dewar.AssignedToShipment": "Assigned {this} to shipment {shipment} of proposal {proposal}",
    "Dewar.Sent": "Marked {this} as sent to the facility",
    "Dewar.Cancelled": "Cancelled the trip of {this}",
    "Dewar.DispatchRequested": "Asked for {this} to be sent back",
    "Dewar.DispatchBooked": "Booked {this} to go back with {courier}, tracking number {tracking_number}",
    "Dewar.DispatchCancelled": "Cancelled the dispatch of {this}, which stays at the facility: {reason}",
    "Dewar.Dispatched": "Scanned {this} out: it is on its way back",
    "Dewar.Returned": "Marked {this} as returned to its owners",
    "Dewar.Closed": "Closed the trip of {this}",
    "Dewar.ToppedUp": _if("litres", "Topped up {this} with {litres} L of liquid nitrogen",
                          "Topped up {this} with liquid nitrogen"),
    "Dewar.ContentsChecked": lambda d: ("Checked the contents of {this}: all there" if d.get("ok") else
                                        "Checked the contents of {this}: a problem") + (": {notes}" if d.get("notes") else ""),
    "Dewar.DamageReported": "Reported damage to {this}: {description}",
    "Dewar.ReturnLabelPrinted": "Printed the return label of {this} (the lab's return address) for {courier}",
    "Dewar.ArrivedUnexpectedly": _if("note", "Received {this} unannounced at {location}: {note}",
                                     "Received {this} unannounced at {location}"),
    "Dewar.ContainerPacked": _if("position", "Packed {container} into {this} at position {position}",
                                 "Packed {container} into {this}"),
    "Dewar.ContainerUnpacked": "Took {container} out of {this}",
    "Dewar.ContainerMoved": _if("position", "Moved {container} within {this}, to position {position}",
                                "Moved {container} within {this}"),
    "Dewar.ContainerLoaded": "Loaded {container} into {instrument} sample changer position {position}",
    "Dewar.ContainerUnloaded": "Unloaded {container} from its sample changer",
    # --- container -----------------------------------------------------------------------------------
    "Container.Registered": "Registered {this} for proposal {proposal}",
    "Container.Packed": _if("position", "Packed {this} into {parent} at position {position}",
                            "Packed {this} into {parent}"),
    # Before Moved existed, a move was recorded as Unpacked then Packed: both read true on their own.
    "Container.Unpacked": "Unpacked {this}",
    "Container.Moved": lambda d: ("Moved {this} from {from_parent} to {parent}"
                                  + (" at position {position}" if d.get("position") else "")),
    "Container.ChildPlaced": "Put {container} into {this} at position {position}",
    "Container.ChildRemoved": "Took the container at position {position} out of {this}",
    "Container.SamplePlaced": "Put sample {sample} into {this} at position {position}",
    "Container.SampleRemoved": "Took the sample at position {position} out of {this}",
    "Container.Loaded": "Loaded {this} into {instrument} sample changer position {position}",
    "Container.Unloaded": "Unloaded {this} from the sample changer",
    "Container.TakenToInstrument": "Took {this} to {instrument}",
    "Container.HandedBack": "Handed {this} back to stores",
    "Container.Disposed": "Disposed of {this}: {reason}",
    # --- sample --------------------------------------------------------------------------------------
    "Sample.Registered": "Registered sample {this} ({kind})",
    "Sample.Placed": "Put {this} into {container} at position {position}",
    "Sample.Removed": "Took {this} out of its container",
    "Sample.AttributesChanged": "Changed the attributes of {this}",
    # --- sample changer ------------------------------------------------------------------------------
    "SampleChanger.Registered": "Registered the {instrument} sample changer",
    "SampleChanger.Loaded": "Loaded {container} into {this} position {position}",
    "SampleChanger.Unloaded": "Unloaded {container} from {this} position {position}",
    # --- shipment ------------------------------------------------------------------------------------
    "Shipment.Registered": "Registered shipment {this} for proposal {proposal}",
    "Shipment.DewarAdded": "Added {dewar} to {this}",
    "Shipment.CourierSet": _if("tracking_number", "Set the courier of {this} to {courier}, tracking number {tracking_number}",
                               "Set the courier of {this} to {courier}"),
    "Shipment.Sent": "Marked {this} as sent",
    "Shipment.Cancelled": "Cancelled {this}",
    "Shipment.LabelsPrinted": "Printed the labels of {this} ({stock}, {label_format})",
    # a shipment's status, following its dewars (the dewar event that moved it is the dewar's own history)
    "Shipment.PartiallyReceived": "Shipment {this} is partly at the facility: {dewar} arrived",
    "Shipment.Received": "Every dewar of shipment {this} is at the facility: {dewar} arrived last",
    "Shipment.TakenIntoUse": "Shipment {this} is in use: {dewar} was taken to an instrument",
    "Shipment.PartiallyReturned": "Shipment {this} is partly on its way back: {dewar} left the facility",
    "Shipment.Returned": "Every dewar of shipment {this} is back with its owners: {dewar} came back last",
    "Shipment.Followed": "Shipment {this} moved on with {dewar}",
    # --- people and registry -------------------------------------------------------------------------
    "Person.Registered": "Registered {this}",
    "Person.DetailsChanged": "Changed the contact details of {this}",
    "Person.Erased": "Erased the personal data of {this}",
    "Proposal.Registered": "Registered proposal {code}: {title}",
    "Proposal.MemberAdded": "Added {person} to proposal {this} as {role}",
    "Proposal.MemberRemoved": "Removed {person} from proposal {this}",
    "Proposal.LabContactAdded": "Added a lab contact for {person} to proposal {this}",
    "Location.Registered": "Registered location {name} ({code})",
    "Claim.Claimed": "Reserved the {namespace} {key} for a {entity_type}",
    "Counter.Started": "Started the counter {name}",
    "Counter.Taken": "Took number {value} from the counter",
}


@dataclass(frozen=True)
class Part:
    """A piece of a sentence: words, and where they link to (None: plain words)."""
    text: str
    href: str | None = None


def _quote(value: str) -> str:
    from urllib.parse import quote
    return quote(value, safe="")


class Names:
    """Turns the ids and codes in events into words and links, as one viewer may see them.

    `rows(kind, ids)` gives read-model rows (dewar, container, sample, shipment) by id; `sees(proposal)`
    says whether the viewer may see a thing of that proposal; `location_names` maps a code to its
    name; `container_types` a type code to its name; `person(id)` a person's display name, or None
    where the viewer may not see it."""

    def __init__(self, rows: Callable[[str, list[str]], list[dict[str, Any]]], sees: Callable[[str | None], bool],
                 location_names: Mapping[str, str] | None = None, container_types: Mapping[str, str] | None = None,
                 person: Callable[[str], str | None] | None = None):
        self._rows, self.sees = rows, sees
        self.location_names = dict(location_names or {})
        self.container_types = dict(container_types or {})
        self.person = person or (lambda _id: None)
        self._known: dict[tuple[str, str], dict[str, Any] | None] = {}

    def prefetch(self, events: Iterable[Mapping[str, Any]]) -> "Names":
        """Reads every row the events name in one query per kind (a 10,000-event dewar: a few queries)."""
        wanted: dict[str, set[str]] = {}
        for e in events:
            for kind, entity_id in _references(e):
                if (kind, entity_id) not in self._known:
                    wanted.setdefault(kind, set()).add(entity_id)
        for kind, ids in wanted.items():
            found = {r["id"]: r for r in self._rows(kind, sorted(ids))}
            for entity_id in ids:
                self._known[(kind, entity_id)] = found.get(entity_id)
        return self

    def row(self, kind: str, entity_id: str | None) -> dict[str, Any] | None:
        if not entity_id:
            return None
        key = (kind, str(entity_id))
        if key not in self._known:
            found = self._rows(kind, [str(entity_id)])
            self._known[key] = found[0] if found else None
        return self._known[key]

    def entity(self, kind: str, entity_id: str | None) -> Part:
        row = self.row(kind, entity_id)
        if row is None or not self.sees(row.get("proposal")):
            return Part({"container": "a container", "dewar": "a dewar", "sample": "a sample",
                         "shipment": "a shipment"}[kind])
        if kind == "container":
            type_name = self.container_types.get(row["container_type"], row["container_type"])
            return Part(f"{type_name.lower()} {row['barcode']}", f"/containers/{_quote(row['barcode'])}")
        if kind == "dewar":
            label = "dewar" if row.get("kind", "dewar") == "dewar" else str(row.get("kind"))
            return Part(f"{label} {row['barcode']}", f"/dewars/{_quote(row['barcode'])}")
        if kind == "sample":
            return Part(row["name"], f"/samples/{row['id']}")
        return Part(f"“{row['name']}”", f"/shipments/{row['id']}")

    def location(self, code: str | None) -> Part:
        if not code:
            return Part("an unknown place")
        name = self.location_names.get(code)
        return Part(name or code)

    def instrument(self, name: str | None) -> Part:
        return Part(str(name), f"/beamline/{_quote(str(name))}") if name else Part("an instrument")


ENTITY_KINDS = {"Dewar": "dewar", "Container": "container", "Sample": "sample", "Shipment": "shipment"}


def _references(e: Mapping[str, Any]) -> list[tuple[str, str]]:
    data = e.get("data") or {}
    found = []
    kind = ENTITY_KINDS.get(e.get("entity", ""))
    if kind and e.get("id"):
        found.append((kind, str(e["id"])))
    for key, kind in (("container_id", "container"), ("dewar_id", "dewar"), ("shipment_id", "shipment"),
                      ("sample_id", "sample")):
        if data.get(key):
            found.append((kind, str(data[key])))
    for key in ("parent", "from_parent"):
        parent = data.get(key)
        if isinstance(parent, dict) and parent.get("id"):
            found.append((parent.get("kind", "container"), str(parent["id"])))
    return found


WHERE_WORDS = {"offsite": "with its owners", "in-transit-to-facility": "on its way to the facility",
               "in-transit-back": "on its way back", "instrument": "at {code}", "storage": "in {name}"}


def where_words(kind: str, code: str | None, location_names: Mapping[str, str]) -> str:
    """Where something is, as a person says it: "in Stores rack B shelf 1", "at i03"."""
    words = WHERE_WORDS.get(kind, kind)
    return words.format(code=code or "", name=location_names.get(code or "", code or "an unknown place"))


def key_of(e: Mapping[str, Any]) -> str:
    return f"{e['entity']}.{e['event']}"


def template_of(e: Mapping[str, Any]) -> str:
    template = SENTENCES.get(key_of(e))
    if template is None:  # an event nobody gave a sentence yet: the test of the table fails first
        return re.sub(r"(?<!^)(?=[A-Z])", " ", e["event"]).capitalize() + " ({this})"
    return template(e.get("data") or {}) if callable(template) else template


def _this(e: Mapping[str, Any], names: Names) -> Part:
    kind = ENTITY_KINDS.get(e["entity"])
    if kind:
        return names.entity(kind, e.get("id"))
    data = e.get("data") or {}
    if e["entity"] == "SampleChanger":
        return Part(f"{data.get('instrument') or e.get('subject') or ''} sample changer".strip(),
                    f"/beamline/{_quote(str(data.get('instrument') or e.get('subject') or ''))}")
    if e["entity"] == "Proposal":
        return Part(str(data.get("code") or e.get("subject") or "the proposal"))
    if e["entity"] == "Person":
        return Part(names.person(str(data.get("person_id") or e.get("id"))) or "a person")
    return Part(str(e.get("subject") or e["entity"].lower()))


def parts(e: Mapping[str, Any], names: Names) -> list[Part]:
    """The sentence of one event (as `Application.describe` gives it, with its entity's `id`) in parts."""
    data = e.get("data") or {}
    out: list[Part] = []
    for literal, field, _spec, _conv in string.Formatter().parse(template_of(e)):
        if literal:
            out.append(Part(literal))
        if field is None:
            continue
        if field == "this":
            out.append(_this(e, names))
        elif field in ("container", "dewar", "shipment", "sample"):
            out.append(names.entity(field, data.get(f"{field}_id")))
        elif field in ("parent", "from_parent"):
            parent = data.get(field) or {}
            out.append(names.entity(parent.get("kind", "container"), parent.get("id")))
        elif field == "location":
            out.append(names.location(data.get("location")))
        elif field == "instrument":
            out.append(names.instrument(data.get("instrument")))
        elif field == "person":
            out.append(Part(names.person(str(data.get("person_id"))) or "a person"))
        elif field == "courier":
            out.append(Part(str(data.get("courier") or "").upper()))
        else:
            value = data.get(field)
            out.append(Part("" if value is None else str(value)))
    if out and out[0].text:
        first = out[0]
        out[0] = Part(first.text[0].upper() + first.text[1:], first.href)
    return out


def text(e: Mapping[str, Any], names: Names) -> str:
    return "".join(p.text for p in parts(e, names))
