"""The history as evidence: verifying its chains, anchoring them, linking an old database's
events, and one entity's history with the proof of each event (domain/chain.py says how the
chains are made). The event store's recorder is the chain's store."""

from __future__ import annotations

from typing import Any, Callable
from uuid import UUID

from logistics.domain.chain import Anchor, ChainExists, HeadRecord, Report, aggregate_id_text, verify
from logistics.domain.errors import InvalidValue


def verify_history(app: Any, since: int | None = None, anchor: Anchor | None = None,
                   progress: Callable[[int], None] | None = None) -> Report:
    if since is not None and since < 1:
        raise InvalidValue(f"--since {since} is not a position: positions start at 1")
    return verify(app.recorder, since=since, anchor=anchor, progress=progress)


def backfill_chain(app: Any, progress: Callable[[int], None] | None = None) -> HeadRecord:
    """Link every event recorded before the chain existed (once); says from where links were made
    as events were recorded."""
    try:
        return app.recorder.backfill(progress)
    except ChainExists as e:
        raise InvalidValue(str(e)) from None


def events_to_check(app: Any, since: int | None = None) -> int:
    """How many positions a verification walks (for its progress bar)."""
    last = app.recorder.max_notification_id() or 0
    return max(0, last - (since or 1) + 1)


def history_proof(app: Any, entity_id: UUID) -> dict[str, Any]:
    """One entity's events, each with its stored links, the facility chain's head, and whether the
    entity's own chain holds (recomputed here from its events as stored)."""
    from logistics.domain.chain import GENESIS, event_link

    recorder = app.recorder
    stored = recorder.select_events(entity_id)
    if not stored:
        raise InvalidValue(f"nothing has id {entity_id}")
    described = app.history(entity_id)
    aggregate = aggregate_id_text(entity_id)
    links = {row.originator_version: row for row in recorder.chain_rows_of(aggregate)}
    previous, holds, proof = GENESIS, True, []
    for event, description in zip(stored, described):
        link = event_link(previous, aggregate, event.originator_version, event.topic, event.state)
        row = links.get(event.originator_version)
        matches = row is not None and row.event_hash == link
        holds = holds and matches
        proof.append({**description, "position": row.position if row else None, "event_hash": link.hex(),
                      "previous_hash": previous.hex(), "chain_hash": row.chain_hash.hex() if row else None,
                      "matches": matches})
        previous = link
    head = recorder.chain_head()
    return {"entity": aggregate, "events": proof, "holds": holds,
            "head": {"position": head.position, "hash": head.chain_hash.hex()} if head else None}
