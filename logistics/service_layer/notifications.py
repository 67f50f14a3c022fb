"""Who is told what: the rules from events to messages, the default subscriptions, and the text.

Pure: plain values in, plain values out. No database, no SMTP (`subscriptions.py` applies these
rules to what each person chose; `adapters/outbox.py` is the projection that feeds the outbox and
`adapters/notifying.py` the sender and the digest).

The rules
---------

| what happened | kind | told to |
|---|---|---|
| `Dewar.Arrived` (the first scan on site) | `dewar-arrived` | the proposal's members, and the person of the shipment's sending lab contact |
| `Dewar.ArrivedUnexpectedly` | `unexpected-arrival` | stores |
| `Dewar.DamageReported` | `damage-reported` | the proposal's members, and the local contacts |
| `Dewar.ContentsChecked` with `ok=False` | `contents-check-failed` | the proposal's members, and the local contacts |
| `Dewar.DispatchBooked` (courier and tracking number) | `dispatch-booked` | the proposal's members |
| `Dewar.Dispatched` (scanned out) | `dispatched` | the proposal's members |
| still at the facility N days after its last use | `dewar-stale` | the proposal's members, and stores |

* **Members** are the persons in `Proposal.members` when the message is made (not when the
  event happened: someone removed from a proposal in between is not told; see
  `subscriptions.Subscriptions.still_entitled`).
* **Local contacts** are the accounts with the `beamline` role: the tracker does not yet know
  which beamline scientist looks after which proposal, so every beamline account is a local
  contact. When proposals get named local contacts, only `Audience.local_contacts` changes.
* **Stores** are the accounts with the `stores` role. Staff accounts are told through the
  person linked to the account (`logistics user add sam --role stores --name ... --email ...`);
  an account with no person (a scanner station, a script) has no address and is never told.
* **Last use** of a dewar is its arrival, a take to an instrument (of the dewar, or of one of
  its containers on its own), or a load or unload of one of its containers in a sample changer.
  Moves between shelves, top-ups and checks are housekeeping, not use: a dewar topped up
  every week for a month is exactly the one to ask about. A dewar counts as still here while
  it is `received` or `in-use` on site; once the user asked for it back (`dispatch-requested`)
  it is stores' move, not the user's. The reminder goes once per dewar per trip (a trip
  starts with an arrival).

Subscriptions
-------------

Everyone can choose, per kind of message and per proposal (or for all proposals), to receive
it at once (`immediate`), gathered into one e-mail a day (`digest`), or not at all (`off`).
Without a choice the default is by role (`default_delivery`): members, lab contacts and local
contacts get everything at once; stores get unexpected arrivals at once and the still-here
reminders in the daily digest.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from logistics.domain.identifiers import tracking_url

# --- deliveries -----------------------------------------------------------------------------------
IMMEDIATE, DIGEST, OFF = "immediate", "digest", "off"
DELIVERIES = (IMMEDIATE, DIGEST, OFF)

# --- kinds of message -----------------------------------------------------------------------------
ARRIVED = "dewar-arrived"
UNEXPECTED = "unexpected-arrival"
DAMAGED = "damage-reported"
CHECK_FAILED = "contents-check-failed"
DISPATCH_BOOKED = "dispatch-booked"
DISPATCHED = "dispatched"
STALE = "dewar-stale"
KINDS = (ARRIVED, UNEXPECTED, DAMAGED, CHECK_FAILED, DISPATCH_BOOKED, DISPATCHED, STALE)
DAILY_DIGEST = "daily-digest"  # not subscribable: it is the digest delivery itself

# --- why someone is told (their audience) ---------------------------------------------------------
MEMBER, LAB_CONTACT, STORES, LOCAL_CONTACT = "member", "lab-contact", "stores", "local-contact"
PROPOSAL_AUDIENCES = (MEMBER, LAB_CONTACT)  # told because of a proposal: must still be in it when sent

DEFAULT_STALE_DAYS = 14

# --- where a message stands in the outbox (adapters/outbox.py says what each means) -----------------
PENDING, SENDING, RETRYING, SENT, SKIPPED, DIGESTING, DIGESTED, FAILED = (
    "pending", "sending", "retrying", "sent", "skipped", "digest", "digested", "failed")
OUTBOX_STATUSES = (PENDING, SENDING, RETRYING, SENT, SKIPPED, DIGESTING, DIGESTED, FAILED)


@dataclass(frozen=True)
class Happening:
    """An event as plain values: `event` is `Entity.Event` (e.g. `Dewar.Arrived`), `data` its fields,
    `facts` what the message tells (barcode, proposal, location, courier...; never personal data)."""

    event: str
    data: Mapping[str, Any]
    proposal: str | None
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Audience:
    """The persons (ids) who might be told about one dewar."""

    members: frozenset[str] = frozenset()
    lab_contact: str | None = None
    stores: frozenset[str] = frozenset()
    local_contacts: frozenset[str] = frozenset()

    def persons(self, audience: str) -> Iterable[str]:
        if audience == MEMBER:
            return sorted(self.members)
        if audience == LAB_CONTACT:
            return [self.lab_contact] if self.lab_contact else []
        if audience == STORES:
            return sorted(self.stores)
        if audience == LOCAL_CONTACT:
            return sorted(self.local_contacts)
        raise ValueError(f"unknown audience {audience!r}")


@dataclass(frozen=True)
class Notice:
    """One message to one person: made once, sent once."""

    kind: str
    recipient: str  # a person id; the address is looked up only when sending
    audience: str
    proposal: str | None
    facts: Mapping[str, Any]


def rule(happening: Happening) -> tuple[str, tuple[str, ...]] | None:
    """Which kind of message an event makes, and for which audiences; None: no message."""
    match happening.event:
        case "Dewar.Arrived":
            return ARRIVED, (MEMBER, LAB_CONTACT)
        case "Dewar.ArrivedUnexpectedly":
            return UNEXPECTED, (STORES,)
        case "Dewar.DamageReported":
            return DAMAGED, (MEMBER, LOCAL_CONTACT)
        case "Dewar.ContentsChecked" if not happening.data.get("ok", True):
            return CHECK_FAILED, (MEMBER, LOCAL_CONTACT)
        case "Dewar.DispatchBooked":
            return DISPATCH_BOOKED, (MEMBER,)
        case "Dewar.Dispatched":
            return DISPATCHED, (MEMBER,)
    return None


STALE_AUDIENCES = (MEMBER, STORES)


def notices(kind: str, audiences: Iterable[str], audience: Audience, proposal: str | None,
            facts: Mapping[str, Any]) -> list[Notice]:
    """One notice per person: someone in two audiences (a PI who is also the lab contact) is told once,
    as the first audience that names them."""
    told: dict[str, Notice] = {}
    for name in audiences:
        for person in audience.persons(name):
            told.setdefault(person, Notice(kind=kind, recipient=person, audience=name, proposal=proposal,
                                           facts=dict(facts)))
    return list(told.values())


def notices_for(happening: Happening, audience: Audience) -> list[Notice]:
    """The messages an event makes."""
    made = rule(happening)
    if made is None:
        return []
    kind, audiences = made
    return notices(kind, audiences, audience, happening.proposal, happening.facts)


def stale_notices(audience: Audience, proposal: str | None, facts: Mapping[str, Any]) -> list[Notice]:
    """The reminder that a dewar is still at the facility after its last use."""
    return notices(STALE, STALE_AUDIENCES, audience, proposal, facts)


# --- subscriptions -----------------------------------------------------------------------------------
def default_delivery(kind: str, audience: str) -> str:
    """Without a choice of their own: stores get the still-here reminders in the daily digest;
    everything else comes at once."""
    if audience == STORES and kind == STALE:
        return DIGEST
    return IMMEDIATE


ANY_PROPOSAL = "*"


def choose(kind: str, proposal: str | None, audience: str, settings: Mapping[tuple[str, str], str]) -> str:
    """The delivery for one message: the person's choice for this kind and proposal, else for this
    kind and all proposals, else the default of their role. `settings` maps (kind, proposal or "*")."""
    if proposal and (kind, proposal) in settings:
        return settings[(kind, proposal)]
    if (kind, ANY_PROPOSAL) in settings:
        return settings[(kind, ANY_PROPOSAL)]
    return default_delivery(kind, audience)


def kinds_for_roles(roles: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Which kinds of message each role can receive (for showing someone their settings):
    {"member": (...), "stores": (...), "beamline": (...)}."""
    roles = set(roles)
    found: dict[str, tuple[str, ...]] = {}
    if "member" in roles:
        found["member"] = (ARRIVED, DAMAGED, CHECK_FAILED, DISPATCH_BOOKED, DISPATCHED, STALE)
    if "stores" in roles:
        found["stores"] = (UNEXPECTED, STALE)
    if "beamline" in roles:
        found["beamline"] = (DAMAGED, CHECK_FAILED)
    return found


