"""What beamline software wrote into ISPyB about our containers: sample-changer loads and unloads.

Two signs, as ISPyB's `update_container_assign` procedure (GDA, MXCuBE) and SynchWeb leave them:
a Container row of ours whose `beamlineLocation`/`sampleChangerLocation` differ from what we last
wrote there, and a new `ContainerHistory` row for one of our containers that we did not write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Engine, Integer, MetaData, Table, Text, delete, insert, select, update
from sqlalchemy import DateTime

from logistics.adapters.ispyb.mapping import MARK
from logistics.adapters.ispyb.projection import ispyb_table, own_history, placed
from logistics.adapters.projection import tracking

WATERMARK = "ispyb_read_back"  # its row in the tracking table: the last ContainerHistory id looked at
metadata = MetaData()
problems = Table("ispyb_problems", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                 Column("at", DateTime), Column("container_id", Text), Column("message", Text))


@dataclass(frozen=True)
class BeamlineFact:
    """The beamline software says: this container of ours is at this changer position (None: unloaded)."""

    ispyb_container_id: int
    container_id: str  # ours
    beamline: str
    position: str | None
    at: datetime | None


def _ours(source: str | None) -> str | None:
    return source[len(MARK):] if source and source.startswith(MARK) else None


class ReadBack:
    def __init__(self, ispyb: Engine, writer: Engine, write_lock: Any):
        self.ispyb, self.writer, self.write_lock = ispyb, writer, write_lock
        metadata.create_all(writer)
        with write_lock, writer.begin() as conn:
            if conn.execute(select(tracking.c.position).where(tracking.c.name == WATERMARK)).first() is None:
                with ispyb.connect() as ix:
                    start = ix.exec_driver_sql("SELECT COALESCE(MAX(containerHistoryId), 0) FROM ContainerHistory").scalar()
                conn.execute(insert(tracking).values(name=WATERMARK, position=start))

    def facts(self) -> tuple[list[BeamlineFact], int]:
        """The beamline's changes since last time, and the history watermark to move to once handled."""
        C, H = ispyb_table("Container"), ispyb_table("ContainerHistory")
        with self.writer.connect() as conn:
            mark = conn.execute(select(tracking.c.position).where(tracking.c.name == WATERMARK)).scalar_one()
            written = {r.container_id: (r.beamline or None, r.position or None) for r in conn.execute(select(placed))}
            mine = {r.history_id for r in conn.execute(select(own_history.c.history_id).where(own_history.c.history_id > mark))}
        facts: dict[int, BeamlineFact] = {}
        with self.ispyb.connect() as ix:
            # bounded: only containers at the facility can be in a sample changer
            for row in ix.execute(select(C.c.containerId, C.c.source, C.c.beamlineLocation, C.c.sampleChangerLocation,
                                         C.c.scLocationUpdated).where(
                    C.c.source.like(f"{MARK}%"), C.c.containerStatus.in_(("processing", "at facility")))):
                ours = _ours(row.source)
                if ours is None or row.containerId not in written:
                    continue
                beamline, position = row.beamlineLocation or None, row.sampleChangerLocation or None
                was_beamline, was_position = written[row.containerId]
                if position == was_position and (position is None or beamline == was_beamline):
                    continue  # as we wrote it
                facts[row.containerId] = BeamlineFact(row.containerId, ours, beamline or was_beamline or "", position,
                                                      row.scLocationUpdated)
            new = ix.execute(select(H.c.containerHistoryId, H.c.containerId, H.c.status, H.c.location, H.c.beamlineName,
                                    H.c.blTimeStamp, C.c.source).join(C, C.c.containerId == H.c.containerId).where(
                H.c.containerHistoryId > mark).order_by(H.c.containerHistoryId).limit(1000)).all()
        last = mark
        for h in new:
            last = h.containerHistoryId
            ours = _ours(h.source)
            if h.containerHistoryId in mine or ours is None or h.containerId in facts or not h.beamlineName:
                continue
            if h.status == "processing" and h.location:
                facts[h.containerId] = BeamlineFact(h.containerId, ours, h.beamlineName, str(h.location), h.blTimeStamp)
            elif h.status == "at facility":
                facts[h.containerId] = BeamlineFact(h.containerId, ours, h.beamlineName, None, h.blTimeStamp)
        return list(facts.values()), last

    def handled(self, facts: list[BeamlineFact], watermark: int, problem_list: list[tuple[str, str]]) -> None:
        """Remember what the beamline wrote (so it is not read again), move the watermark, keep the problems."""
        with self.write_lock, self.writer.begin() as conn:
            for fact in facts:
                conn.execute(update(placed).where(placed.c.container_id == fact.ispyb_container_id).values(
                    beamline=fact.beamline, position=fact.position))
            conn.execute(update(tracking).where(tracking.c.name == WATERMARK).values(position=watermark))
            conn.execute(delete(own_history).where(own_history.c.history_id <= watermark))
            if problem_list:
                conn.execute(insert(problems), [dict(at=datetime.utcnow(), container_id=c, message=m)
                                                for c, m in problem_list])

    def problems(self) -> list[dict[str, Any]]:
        with self.writer.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(problems).order_by(problems.c.id))]


def problems_in(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(problems).order_by(problems.c.id))]
