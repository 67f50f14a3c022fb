"""Loads that beamline software recorded in ISPyB, recorded as ours: through the Session, as the
beamline (actor `ispyb:<beamline>`, station the beamline), never applied blindly.

A fact that agrees with what we know changes nothing (so our own projected loads never come back
as new events); one that contradicts it (the position is taken in our changer, the puck is loaded
elsewhere, the command is refused) is kept as a problem for staff (`logistics ispyb pending`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from logistics.domain.by import By
from logistics.domain.errors import DomainError
from logistics.service_layer.access import BEAMLINE, Principal
from logistics.service_layer.session import Session


@dataclass(frozen=True)
class BeamlineSoftware(Principal):
    """GDA, MXCuBE or another program that writes to ISPyB at a beamline."""

    @property
    def by(self) -> By:
        return By(f"ispyb:{self.station}", self.station)


def beamline_session(system: Any, beamline: str) -> Session:
    principal = BeamlineSoftware(account_id=f"ispyb:{beamline}", name=f"beamline software at {beamline} (via ISPyB)",
                                 roles=frozenset({BEAMLINE}), station=beamline)
    return system.session(principal)


def apply_fact(system: Any, fact: Any) -> str | None:
    """Record one fact of the beamline's; returns a problem for staff, or None."""
    session = beamline_session(system, fact.beamline)
    try:
        row = session.entity("container", fact.container_id)
    except DomainError:
        return f"ISPyB container {fact.ispyb_container_id} is marked as ours but we have no container {fact.container_id}"
    barcode, here = row["barcode"], (row["loaded_instrument"], row["loaded_position"])
    if fact.position is None:  # unloaded
        if here[0] is None or here[0] != fact.beamline:
            return None  # already out, or loaded elsewhere (that load was recorded after)
        action, call = f"unload {barcode} from {fact.beamline}", lambda: session.unload_container(barcode)
    else:
        if here == (fact.beamline, fact.position):
            return None  # what we know already (our own load, projected)
        if here[0] is not None:
            return (f"{fact.beamline} says container {barcode} was loaded in position {fact.position}, but it is "
                    f"in {here[0]} position {here[1]} here: not applied; check the sample changer")
        occupant = next((p for p in system.views.changer_map(fact.beamline) if p["position"] == fact.position), None)
        if occupant and occupant.get("barcode") and occupant["barcode"] != barcode:
            return (f"{fact.beamline} says container {barcode} was loaded in position {fact.position}, but "
                    f"{occupant['barcode']} occupies that position here: not applied; check the sample changer")
        action = f"load {barcode} into {fact.beamline} position {fact.position}"
        call = lambda: session.load_container(barcode, fact.beamline, fact.position)  # noqa: E731
    try:
        call()
    except DomainError as e:
        return f"{fact.beamline} recorded in ISPyB: {action}; refused here: {e.message}"
    return None


def attach_read_back(sync: Any, system: Any) -> None:
    """Give an IspybSync its read-back: each round, the beamline's facts become our events or problems."""
    from logistics.adapters.ispyb.readback import ReadBack

    read_back = ReadBack(sync.engine, sync.projection.writer, system.database.write_lock())

    def run() -> int:
        facts, watermark = read_back.facts()
        found = []
        applied = 0
        for fact in facts:
            problem = apply_fact(system, fact)
            if problem:
                found.append((fact.container_id, problem))
            else:
                applied += 1
        if facts or watermark:
            read_back.handled(facts, watermark, found)
        return applied

    sync.read_back = run


def ispyb_waiting(system: Any) -> list[dict[str, Any]]:
    from logistics.adapters.ispyb.projection import metadata, pending
    from sqlalchemy import select
    engine = system.database.engine()
    metadata.create_all(system.database.engine(writer=True))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(pending).order_by(pending.c.since, pending.c.name))]


def ispyb_problems(system: Any) -> list[dict[str, Any]]:
    from logistics.adapters.ispyb.readback import metadata, problems_in
    metadata.create_all(system.database.engine(writer=True))
    with system.database.engine().connect() as conn:
        return problems_in(conn)