ROLE_AUDIENCE = {"member": MEMBER, "stores": STORES, "beamline": LOCAL_CONTACT}


# --- the text -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    link: str


def entity_path(facts: Mapping[str, Any]) -> str:
    """The page of the entity a message is about."""
    if facts.get("barcode"):
        return f"/dewars/{facts['barcode']}"
    if facts.get("shipment_id"):
        return f"/shipments/{facts['shipment_id']}"
    return "/"


def _dewar_name(facts: Mapping[str, Any]) -> str:
    name = f"Dewar {facts.get('barcode', '?')}"
    if facts.get("facility_code") and facts.get("facility_code") != facts.get("barcode"):
        name += f" ({facts['facility_code']})"
    return name


def _lines(kind: str, facts: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The subject and the body's sentences of one kind of message."""
    dewar = _dewar_name(facts)
    about = []
    if facts.get("proposal"):
        about.append(f"Proposal: {facts['proposal']}")
    if facts.get("shipment"):
        about.append(f"Shipment: {facts['shipment']}")
    told = [facts["sentence"] + "."] if facts.get("sentence") else []  # the history's own sentence (sentences.py)
    if kind == ARRIVED:
        return (f"{dewar} has arrived at the facility",
                (told or [f"{dewar} arrived at the facility and is in storage at {facts.get('location', 'stores')}."])
                + about)
    if kind == UNEXPECTED:
        note = [f"Note: {facts['note']}"] if facts.get("note") else []
        return (f"Unexpected dewar {facts.get('barcode', '?')} at {facts.get('location', 'stores')}",
                [*told, f"A dewar with the barcode {facts.get('barcode', '?')} arrived but no shipment announced it. "
                 f"It is at {facts.get('location', 'stores')}.", *note])
    if kind == DAMAGED:
        return (f"{dewar}: damage reported",
                told + about if told else [f"Stores reported damage to {dewar}:", f"  {facts.get('description', '')}",
                                           *about])
    if kind == CHECK_FAILED:
        notes = facts.get("notes") or "(no notes)"
        return (f"{dewar}: contents check failed",
                told + about if told else [f"The contents check of {dewar} found a problem:", f"  {notes}", *about])
    url = tracking_url(facts.get("courier"), facts.get("tracking_number"))
    track = [f"Track it on the courier's site: {url}"] if url else []
    if kind == DISPATCH_BOOKED:
        return (f"{dewar} is booked to go back: {facts.get('courier', '').upper()} {facts.get('tracking_number', '')}",
                [*told, *track, *about] if told else [f"{dewar} is booked to go back to you with "
                                                      f"{facts.get('courier', '').upper()}, "
                                                      f"tracking number {facts.get('tracking_number', '')}.",
                                                      *track, *about])
    if kind == DISPATCHED:
        courier = f" with {facts['courier'].upper()}, tracking number {facts.get('tracking_number')}" \
            if facts.get("courier") else ""
        return (f"{dewar} is on its way back",
                [*told, f"{dewar} left the facility{courier}.", *track, *about])
    if kind == STALE:
        return (f"{dewar} is still at the facility after {facts.get('days', '?')} days",
                [f"{dewar} has not been used since {facts.get('last_use', '?')} ({facts.get('days', '?')} days) "
                 f"and is still at the facility ({facts.get('where', 'in storage')}).",
                 "If you are done with it, ask for it back; if it should stay, tell stores.", *about])
    raise ValueError(f"unknown kind of message {kind!r}")


def render(kind: str, facts: Mapping[str, Any], name: str | None, base_url: str) -> Rendered:
    """A message as a subject, plain text and HTML, with a link to the entity's page."""
    subject, lines = _lines(kind, facts)
    link = base_url.rstrip("/") + entity_path(facts)
    greeting = f"Dear {name}," if name else "Hello,"
    text = "\n".join([greeting, "", *lines, "", f"See {link}", "", _FOOTER])
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    page = (f"<html><body><p>{html.escape(greeting)}</p>{body}"
            f'<p><a href="{html.escape(link, quote=True)}">{html.escape(link)}</a></p>'
            f"<p><small>{html.escape(_FOOTER)}</small></p></body></html>")
    return Rendered(subject=subject, text=text, html=page, link=link)


def render_digest(items: list[tuple[str, Mapping[str, Any]]], name: str | None, day: str, base_url: str) -> Rendered:
    """A day's messages for one person in one e-mail: `items` are (kind, facts)."""
    parts = []
    for kind, facts in items:
        subject, lines = _lines(kind, facts)
        parts.append((subject, lines, base_url.rstrip("/") + entity_path(facts)))
    subject = f"Daily summary for {day}: {len(parts)} message{'s' if len(parts) != 1 else ''}"
    greeting = f"Dear {name}," if name else "Hello,"
    text_parts = [greeting, "", f"What happened on {day}:", ""]
    for i, (s, lines, link) in enumerate(parts, 1):
        text_parts += [f"{i}. {s}", *(f"   {line}" for line in lines), f"   {link}", ""]
    text = "\n".join([*text_parts, _FOOTER])
    items_html = "".join(
        f"<li><p><strong>{html.escape(s)}</strong></p>{''.join(f'<p>{html.escape(line)}</p>' for line in lines)}"
        f'<p><a href="{html.escape(link, quote=True)}">{html.escape(link)}</a></p></li>'
        for s, lines, link in parts)
    page = (f"<html><body><p>{html.escape(greeting)}</p><p>What happened on {html.escape(day)}:</p>"
            f"<ol>{items_html}</ol><p><small>{html.escape(_FOOTER)}</small></p></body></html>")
    return Rendered(subject=subject, text=text, html=page, link=base_url.rstrip("/") + "/")


_FOOTER = ("You receive this from the facility's sample logistics tracker. Choose what you receive, and how, "
           "in your notification settings.")
