"""The facets of a dewar's state: where it is, and where it stands in its workflow.

Conditions (top-ups, contents checks, damage) are events only; they need no state.
Each facet is changed only by its own events.
"""

from __future__ import annotations

from typing import Any

# where
OFFSITE = "offsite"  # with the user group
IN_TRANSIT_IN = "in-transit-to-facility"
STORAGE = "storage"  # a facility storage location (code says which)
INSTRUMENT = "instrument"  # at an instrument (code says which)
IN_TRANSIT_BACK = "in-transit-back"
ON_SITE = (STORAGE, INSTRUMENT)


def where(kind: str, code: str | None = None) -> dict[str, str | None]:
    return {"kind": kind, "code": code}


def describe_where(w: dict[str, str | None]) -> str:
    return f"{w['kind']} {w['code']}" if w.get("code") else str(w["kind"])


def where_told(kind: str, code: str | None = None) -> dict[str, Any]:
    """Where a thing is, as the read model and the API tell it: kind, code and the two in words.
    (Not `where`: that is the facet the aggregates keep and their events carry, without words.)"""
    return {"kind": kind, "code": code, "text": describe_where({"kind": kind, "code": code})}


# workflow
AVAILABLE = "available"  # a facility dewar between trips
REGISTERED = "registered"
SENT = "sent"
RECEIVED = "received"
IN_USE = "in-use"
DISPATCH_REQUESTED = "dispatch-requested"
DISPATCH_BOOKED = "dispatch-booked"
DISPATCHED = "dispatched"
RETURNED = "returned"
CLOSED = "closed"
CANCELLED = "cancelled"

WORKFLOWS = (
    AVAILABLE, REGISTERED, SENT, RECEIVED, IN_USE, DISPATCH_REQUESTED,
    DISPATCH_BOOKED, DISPATCHED, RETURNED, CLOSED, CANCELLED,
)
BETWEEN_TRIPS = (AVAILABLE, RETURNED, CLOSED, CANCELLED)
AT_FACILITY_WORKFLOWS = (RECEIVED, IN_USE, DISPATCH_REQUESTED, DISPATCH_BOOKED)
