"""The read side: where things are now, answered from the read model (plain dicts out)."""

from __future__ import annotations

from typing import Any, Callable

import base64
import json
from typing import Iterable
from uuid import UUID

from sqlalchemy import Engine, and_, bindparam, or_, select

from logistics.adapters.read_model import (ROWS, arrivals, changer_positions, containers, dewars, loads, locations, members,
                                           samples, shipments)
from logistics.domain import facets

TABLES = {"dewar": dewars, "container": containers, "sample": samples, "shipment": shipments}
BY_IDS = {kind: select(table).where(table.c.id.in_(bindparam("ids", expanding=True)))  # built once: compiled once
          for kind, table in TABLES.items()}
SORT = {"dewar": "barcode", "container": "barcode", "sample": "name", "shipment": "name"}


def encode_cursor(row: dict[str, Any], kind: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([row[SORT[kind]], row["id"]]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, str]:
    from logistics.domain.errors import InvalidValue
    try:
        sort, key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(sort), str(key)
    except (ValueError, TypeError):
        raise InvalidValue(f"cursor {cursor!r} is not valid: pass the endCursor of the previous page") from None


def _rows(engine: Engine, query: Any, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query, parameters)]


class Views:
    """`before_read` runs before each query: bootstrap passes the projection's `wait_for_head`,
    which waits until the read model holds every event recorded so far (read-your-writes)."""

    def __init__(self, app: Any, engine: Engine, before_read: Callable[[], None] | None = None):
        self.app, self.engine = app, engine
        self.before_read = before_read or (lambda: None)

    def _rows(self, query: Any, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        self.before_read()
        return _rows(self.engine, query, parameters)

    def row(self, kind: str, entity_id: UUID | str) -> dict[str, Any] | None:
        rows = self.rows(kind, [str(entity_id)])
        return rows[0] if rows else None

    @staticmethod
    def row_of(aggregate: Any) -> dict[str, Any]:
        """An aggregate (e.g. as it was at a past time) as the row the read model keeps for it."""
        return next(iter(ROWS[type(aggregate)](aggregate).values()))[0]

    def rows(self, kind: str, ids: Iterable[str]) -> list[dict[str, Any]]:
        return self._rows(BY_IDS[kind], {"ids": [str(i) for i in ids]})

    def page(self, kind: str, *, proposals: frozenset[str] | None, first: int = 50, after: str | None = None,
             **filters: Any) -> tuple[list[dict[str, Any]], bool]:
        """One page of a list, in a stable order; proposals None means every proposal."""
        table = TABLES[kind]
        sort = table.c[SORT[kind]]
        query = select(table)
        for column, value in filters.items():
            if value is not None:
                query = query.where(table.c[column] == value)
        if proposals is not None:
            query = query.where(table.c.proposal.in_(sorted(proposals)))
        if after:
            key, entity_id = decode_cursor(after)
            query = query.where(or_(sort > key, and_(sort == key, table.c.id > entity_id)))
        rows = self._rows(query.order_by(sort, table.c.id).limit(first + 1))
        return rows[:first], len(rows) > first

    def shipments_named(self, name: str) -> list[dict[str, Any]]:
        from sqlalchemy import func
        return self._rows(select(shipments).where(func.lower(shipments.c.name) == name.strip().lower()))

    def proposals_of_person(self, person_id: str | None) -> frozenset[str]:
        if not person_id:
            return frozenset()
        return frozenset(r["proposal"] for r in self._rows(select(members.c.proposal)
                                                      .where(members.c.person_id == person_id)))

    def containers_in(self, dewar_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The containers packed on the current trip of each dewar."""
        query = (select(containers).join(dewars, dewars.c.id == containers.c.dewar_id)
                 .where(containers.c.dewar_id.in_(list(dewar_ids)), containers.c.shipment_id == dewars.c.shipment_id)
                 .order_by(containers.c.barcode))
        return self._rows(query)

    def children_of(self, container_ids: Iterable[str]) -> list[dict[str, Any]]:
        return self._rows(select(containers).where(containers.c.parent_id.in_(list(container_ids)))
                     .order_by(containers.c.position))

    def dewars_of_shipments(self, shipment_ids: Iterable[str]) -> list[dict[str, Any]]:
        return self._rows(select(dewars).where(dewars.c.shipment_id.in_(list(shipment_ids)))
                     .order_by(dewars.c.barcode))

    def latest_samples(self, proposal: str, limit: int = 200) -> list[dict[str, Any]]:
        """A proposal's most recently changed samples, newest first."""
        return self._rows(select(samples).where(samples.c.proposal == proposal)
                          .order_by(samples.c.updated_at.desc()).limit(limit))

    def samples_in(self, container_ids: Iterable[str]) -> list[dict[str, Any]]:
        return self._rows(select(samples).where(samples.c.container_id.in_(list(container_ids))))

    def container_where(self, row: dict[str, Any], package: dict[str, Any] | None) -> dict[str, Any]:
        if row["loaded_instrument"]:
            return {"kind": "sample-changer", "code": row["loaded_instrument"], "position": row["loaded_position"],
                    "text": f"{row['loaded_instrument']} sample changer position {row['loaded_position']}"}
        if row["at_instrument"]:
            return _where(facets.INSTRUMENT, row["at_instrument"])
        if package:
            return _where(package["where_kind"], package["where_code"])
        return _where(facets.OFFSITE)

    def dewars_at(self, location: str) -> list[dict[str, Any]]:
        return self._rows(select(dewars).where(and_(dewars.c.where_kind == facets.STORAGE,
                                                            dewars.c.where_code == location)).order_by(dewars.c.barcode))

    def dewars(self, workflow: str | None = None, proposal: str | None = None) -> list[dict[str, Any]]:
        query = select(dewars).order_by(dewars.c.barcode)
        if workflow:
            query = query.where(dewars.c.workflow == workflow)
        if proposal:
            query = query.where(dewars.c.proposal == proposal)
        return self._rows(query)

    def arrived_since(self, since: Any, limit: int = 500) -> list[dict[str, Any]]:
        """Every dewar whose last arrival was at or after `since`, wherever it is now, newest first."""
        query = (select(dewars, arrivals.c.arrived_at).join(arrivals, arrivals.c.id == dewars.c.id)
                 .where(arrivals.c.arrived_at >= since).order_by(arrivals.c.arrived_at.desc()).limit(limit))
        return self._rows(query)

    def unexpected_arrivals(self) -> list[dict[str, Any]]:
        return self._rows(select(dewars).where(dewars.c.unexpected.is_(True)).order_by(dewars.c.updated_at))

    def shipments_of(self, proposal: str | None, workflow: str | None = None) -> list[dict[str, Any]]:
        """A proposal's shipments (every proposal's with None), oldest first, by status if given."""
        query = select(shipments).order_by(shipments.c.registered_at)
        if proposal:
            query = query.where(shipments.c.proposal == proposal)
        if workflow:
            query = query.where(shipments.c.workflow == workflow)
        return self._rows(query)

    def changer_map(self, instrument: str) -> list[dict[str, Any]]:
        """Each position of an instrument's changer, with the container in it, whose it is, the dewar
        it came in (its barcode names the visit) and when and by whom it was loaded: one query."""
        query = (select(changer_positions.c.position, changer_positions.c.accepts,
                        changer_positions.c.container_id.label("occupant"), containers.c.barcode,
                        containers.c.container_type, containers.c.proposal, containers.c.dewar_id,
                        dewars.c.barcode.label("dewar_barcode"), loads.c.loaded_at, loads.c.actor.label("loaded_actor"),
                        loads.c.station.label("loaded_station"))
                 .select_from(changer_positions
                              .outerjoin(containers, containers.c.id == changer_positions.c.container_id)
                              .outerjoin(dewars, dewars.c.id == containers.c.dewar_id)
                              .outerjoin(loads, loads.c.id == containers.c.id))
                 .where(changer_positions.c.instrument == instrument))
        rows = self._rows(query)
        return sorted(rows, key=lambda r: (len(r["position"]), r["position"]))

    def locations(self) -> list[dict[str, Any]]:
        return self._rows(select(locations).order_by(locations.c.code))

    def dewar(self, barcode: str) -> dict[str, Any] | None:
        rows = self._rows(select(dewars).where(dewars.c.barcode == barcode))
        return rows[0] if rows else None

    def contents(self, dewar_id: str, shipment_id: str | None) -> list[dict[str, Any]]:
        """The containers in a dewar on its current trip as a tree, each with its samples."""
        boxes = self._rows(select(containers).where(and_(containers.c.dewar_id == str(dewar_id),
                                                                 containers.c.shipment_id == shipment_id)))
        ids = [b["id"] for b in boxes]
        held = self._rows(select(samples).where(samples.c.container_id.in_(ids))) if ids else []
        for box in boxes:
            box["samples"] = sorted((s for s in held if s["container_id"] == box["id"]), key=lambda s: int(s["position"]))
            box["children"] = [b for b in boxes if b["parent_id"] == box["id"]]
        return [b for b in boxes if b["parent_kind"] == "dewar"]

    def where(self, barcode: str) -> dict[str, Any]:
        """Where a dewar or container is now: the facets, and for a container its dewar's place."""
        kind, entity_id = self.app.resolve(barcode)
        if kind == "dewar":
            row = self._rows(select(dewars).where(dewars.c.id == str(entity_id)))[0]
            return {"type": "dewar", "barcode": row["barcode"], "where": _where(row["where_kind"], row["where_code"]),
                    "workflow": row["workflow"], "proposal": row["proposal"], "facility_code": row["facility_code"],
                    "contents": self.contents(row["id"], row["shipment_id"])}
        row = self._rows(select(containers).where(containers.c.id == str(entity_id)))[0]
        package = self._rows(select(dewars).where(dewars.c.id == row["dewar_id"])) if row["dewar_id"] else []
        where = self.container_where(row, package[0] if package else None)
        return {"type": "container", "barcode": row["barcode"], "container_type": row["container_type"],
                "where": where, "proposal": row["proposal"], "dewar": package[0]["barcode"] if package else None,
                "position": row["position"], "disposed": row["disposed"]}


_where = facets.where_told
